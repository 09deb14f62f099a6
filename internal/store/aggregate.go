package store

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// CalcOp is a calculation of Honeycomb's query specification.
type CalcOp string

// Calculations. COUNT and CONCURRENCY take no column; every other one does.
// The percentiles are CalcPercentile with Calc.Percentile set.
const (
	CalcCount         CalcOp = "COUNT"
	CalcConcurrency   CalcOp = "CONCURRENCY"
	CalcSum           CalcOp = "SUM"
	CalcAvg           CalcOp = "AVG"
	CalcCountDistinct CalcOp = "COUNT_DISTINCT"
	CalcMin           CalcOp = "MIN"
	CalcMax           CalcOp = "MAX"
	CalcPercentile    CalcOp = "PERCENTILE"
	CalcHeatmap       CalcOp = "HEATMAP"
	CalcRateAvg       CalcOp = "RATE_AVG"
	CalcRateSum       CalcOp = "RATE_SUM"
	CalcRateMax       CalcOp = "RATE_MAX"
)

// Calc is one calculation.
//
// Semantics every store implements (the conformance suite checks them):
//   - COUNT is the number of matching events, each weighted by its sample
//     rate (a missing or zero rate counts as 1) unless the query's
//     UsageMode is set.
//   - SUM(c) is the sum of c's numeric values weighted the same way; AVG(c)
//     the weighted mean over events that have c. MIN/MAX/COUNT_DISTINCT and
//     the percentiles are not weighted.
//   - Numeric calculations read a field's integer and float values (never
//     its strings or booleans); COUNT_DISTINCT, MIN and MAX of a field
//     without numeric values work on its text. An event without the field
//     is ignored; a group without any value gets a null.
//   - Percentile p (0 < p < 1) is the nearest-rank value: the smallest value
//     v with at least ceil(p·n) of the group's n values ≤ v.
//   - HEATMAP(c) counts c's numeric values (weighted like COUNT) in
//     HeatmapBuckets equal-width buckets spanning the minimum to the maximum
//     of c over the whole query (not per group), so every group and time
//     bucket shares one set of bounds. The last bucket includes the maximum.
//   - CONCURRENCY is the largest number of spans (weighted) in progress at
//     once: a span occupies [time, time+duration_ms); a span ending exactly
//     when another starts does not overlap it.
//   - RATE_AVG/RATE_SUM/RATE_MAX(c) are the change per second between
//     consecutive time buckets of AVG/SUM/MAX(c): in a series point, the
//     bucket's value minus the previous bucket's value, divided by the
//     granularity in seconds (null for the first bucket or when either is
//     null); in a result row, the mean of the group's non-null series rates.
//
// A calculation with a Filter aggregates only the events of the query that
// also pass AggregateQuery.CalcFilters[Filter-1]; a COUNT of none is 0.
type Calc struct {
	Op         CalcOp
	Column     string
	Percentile float64 // for CalcPercentile: 0.001 … 0.999
	Filter     int     // 1-based index into AggregateQuery.CalcFilters; 0 for none
}

// FilterSet is a list of filters and how they combine.
type FilterSet struct {
	Filters     []Filter
	Combination Combination
}

// AggOrder orders result rows by a calculation (Calc set) or a breakdown.
type AggOrder struct {
	Calc      *Calc // nil: order by Breakdown
	Breakdown string
	Desc      bool
}

// Having keeps groups whose Calc compares with Value by Op (one of =, !=,
// >, >=, <, <=). A group whose value is null never passes.
type Having struct {
	Calc  Calc
	Op    Op
	Value float64
}

// AggregateQuery is the typed plan of a Honeycomb query that a store runs.
type AggregateQuery struct {
	Start, End  time.Time // event time in [Start, End); both required
	Datasets    []string  // empty = the whole environment
	Filters     []Filter
	Combination Combination
	Calcs       []Calc   // at least one
	Breakdowns  []string // group-by fields; a missing field groups as null
	Orders      []AggOrder
	Havings     []Having
	Limit       int // maximum result rows; 0 = 1000
	// Granularity is the width of the time series buckets; 0 = no series.
	// Buckets are aligned to multiples of Granularity since the Unix epoch,
	// so the first one may begin before Start (it still holds only events
	// in [Start, End)).
	Granularity time.Duration
	// HeatmapBuckets is the number of buckets of every HEATMAP; 0 = 30.
	HeatmapBuckets int
	// UsageMode disables scaling by sample rate.
	UsageMode bool
	// CalculatedFields are derived columns usable by name anywhere a field
	// is (filters, breakdowns, calculations, other calculated fields
	// defined before them).
	CalculatedFields []CalculatedField
	// CalcFilters are the filters of calculations with a Filter, which
	// HEATMAP and CONCURRENCY do not take.
	CalcFilters []FilterSet
}

// CalculatedField is a named derived column.
type CalculatedField struct {
	Name string
	Expr Expr
}

// Expr is an expression of Honeycomb's derived-column language: a
// function call (Func with Args), a column reference (Column) or a literal
// (Lit; a nil Lit with no Func and no Column is null). Function names are
// upper case; the query layer checks names and argument counts.
type Expr struct {
	Func   string
	Args   []Expr
	Column string
	Lit    *model.Value
}

// Row is one group of a result.
type Row struct {
	// Group holds the breakdown values, in Breakdowns order: string, int64,
	// float64, bool or nil for events without the field.
	Group []any
	// Values holds one value per calculation, in Calcs order.
	Values []CalcValue
}

// CalcValue is a calculation's value: a number, null, or a heatmap.
type CalcValue struct {
	Null    bool
	Num     float64
	Heatmap *Heatmap
}

// Heatmap is a histogram of a column's values. The bucket counts of a row
// add up to the number of events (weighted) of the row that have the
// column.
type Heatmap struct {
	Buckets []HeatmapBucket `json:"buckets"`
}

// HeatmapBucket counts the values in [Lower, Upper) (the last bucket
// includes Upper).
type HeatmapBucket struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Count float64 `json:"count"`
}

// SeriesPoint is one group's values in one time bucket.
type SeriesPoint struct {
	Time time.Time // the bucket's start (a multiple of the granularity)
	Row
}

// AggregateResult is what a store returns for an AggregateQuery.
type AggregateResult struct {
	Rows []Row // ordered and limited as the query asks, havings applied
	// Series holds, for each time bucket (ascending) and each group of Rows
	// (in Rows order), the group's values in the bucket; buckets where a
	// group has no events are left out. Empty when Granularity is 0.
	Series []SeriesPoint
}

// Aggregator is implemented by stores that run aggregate queries.
type Aggregator interface {
	Aggregate(ctx context.Context, env string, q AggregateQuery) (AggregateResult, error)
}

// DefaultHeatmapBuckets is the number of heatmap buckets when a query does
// not set it.
const DefaultHeatmapBuckets = 30

// Heatmap bucket bounds shared by stores: n buckets of equal width over
// [lo, hi]. A zero range gets one bucket width of 1 so every value lands in
// the first bucket.
func HeatmapBounds(lo, hi float64, n int) (width float64) {
	if n <= 0 {
		n = DefaultHeatmapBuckets
	}
	w := (hi - lo) / float64(n)
	if !(w > 0) || math.IsInf(w, 0) {
		return 1
	}
	return w
}

// NewHeatmap builds a heatmap of n buckets from counts by bucket index.
func NewHeatmap(lo, width float64, n int, counts map[int]float64) *Heatmap {
	h := &Heatmap{Buckets: make([]HeatmapBucket, n)}
	for i := range h.Buckets {
		h.Buckets[i] = HeatmapBucket{Lower: lo + float64(i)*width, Upper: lo + float64(i+1)*width, Count: counts[i]}
	}
	return h
}

// RateBase returns the calculation a RATE_* calculation differentiates
// (AVG, SUM or MAX of the same column), and false for other calculations.
func RateBase(c Calc) (Calc, bool) {
	switch c.Op {
	case CalcRateAvg:
		return Calc{Op: CalcAvg, Column: c.Column, Filter: c.Filter}, true
	case CalcRateSum:
		return Calc{Op: CalcSum, Column: c.Column, Filter: c.Filter}, true
	case CalcRateMax:
		return Calc{Op: CalcMax, Column: c.Column, Filter: c.Filter}, true
	}
	return Calc{}, false
}

// Rates computes the RATE_* values of one group from its base values per
// bucket (bucket start → value, null buckets absent): the rate at each
// bucket present after a present previous bucket, and their mean.
func Rates(base map[time.Time]float64, start, end time.Time, g time.Duration) (perBucket map[time.Time]float64, mean CalcValue) {
	perBucket = map[time.Time]float64{}
	if g <= 0 {
		return perBucket, CalcValue{Null: true}
	}
	var sum float64
	n := 0
	for t := start.Add(g); t.Before(end); t = t.Add(g) {
		cur, ok1 := base[t]
		prev, ok2 := base[t.Add(-g)]
		if ok1 && ok2 {
			r := (cur - prev) / g.Seconds()
			perBucket[t] = r
			sum += r
			n++
		}
	}
	if n == 0 {
		return perBucket, CalcValue{Null: true}
	}
	return perBucket, CalcValue{Num: sum / float64(n)}
}

// CompareHaving applies a having operator.
func CompareHaving(v float64, op Op, x float64) bool {
	switch op {
	case OpEq:
		return v == x
	case OpNe:
		return v != x
	case OpGt:
		return v > x
	case OpGe:
		return v >= x
	case OpLt:
		return v < x
	case OpLe:
		return v <= x
	}
	return false
}

// CompareGroupValues orders two breakdown values: nulls last, numbers
// before strings, then by value.
func CompareGroupValues(a, b any) int {
	rank := func(x any) int {
		switch x.(type) {
		case nil:
			return 3
		case string:
			return 2
		case bool:
			return 1
		}
		return 0
	}
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case string:
		y := b.(string)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case nil:
		return 0
	}
	fa, fb := toFloat(a), toFloat(b)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

func toFloat(x any) float64 {
	switch v := x.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	case int:
		return float64(v)
	}
	return 0
}

// SortSeries orders series points by time, then by the order of their
// group in rows.
func SortSeries(series []SeriesPoint, groupIndex func(Row) int) {
	sort.SliceStable(series, func(i, j int) bool {
		if !series[i].Time.Equal(series[j].Time) {
			return series[i].Time.Before(series[j].Time)
		}
		return groupIndex(series[i].Row) < groupIndex(series[j].Row)
	})
}

// Relational field prefixes (Honeycomb's): a field of another span of the
// event's trace. See sqlgen's relational.go for what each means.
const (
	RelRoot   = "root."
	RelParent = "parent."
	RelAny    = "any."
	RelNone   = "none."
)

// RelationalField splits a relational field name ("root.service.name")
// into its prefix ("root.") and the field it names ("service.name").
func RelationalField(field string) (prefix, name string, ok bool) {
	for _, p := range []string{RelRoot, RelParent, RelAny, RelNone} {
		if rest, found := strings.CutPrefix(field, p); found && rest != "" {
			return p, rest, true
		}
	}
	return "", "", false
}
