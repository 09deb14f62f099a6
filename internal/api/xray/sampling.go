package xray

import (
	"context"

	"github.com/tracecomb/tracecomb/internal/sampling"
)

// Sampling operations: rules, targets, statistics summaries.

func (h *Handler) registerSampling() {
	h.Handle("/CreateSamplingRule", "CreateSamplingRule", h.createSamplingRule)
	h.Handle("/UpdateSamplingRule", "UpdateSamplingRule", h.updateSamplingRule)
	h.Handle("/DeleteSamplingRule", "DeleteSamplingRule", h.deleteSamplingRule)
	h.Handle("/GetSamplingRules", "GetSamplingRules", h.getSamplingRules)
	h.Handle("/SamplingTargets", "GetSamplingTargets", h.getSamplingTargets)
	h.Handle("/GetSamplingTargets", "GetSamplingTargets", h.getSamplingTargets)
	h.Handle("/SamplingStatisticSummaries", "GetSamplingStatisticSummaries", h.getSamplingStatisticSummaries)
}

type samplingRuleRecord struct {
	SamplingRule sampling.Rule `json:"SamplingRule"`
	CreatedAt    float64       `json:"CreatedAt"`
	ModifiedAt   float64       `json:"ModifiedAt"`
}

func ruleRecordJSON(r sampling.RuleRecord) samplingRuleRecord {
	if r.Rule.Attributes == nil {
		r.Rule.Attributes = map[string]string{}
	}
	return samplingRuleRecord{SamplingRule: r.Rule, CreatedAt: epoch(r.CreatedAt), ModifiedAt: epoch(r.ModifiedAt)}
}

type samplingRuleRecordResult struct {
	SamplingRuleRecord samplingRuleRecord `json:"SamplingRuleRecord"`
}

func (h *Handler) createSamplingRule(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		SamplingRule *sampling.RuleSpec `json:"SamplingRule"`
		Tags         []sampling.Tag     `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.SamplingRule == nil {
		return nil, InvalidRequest("1 validation error detected: Value null at 'samplingRule' failed to satisfy constraint: Member must not be null")
	}
	rec, err := h.meta.CreateRule(ctx, env, *in.SamplingRule, in.Tags)
	if err != nil {
		return nil, err
	}
	return samplingRuleRecordResult{ruleRecordJSON(rec)}, nil
}

func (h *Handler) updateSamplingRule(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		SamplingRuleUpdate *sampling.RuleSpec `json:"SamplingRuleUpdate"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.SamplingRuleUpdate == nil {
		return nil, InvalidRequest("1 validation error detected: Value null at 'samplingRuleUpdate' failed to satisfy constraint: Member must not be null")
	}
	rec, err := h.meta.UpdateRule(ctx, env, *in.SamplingRuleUpdate)
	if err != nil {
		return nil, err
	}
	return samplingRuleRecordResult{ruleRecordJSON(rec)}, nil
}

func (h *Handler) deleteSamplingRule(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		RuleName *string `json:"RuleName"`
		RuleARN  *string `json:"RuleARN"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rec, err := h.meta.DeleteRule(ctx, env, in.RuleName, in.RuleARN)
	if err != nil {
		return nil, err
	}
	return samplingRuleRecordResult{ruleRecordJSON(rec)}, nil
}

type nextTokenInput struct {
	NextToken *string `json:"NextToken"`
}

func (h *Handler) getSamplingRules(ctx context.Context, env string, body []byte) (any, error) {
	var in nextTokenInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	recs, err := h.meta.Rules(ctx, env)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(recs, in.NextToken, h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	out := struct {
		SamplingRuleRecords []samplingRuleRecord `json:"SamplingRuleRecords"`
		NextToken           *string              `json:"NextToken,omitempty"`
	}{SamplingRuleRecords: make([]samplingRuleRecord, 0, len(pg)), NextToken: next}
	for _, r := range pg {
		out.SamplingRuleRecords = append(out.SamplingRuleRecords, ruleRecordJSON(r))
	}
	return out, nil
}

type samplingTargetDocument struct {
	RuleName          string         `json:"RuleName"`
	FixedRate         float64        `json:"FixedRate"`
	ReservoirQuota    int64          `json:"ReservoirQuota"`
	ReservoirQuotaTTL float64        `json:"ReservoirQuotaTTL"`
	Interval          int64          `json:"Interval"`
	SamplingBoost     *samplingBoost `json:"SamplingBoost,omitempty"`
}

// samplingBoost is a rule's adaptive-sampling boost in force.
type samplingBoost struct {
	BoostRate    float64 `json:"BoostRate"`
	BoostRateTTL float64 `json:"BoostRateTTL"`
}

type unprocessedStatistics struct {
	RuleName  string `json:"RuleName"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

type getSamplingTargetsResult struct {
	SamplingTargetDocuments    []samplingTargetDocument `json:"SamplingTargetDocuments"`
	LastRuleModification       float64                  `json:"LastRuleModification"`
	UnprocessedStatistics      []unprocessedStatistics  `json:"UnprocessedStatistics"`
	UnprocessedBoostStatistics []unprocessedStatistics  `json:"UnprocessedBoostStatistics"`
}

func (h *Handler) getSamplingTargets(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		SamplingStatisticsDocuments      []sampling.StatisticsDocument      `json:"SamplingStatisticsDocuments"`
		SamplingBoostStatisticsDocuments []sampling.BoostStatisticsDocument `json:"SamplingBoostStatisticsDocuments"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	res, err := h.meta.Targets(ctx, env, in.SamplingStatisticsDocuments, in.SamplingBoostStatisticsDocuments)
	if err != nil {
		return nil, err
	}
	out := getSamplingTargetsResult{
		SamplingTargetDocuments:    make([]samplingTargetDocument, 0, len(res.Targets)),
		LastRuleModification:       epoch(res.LastRuleModification),
		UnprocessedStatistics:      make([]unprocessedStatistics, 0, len(res.Unprocessed)),
		UnprocessedBoostStatistics: make([]unprocessedStatistics, 0, len(res.UnprocessedBoost)),
	}
	for _, t := range res.Targets {
		doc := samplingTargetDocument{
			RuleName: t.RuleName, FixedRate: t.FixedRate, ReservoirQuota: t.ReservoirQuota,
			ReservoirQuotaTTL: epoch(t.ReservoirQuotaTTL), Interval: t.Interval,
		}
		if t.Boost != nil {
			doc.SamplingBoost = &samplingBoost{BoostRate: t.Boost.Rate, BoostRateTTL: epoch(t.Boost.Until)}
		}
		out.SamplingTargetDocuments = append(out.SamplingTargetDocuments, doc)
	}
	for _, u := range res.Unprocessed {
		out.UnprocessedStatistics = append(out.UnprocessedStatistics, unprocessedStatistics(u))
	}
	for _, u := range res.UnprocessedBoost {
		out.UnprocessedBoostStatistics = append(out.UnprocessedBoostStatistics, unprocessedStatistics(u))
	}
	return out, nil
}

type samplingStatisticSummary struct {
	RuleName     string  `json:"RuleName"`
	Timestamp    float64 `json:"Timestamp"`
	RequestCount int64   `json:"RequestCount"`
	BorrowCount  int64   `json:"BorrowCount"`
	SampledCount int64   `json:"SampledCount"`
}

func (h *Handler) getSamplingStatisticSummaries(ctx context.Context, env string, body []byte) (any, error) {
	var in nextTokenInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	sums, err := h.meta.StatisticSummaries(ctx, env)
	if err != nil {
		return nil, err
	}
	pg, next, err := page(sums, in.NextToken, h.cfg.PageSize)
	if err != nil {
		return nil, err
	}
	out := struct {
		SamplingStatisticSummaries []samplingStatisticSummary `json:"SamplingStatisticSummaries"`
		NextToken                  *string                    `json:"NextToken,omitempty"`
	}{SamplingStatisticSummaries: make([]samplingStatisticSummary, 0, len(pg)), NextToken: next}
	for _, s := range pg {
		out.SamplingStatisticSummaries = append(out.SamplingStatisticSummaries, samplingStatisticSummary{
			RuleName: s.RuleName, Timestamp: epoch(s.Timestamp),
			RequestCount: s.RequestCount, BorrowCount: s.BorrowCount, SampledCount: s.SampledCount,
		})
	}
	return out, nil
}
