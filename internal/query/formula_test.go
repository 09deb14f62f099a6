package query

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

func TestEvalFormula(t *testing.T) {
	vals := map[string]any{"errors": 3.0, "total": 12.0, "zero": 0.0, "none": nil}
	tests := []struct {
		expr string
		want any // float64 or nil
	}{
		{"DIV($errors, $total)", 0.25},
		{"$errors / $total * 100", 25.0},
		{"SUB($total, $errors)", 9.0},
		{"$total - $errors - 1", 8.0},
		{"SUM($errors, $total, 1)", 16.0},
		{"MUL($errors, 2, 0.5)", 3.0},
		{"MOD($total, 5)", 2.0},
		{"DIV($errors, $zero)", nil},
		{"MOD($errors, $zero)", nil},
		{"SUM($errors, $none)", nil},
		{"$none", nil},
		{"COALESCE($none, $errors)", 3.0},
		{"COALESCE($none)", nil},
		{"MIN($total, $none, $errors)", 3.0},
		{"MAX($total, $none, $errors)", 12.0},
		{"MAX($none)", nil},
		{"IF(GT($errors, 2), 1, 0)", 1.0},
		{"IF(LT($errors, 2), 1, GTE($total, 12), 2, 3)", 2.0},
		{"IF(LT($errors, 2), 1)", nil},
		{"IF($none, 1, 2)", 2.0},
		{"IF($zero, 1, 2)", 2.0},
		{"SWITCH($errors, 1, 10, 3, 30, 99)", 30.0},
		{"SWITCH($errors, 1, 10, 99)", 99.0},
		{"SWITCH($none, 1, 10)", nil},
		{"EQUALS($errors, 3)", 1.0},
		{"$errors != 3", 0.0},
		{"IN($errors, 1, 2, 3)", 1.0},
		{"LTE($errors, $none)", nil},
		{"EXISTS($none)", 0.0},
		{"EXISTS($errors)", 1.0},
		{"NOT(EXISTS($none))", 1.0},
		{"AND(EXISTS($errors), GT($total, 100))", 0.0},
		{"AND(true, $none)", nil},
		{"OR($none, true)", 1.0},
		{"OR(false, $none)", nil},
		{"LOG10($total - 2)", 1.0},
		{"LOG10($zero)", nil},
		{"BUCKET($total, 5)", 10.0},
		{"BUCKET($total, 0)", nil},
		{"INT(DIV($total, 5))", 2.0},
		{"FLOAT($errors)", 3.0},
		{"BOOL($zero)", 0.0},
		{"1e308 * 10", nil},
		{"null", nil},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := ParseExpr(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := evalFormula(e, vals)
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// fixedAgg returns one result whatever it is asked, and records the query.
type fixedAgg struct {
	res store.AggregateResult
	q   store.AggregateQuery
}

func (f *fixedAgg) Aggregate(_ context.Context, _ string, q store.AggregateQuery) (store.AggregateResult, error) {
	f.q = q
	return f.res, nil
}

func nums(xs ...float64) []store.CalcValue {
	out := make([]store.CalcValue, len(xs))
	for i, x := range xs {
		if math.IsNaN(x) {
			out[i] = store.CalcValue{Null: true}
			continue
		}
		out[i] = store.CalcValue{Num: x}
	}
	return out
}

func TestRunFormulas(t *testing.T) {
	t0 := time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC)
	// Groups a, b, c with (total, errors); each has two buckets.
	res := store.AggregateResult{
		Rows: []store.Row{
			{Group: []any{"a"}, Values: nums(10, 1)},
			{Group: []any{"b"}, Values: nums(4, 2)},
			{Group: []any{"c"}, Values: nums(0, 0)},
		},
		Series: []store.SeriesPoint{
			{Time: t0, Row: store.Row{Group: []any{"a"}, Values: nums(8, 0)}},
			{Time: t0, Row: store.Row{Group: []any{"b"}, Values: nums(1, 1)}},
			{Time: t0.Add(time.Minute), Row: store.Row{Group: []any{"a"}, Values: nums(2, 1)}},
			{Time: t0.Add(time.Minute), Row: store.Row{Group: []any{"b"}, Values: nums(3, 1)}},
			{Time: t0.Add(time.Minute), Row: store.Row{Group: []any{"c"}, Values: nums(0, 0)}},
		},
	}
	const calcs = `"calculations":[{"op":"COUNT","name":"total"},{"op":"COUNT","name":"errors","filters":[{"column":"error","op":"=","value":true}]}],
		"formulas":[{"name":"rate","expression":"DIV($errors, $total)"}],"breakdowns":["name"],"start_time":1000,"end_time":4600`
	tests := []struct {
		name, spec      string
		results, series string
		storeLimit      int
	}{
		{"store order", `{` + calcs + `}`,
			`[{"name":"a","rate":0.1},{"name":"b","rate":0.5},{"name":"c","rate":null}]`,
			`a:0 b:1 a:0.5 b:0.3333333333333333 c:<nil>`, 1000},
		{"ordered by the formula, limited", `{` + calcs + `,"orders":[{"column":"rate","order":"descending"}],"limit":2}`,
			`[{"name":"b","rate":0.5},{"name":"a","rate":0.1}]`,
			`a:0 b:1 a:0.5 b:0.3333333333333333`, FormulaScanLimit},
		{"having on the formula, then a named calculation's order", `{` + calcs + `,"havings":[{"calculate_op":"COUNT","column":"rate","op":"<","value":0.4}],"orders":[{"column":"errors"}]}`,
			`[{"name":"a","rate":0.1}]`,
			`a:0 a:0.5`, FormulaScanLimit},
		{"null formula values last either way", `{` + calcs + `,"orders":[{"column":"rate"}]}`,
			`[{"name":"a","rate":0.1},{"name":"b","rate":0.5},{"name":"c","rate":null}]`,
			`a:0 b:1 a:0.5 b:0.3333333333333333 c:<nil>`, FormulaScanLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, tc.spec)
			agg := &fixedAgg{res: res}
			data, err := Run(context.Background(), agg, "test", p, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if agg.q.Limit != tc.storeLimit {
				t.Errorf("store limit %d, want %d", agg.q.Limit, tc.storeLimit)
			}
			b, _ := json.Marshal(data.Results)
			got := strings.ReplaceAll(string(b), `{"data":`, "")
			got = strings.ReplaceAll(got, "}}", "}")
			if got != tc.results {
				t.Errorf("results %s\nwant %s", got, tc.results)
			}
			var pts []string
			for _, s := range data.Series {
				if len(s.Data) != 2 {
					t.Errorf("series point %v carries %v", s.Time, s.Data)
				}
				pts = append(pts, s.Data["name"].(string)+":"+jsonText(s.Data["rate"]))
			}
			if got := strings.Join(pts, " "); got != tc.series {
				t.Errorf("series %s\nwant %s", got, tc.series)
			}
		})
	}
}

func jsonText(v any) string {
	if v == nil {
		return "<nil>"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
