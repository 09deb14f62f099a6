package xray

import (
	"context"
	"fmt"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

// Tags, encryption configuration and daemon telemetry.

func (h *Handler) registerResources() {
	h.Handle("/TagResource", "TagResource", h.tagResource)
	h.Handle("/UntagResource", "UntagResource", h.untagResource)
	h.Handle("/ListTagsForResource", "ListTagsForResource", h.listTagsForResource)
	h.Handle("/EncryptionConfig", "GetEncryptionConfig", h.getEncryptionConfig)
	h.Handle("/PutEncryptionConfig", "PutEncryptionConfig", h.putEncryptionConfig)
	h.Handle("/TelemetryRecords", "PutTelemetryRecords", h.putTelemetryRecords)
}

func requireARN(arn *string) (string, error) {
	if arn == nil {
		return "", InvalidRequest("1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must not be null")
	}
	return *arn, nil
}

func (h *Handler) tagResource(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		ResourceARN *string        `json:"ResourceARN"`
		Tags        []sampling.Tag `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	arn, err := requireARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, InvalidRequest("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return struct{}{}, h.meta.TagResource(ctx, env, arn, in.Tags)
}

func (h *Handler) untagResource(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		ResourceARN *string  `json:"ResourceARN"`
		TagKeys     []string `json:"TagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	arn, err := requireARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, InvalidRequest("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	return struct{}{}, h.meta.UntagResource(ctx, env, arn, in.TagKeys)
}

func (h *Handler) listTagsForResource(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		ResourceARN *string `json:"ResourceARN"`
		NextToken   *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	arn, err := requireARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	tags, err := h.meta.Tags(ctx, env, arn)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(tags, in.NextToken, h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags      []sampling.Tag `json:"Tags"`
		NextToken *string        `json:"NextToken,omitempty"`
	}{pg, next}, nil
}

type encryptionConfig struct {
	KeyID  string `json:"KeyId,omitempty"`
	Status string `json:"Status"`
	Type   string `json:"Type"`
}

type encryptionConfigResult struct {
	EncryptionConfig encryptionConfig `json:"EncryptionConfig"`
}

func encryptionJSON(e sampling.Encryption) encryptionConfigResult {
	return encryptionConfigResult{encryptionConfig{KeyID: e.KeyID, Status: e.Status, Type: e.Type}}
}

func (h *Handler) getEncryptionConfig(ctx context.Context, env string, body []byte) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	e, err := h.meta.EncryptionConfig(ctx, env)
	if err != nil {
		return nil, err
	}
	return encryptionJSON(e), nil
}

func (h *Handler) putEncryptionConfig(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		KeyID *string `json:"KeyId"`
		Type  *string `json:"Type"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	e, err := h.meta.PutEncryptionConfig(ctx, env, in.Type, in.KeyID)
	if err != nil {
		return nil, err
	}
	return encryptionJSON(e), nil
}

type telemetryRecord struct {
	Timestamp               *float64 `json:"Timestamp"`
	SegmentsReceivedCount   *int64   `json:"SegmentsReceivedCount"`
	SegmentsSentCount       *int64   `json:"SegmentsSentCount"`
	SegmentsSpilloverCount  *int64   `json:"SegmentsSpilloverCount"`
	SegmentsRejectedCount   *int64   `json:"SegmentsRejectedCount"`
	BackendConnectionErrors *struct {
		TimeoutCount           *int64 `json:"TimeoutCount"`
		ConnectionRefusedCount *int64 `json:"ConnectionRefusedCount"`
		HTTPCode4XXCount       *int64 `json:"HTTPCode4XXCount"`
		HTTPCode5XXCount       *int64 `json:"HTTPCode5XXCount"`
		UnknownHostCount       *int64 `json:"UnknownHostCount"`
		OtherCount             *int64 `json:"OtherCount"`
	} `json:"BackendConnectionErrors"`
}

// putTelemetryRecords validates daemon telemetry and logs it at debug
// level; nothing is stored.
func (h *Handler) putTelemetryRecords(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		TelemetryRecords []telemetryRecord `json:"TelemetryRecords"`
		EC2InstanceID    *string           `json:"EC2InstanceId"`
		Hostname         *string           `json:"Hostname"`
		ResourceARN      *string           `json:"ResourceARN"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var problems []string
	if in.TelemetryRecords == nil {
		problems = append(problems, "Value null at 'telemetryRecords' failed to satisfy constraint: Member must not be null")
	}
	for i, r := range in.TelemetryRecords {
		if r.Timestamp == nil {
			problems = append(problems, fmt.Sprintf("Value null at 'telemetryRecords.%d.member.timestamp' failed to satisfy constraint: Member must not be null", i+1))
		}
	}
	maxLen := func(path string, v *string, n int) {
		if v != nil && len([]rune(*v)) > n {
			problems = append(problems, fmt.Sprintf("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", path, n))
		}
	}
	maxLen("eC2InstanceId", in.EC2InstanceID, 20)
	maxLen("hostname", in.Hostname, 255)
	maxLen("resourceARN", in.ResourceARN, 500)
	if len(problems) > 0 {
		return nil, validationError(problems)
	}
	var received int64
	for _, r := range in.TelemetryRecords {
		if r.SegmentsReceivedCount != nil {
			received += *r.SegmentsReceivedCount
		}
	}
	h.cfg.Logger.Debug("X-Ray daemon telemetry", "env", env, "records", len(in.TelemetryRecords), "segments_received", received)
	return struct{}{}, nil
}

func validationError(problems []string) *APIError {
	if len(problems) == 1 {
		return InvalidRequest("1 validation error detected: %s", problems[0])
	}
	msg := fmt.Sprintf("%d validation errors detected: ", len(problems))
	for i, p := range problems {
		if i > 0 {
			msg += "; "
		}
		msg += p
	}
	return InvalidRequest("%s", msg)
}
