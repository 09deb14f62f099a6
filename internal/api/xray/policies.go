package xray

import (
	"context"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

// Resource policies: stored per environment and listed, not enforced.

func (h *Handler) registerPolicies() {
	h.Handle("/PutResourcePolicy", "PutResourcePolicy", h.putResourcePolicy)
	h.Handle("/DeleteResourcePolicy", "DeleteResourcePolicy", h.deleteResourcePolicy)
	h.Handle("/ListResourcePolicies", "ListResourcePolicies", h.listResourcePolicies)
}

type resourcePolicy struct {
	PolicyName       string  `json:"PolicyName"`
	PolicyDocument   string  `json:"PolicyDocument"`
	PolicyRevisionID string  `json:"PolicyRevisionId"`
	LastUpdatedTime  float64 `json:"LastUpdatedTime"`
}

func policyJSON(p sampling.Policy) resourcePolicy {
	return resourcePolicy{PolicyName: p.PolicyName, PolicyDocument: p.PolicyDocument, PolicyRevisionID: p.PolicyRevisionID, LastUpdatedTime: epoch(p.LastUpdatedTime)}
}

func (h *Handler) putResourcePolicy(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		PolicyName               *string `json:"PolicyName"`
		PolicyDocument           *string `json:"PolicyDocument"`
		PolicyRevisionID         *string `json:"PolicyRevisionId"`
		BypassPolicyLockoutCheck *bool   `json:"BypassPolicyLockoutCheck"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := h.meta.PutResourcePolicy(ctx, env, in.PolicyName, in.PolicyDocument, in.PolicyRevisionID)
	if err != nil {
		return nil, err
	}
	return struct {
		ResourcePolicy resourcePolicy `json:"ResourcePolicy"`
	}{policyJSON(p)}, nil
}

func (h *Handler) deleteResourcePolicy(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		PolicyName       *string `json:"PolicyName"`
		PolicyRevisionID *string `json:"PolicyRevisionId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, h.meta.DeleteResourcePolicy(ctx, env, in.PolicyName, in.PolicyRevisionID)
}

func (h *Handler) listResourcePolicies(ctx context.Context, env string, body []byte) (any, error) {
	var in nextTokenInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.NextToken != nil && (len(*in.NextToken) < 1 || len(*in.NextToken) > 100) {
		return nil, InvalidRequest("1 validation error detected: Value at 'nextToken' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	pols, err := h.meta.ResourcePolicies(ctx, env)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(pols, in.NextToken, h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	out := struct {
		ResourcePolicies []resourcePolicy `json:"ResourcePolicies"`
		NextToken        *string          `json:"NextToken,omitempty"`
	}{ResourcePolicies: make([]resourcePolicy, 0, len(pg)), NextToken: next}
	for _, p := range pg {
		out.ResourcePolicies = append(out.ResourcePolicies, policyJSON(p))
	}
	return out, nil
}
