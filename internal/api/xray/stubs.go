package xray

import (
	"context"
	"regexp"
)

// Operations answered with empty results: insights are not modelled, but
// clients that probe them get well-formed answers.

func (h *Handler) registerStubs() {
	h.Handle("/InsightSummaries", "GetInsightSummaries", h.getInsightSummaries)
	h.Handle("/Insight", "GetInsight", h.getInsight)
	h.Handle("/InsightEvents", "GetInsightEvents", h.getInsightEvents)
	h.Handle("/InsightImpactGraph", "GetInsightImpactGraph", h.getInsightImpactGraph)
}

var insightIDPattern = regexp.MustCompile(`^[a-zA-Z0-9]{8}-[a-zA-Z0-9]{4}-[a-zA-Z0-9]{4}-[a-zA-Z0-9]{4}-[a-zA-Z0-9]{12}$`)

func checkInsightID(id *string) error {
	if id == nil {
		return InvalidRequest("1 validation error detected: Value null at 'insightId' failed to satisfy constraint: Member must not be null")
	}
	if !insightIDPattern.MatchString(*id) {
		return InvalidRequest("1 validation error detected: Value '%s' at 'insightId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]{36}", *id)
	}
	return nil
}

func checkWindow(start, end *float64) error {
	if start == nil || end == nil {
		return InvalidRequest("StartTime and EndTime are required.")
	}
	if *end < *start {
		return InvalidRequest("EndTime must not be before StartTime.")
	}
	return nil
}

func (h *Handler) getInsightSummaries(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		StartTime *float64 `json:"StartTime"`
		EndTime   *float64 `json:"EndTime"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkWindow(in.StartTime, in.EndTime); err != nil {
		return nil, err
	}
	return struct {
		InsightSummaries []struct{} `json:"InsightSummaries"`
	}{[]struct{}{}}, nil
}

func (h *Handler) getInsight(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		InsightID *string `json:"InsightId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkInsightID(in.InsightID); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *Handler) getInsightEvents(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		InsightID *string `json:"InsightId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkInsightID(in.InsightID); err != nil {
		return nil, err
	}
	return struct {
		InsightEvents []struct{} `json:"InsightEvents"`
	}{[]struct{}{}}, nil
}

func (h *Handler) getInsightImpactGraph(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		InsightID *string  `json:"InsightId"`
		StartTime *float64 `json:"StartTime"`
		EndTime   *float64 `json:"EndTime"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkInsightID(in.InsightID); err != nil {
		return nil, err
	}
	if err := checkWindow(in.StartTime, in.EndTime); err != nil {
		return nil, err
	}
	return struct {
		InsightID string     `json:"InsightId"`
		StartTime float64    `json:"StartTime"`
		EndTime   float64    `json:"EndTime"`
		Services  []struct{} `json:"Services"`
	}{*in.InsightID, *in.StartTime, *in.EndTime, []struct{}{}}, nil
}
