package xray

import (
	"context"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

// Group operations.

func (h *Handler) registerGroups() {
	h.Handle("/CreateGroup", "CreateGroup", h.createGroup)
	h.Handle("/GetGroup", "GetGroup", h.getGroup)
	h.Handle("/UpdateGroup", "UpdateGroup", h.updateGroup)
	h.Handle("/DeleteGroup", "DeleteGroup", h.deleteGroup)
	h.Handle("/Groups", "GetGroups", h.getGroups)
}

type insightsConfiguration struct {
	InsightsEnabled      bool `json:"InsightsEnabled"`
	NotificationsEnabled bool `json:"NotificationsEnabled"`
}

type group struct {
	GroupName             string                `json:"GroupName"`
	GroupARN              string                `json:"GroupARN"`
	FilterExpression      *string               `json:"FilterExpression,omitempty"`
	InsightsConfiguration insightsConfiguration `json:"InsightsConfiguration"`
}

func groupJSON(g sampling.Group) group {
	out := group{
		GroupName: g.GroupName, GroupARN: g.GroupARN,
		InsightsConfiguration: insightsConfiguration{InsightsEnabled: g.InsightsEnabled, NotificationsEnabled: g.NotificationsEnabled},
	}
	if g.FilterExpression != "" {
		f := g.FilterExpression
		out.FilterExpression = &f
	}
	return out
}

type groupResult struct {
	Group group `json:"Group"`
}

type groupRef struct {
	GroupName *string `json:"GroupName"`
	GroupARN  *string `json:"GroupARN"`
}

func (h *Handler) createGroup(ctx context.Context, env string, body []byte) (any, error) {
	var in sampling.GroupSpec
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	in.GroupARN = nil
	g, err := h.meta.CreateGroup(ctx, env, in)
	if err != nil {
		return nil, err
	}
	return groupResult{groupJSON(g)}, nil
}

func (h *Handler) getGroup(ctx context.Context, env string, body []byte) (any, error) {
	var in groupRef
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	g, err := h.meta.Group(ctx, env, in.GroupName, in.GroupARN)
	if err != nil {
		return nil, err
	}
	return groupResult{groupJSON(g)}, nil
}

func (h *Handler) updateGroup(ctx context.Context, env string, body []byte) (any, error) {
	var in sampling.GroupSpec
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	in.Tags = nil
	g, err := h.meta.UpdateGroup(ctx, env, in)
	if err != nil {
		return nil, err
	}
	return groupResult{groupJSON(g)}, nil
}

func (h *Handler) deleteGroup(ctx context.Context, env string, body []byte) (any, error) {
	var in groupRef
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, h.meta.DeleteGroup(ctx, env, in.GroupName, in.GroupARN)
}

func (h *Handler) getGroups(ctx context.Context, env string, body []byte) (any, error) {
	var in nextTokenInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.NextToken != nil && (len(*in.NextToken) < 1 || len(*in.NextToken) > 100) {
		return nil, InvalidRequest("1 validation error detected: Value at 'nextToken' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	groups, err := h.meta.Groups(ctx, env)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(groups, in.NextToken, h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups    []group `json:"Groups"`
		NextToken *string `json:"NextToken,omitempty"`
	}{Groups: make([]group, 0, len(pg)), NextToken: next}
	for _, g := range pg {
		out.Groups = append(out.Groups, groupJSON(g))
	}
	return out, nil
}
