package query

import (
	"context"
	"math"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

// AllDatasets is the dataset slug that queries a whole environment.
const AllDatasets = "__all__"

// Data is the "data" member of Honeycomb's query result.
type Data struct {
	Series  []SeriesRow `json:"series"`
	Results []ResultRow `json:"results"`
}

// ResultRow is one group: its breakdown values and one value per
// calculation, keyed by the calculation's label, or when the query has
// formulas, one value per formula, keyed by its name.
type ResultRow struct {
	Data map[string]any `json:"data"`
}

// SeriesRow is one group's values in one time bucket.
type SeriesRow struct {
	Time time.Time      `json:"time"`
	Data map[string]any `json:"data"`
}

// RunOptions adjust one run of a plan.
type RunOptions struct {
	Dataset       string // a dataset slug or name; AllDatasets or "" for the environment
	DisableSeries bool
	Limit         int // overrides the spec's limit when > 0
}

// Run runs a plan on a store and shapes the result.
func Run(ctx context.Context, agg store.Aggregator, env string, p Plan, opt RunOptions) (Data, error) {
	out := Data{Series: []SeriesRow{}, Results: []ResultRow{}}
	if p.Empty {
		return out, nil
	}
	q := p.Query
	if opt.Dataset != "" && opt.Dataset != AllDatasets {
		q.Datasets = []string{opt.Dataset}
	}
	if opt.DisableSeries {
		q.Granularity = 0
	}
	limit := q.Limit
	if p.post != nil {
		limit = p.post.limit
	}
	if opt.Limit > 0 {
		limit = opt.Limit
		q.Limit = opt.Limit
		if p.post != nil {
			q.Limit = max(opt.Limit, FormulaScanLimit)
		}
	}
	res, err := agg.Aggregate(ctx, env, q)
	if err != nil {
		return out, err
	}
	for _, r := range res.Rows {
		out.Results = append(out.Results, ResultRow{Data: p.data(q, r)})
	}
	if p.post != nil {
		out.Results = p.post.apply(out.Results, limit)
	}
	var keep map[string]bool
	if p.post != nil {
		keep = map[string]bool{}
		for _, r := range out.Results {
			keep[groupOf(q.Breakdowns, r.Data)] = true
		}
	}
	for _, s := range res.Series {
		d := p.data(q, s.Row)
		if keep != nil && !keep[groupOf(q.Breakdowns, d)] {
			continue
		}
		p.dropCalcs(d)
		out.Series = append(out.Series, SeriesRow{Time: s.Time.UTC(), Data: d})
	}
	for _, r := range out.Results {
		p.dropCalcs(r.Data)
	}
	return out, nil
}

// data is a row's result data: breakdowns, calculations and formulas.
func (p Plan) data(q store.AggregateQuery, r store.Row) map[string]any {
	m := rowData(q, p.Labels, r)
	for _, f := range p.Formulas {
		m[f.Name] = evalFormula(f.Expr, m)
	}
	return m
}

// dropCalcs removes the calculations from data of a query with formulas,
// whose results carry the formulas instead.
func (p Plan) dropCalcs(m map[string]any) {
	if len(p.Formulas) == 0 {
		return
	}
	for _, l := range p.Labels {
		delete(m, l)
	}
}

func rowData(q store.AggregateQuery, labels []string, r store.Row) map[string]any {
	m := make(map[string]any, len(r.Group)+len(r.Values))
	for i, b := range q.Breakdowns {
		if i < len(r.Group) {
			m[b] = finite(r.Group[i])
		}
	}
	for i, l := range labels {
		if i >= len(r.Values) {
			break
		}
		v := r.Values[i]
		switch {
		case v.Heatmap != nil:
			m[l] = v.Heatmap
		case v.Null, math.IsNaN(v.Num), math.IsInf(v.Num, 0):
			m[l] = nil // JSON has no infinities: Honeycomb answers null
		default:
			m[l] = v.Num
		}
	}
	return m
}

// finite returns v, or nil for a float that is NaN or infinite.
func finite(v any) any {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil
	}
	return v
}
