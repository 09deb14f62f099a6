package query

import (
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

var now = time.Date(2026, 5, 6, 7, 8, 9, 500, time.UTC)

func plan(t *testing.T, spec string) Plan {
	t.Helper()
	s, err := DecodeSpec(strings.NewReader(spec))
	if err != nil {
		t.Fatalf("decode %s: %v", spec, err)
	}
	p, err := s.Plan(now)
	if err != nil {
		t.Fatalf("plan %s: %v", spec, err)
	}
	return p
}

func TestPlanTime(t *testing.T) {
	end := time.Date(2026, 5, 6, 7, 8, 10, 0, time.UTC) // now, rounded up to the next second
	tests := []struct {
		spec       string
		start, end time.Time
		gran       time.Duration
		empty      bool
	}{
		{`{}`, end.Add(-2 * time.Hour), end, 2 * time.Minute, false},
		{`{"time_range":600}`, end.Add(-10 * time.Minute), end, 10 * time.Second, false},
		{`{"start_time":1000,"end_time":4600}`, time.Unix(1000, 0), time.Unix(4600, 0), 60 * time.Second, false},
		{`{"start_time":1000,"time_range":60}`, time.Unix(1000, 0), time.Unix(1060, 0), time.Second, false},
		{`{"end_time":4600,"time_range":60}`, time.Unix(4540, 0), time.Unix(4600, 0), time.Second, false},
		{`{"end_time":10000}`, time.Unix(10000-7200, 0), time.Unix(10000, 0), 2 * time.Minute, false},
		{`{"time_range":3600,"granularity":360}`, end.Add(-time.Hour), end, 6 * time.Minute, false},
		{`{"time_range":3600,"granularity":4}`, end.Add(-time.Hour), end, 4 * time.Second, false},
		{`{"start_time":5,"end_time":5}`, time.Unix(5, 0), time.Unix(5, 0), time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			p := plan(t, tc.spec)
			if !p.Query.Start.Equal(tc.start) || !p.Query.End.Equal(tc.end) || p.Query.Granularity != tc.gran || p.Empty != tc.empty {
				t.Fatalf("got [%v, %v) every %v empty=%v; want [%v, %v) every %v empty=%v",
					p.Query.Start, p.Query.End, p.Query.Granularity, p.Empty, tc.start, tc.end, tc.gran, tc.empty)
			}
		})
	}
}

func TestPlanQuery(t *testing.T) {
	p := plan(t, `{"calculations":[{"op":"COUNT"},{"op":"P99","column":"duration_ms"},{"op":"AVG","column":"x","name":"mean x"},{"op":"HEATMAP","column":"duration_ms"}],
		"filters":[{"column":"a","op":"in","value":[1,"b",2.5,true]},{"column":"e","op":"exists"}],"filter_combination":"OR",
		"breakdowns":["name"],"orders":[{"op":"mean x","order":"descending"},{"column":"name"}],
		"havings":[{"calculate_op":"P99","column":"duration_ms","op":">","value":3}],"limit":5,"usage_mode":true}`)
	q := p.Query
	if got := strings.Join(p.Labels, "|"); got != "COUNT|P99(duration_ms)|mean x|HEATMAP(duration_ms)" {
		t.Fatalf("labels %s", got)
	}
	if q.Calcs[1] != (store.Calc{Op: store.CalcPercentile, Column: "duration_ms", Percentile: 0.99}) {
		t.Fatalf("calc %+v", q.Calcs[1])
	}
	wantVals := []model.Value{model.Int(1), model.Str("b"), model.Float(2.5), model.Bool(true)}
	if len(q.Filters) != 2 || q.Filters[0].Op != store.OpIn || len(q.Filters[0].Values) != 4 || q.Combination != store.Or {
		t.Fatalf("filters %+v", q.Filters)
	}
	for i, v := range wantVals {
		if q.Filters[0].Values[i] != v {
			t.Fatalf("value %d = %+v, want %+v", i, q.Filters[0].Values[i], v)
		}
	}
	if len(q.Orders) != 2 || *q.Orders[0].Calc != q.Calcs[2] || !q.Orders[0].Desc || q.Orders[1].Breakdown != "name" {
		t.Fatalf("orders %+v", q.Orders)
	}
	if len(q.Havings) != 1 || q.Havings[0].Calc != q.Calcs[1] || q.Havings[0].Value != 3 {
		t.Fatalf("havings %+v", q.Havings)
	}
	if q.Limit != 5 || !q.UsageMode {
		t.Fatalf("limit %d usage %v", q.Limit, q.UsageMode)
	}
}

func TestPlanCalcFiltersAndFormulas(t *testing.T) {
	p := plan(t, `{"calculations":[{"op":"COUNT","name":"total"},
		{"op":"COUNT","name":"errors","filters":[{"column":"error","op":"=","value":true}]},
		{"op":"P99","column":"duration_ms","name":"slow","filter_combination":"OR",
			"filters":[{"column":"name","op":"starts-with","value":"GET"},{"column":"db","op":"exists"}]}],
		"formulas":[{"name":"rate","expression":"DIV($errors, $total)"}],
		"breakdowns":["name"],"orders":[{"column":"rate","order":"descending"},{"column":"errors"}],
		"havings":[{"calculate_op":"COUNT","column":"rate","op":">","value":0.1},{"calculate_op":"COUNT","column":"errors","op":">=","value":1}],
		"limit":5}`)
	q := p.Query
	if got := strings.Join(p.Labels, "|"); got != "total|errors|slow" {
		t.Fatalf("labels %s", got)
	}
	want := []store.Calc{{Op: store.CalcCount}, {Op: store.CalcCount, Filter: 1},
		{Op: store.CalcPercentile, Column: "duration_ms", Percentile: 0.99, Filter: 2}}
	for i, c := range want {
		if q.Calcs[i] != c {
			t.Fatalf("calc %d = %+v, want %+v", i, q.Calcs[i], c)
		}
	}
	if len(q.CalcFilters) != 2 || len(q.CalcFilters[0].Filters) != 1 || q.CalcFilters[0].Combination != store.And ||
		q.CalcFilters[0].Filters[0].Column != "error" || q.CalcFilters[0].Filters[0].Value != model.Bool(true) ||
		len(q.CalcFilters[1].Filters) != 2 || q.CalcFilters[1].Combination != store.Or {
		t.Fatalf("calc filters %+v", q.CalcFilters)
	}
	if len(p.Formulas) != 1 || p.Formulas[0].Name != "rate" || p.Formulas[0].Expr.Func != "DIV" {
		t.Fatalf("formulas %+v", p.Formulas)
	}
	// The order by a formula and its having apply after the store's
	// result; the having on a named calculation is the store's.
	if len(q.Orders) != 1 || *q.Orders[0].Calc != q.Calcs[1] || q.Orders[0].Desc {
		t.Fatalf("store orders %+v", q.Orders)
	}
	if len(q.Havings) != 1 || q.Havings[0].Calc != q.Calcs[1] || q.Havings[0].Op != store.OpGe {
		t.Fatalf("store havings %+v", q.Havings)
	}
	if p.post == nil || q.Limit != FormulaScanLimit || p.post.limit != 5 || len(p.post.orders) != 2 || len(p.post.havings) != 1 {
		t.Fatalf("limit %d, post %+v", q.Limit, p.post)
	}

	// Without formulas in orders or havings, the store orders and limits.
	p = plan(t, `{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"$n * 2"}],"orders":[{"op":"n"}],"limit":3}`)
	if p.post != nil || p.Query.Limit != 3 || len(p.Query.Orders) != 1 {
		t.Fatalf("post %+v, limit %d, orders %+v", p.post, p.Query.Limit, p.Query.Orders)
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		spec, field, code string
	}{
		{`{"calculations":[{"op":"P42","column":"x"}]}`, "calculations[0].op", "invalid"},
		{`{"calculations":[{"op":""}]}`, "calculations[0].op", "missing"},
		{`{"calculations":[{"op":"SUM"}]}`, "calculations[0].column", "missing"},
		{`{"calculations":[{"op":"CONCURRENCY","column":"x"}]}`, "calculations[0].column", "invalid"},
		{`{"calculations":[{"op":"COUNT"},{"op":"COUNT"}]}`, "calculations[1]", "invalid"},
		{`{"calculations":[{"op":"COUNT","filters":[{"column":"a","op":"exists"}]}]}`, "calculations[0].name", "missing"},
		{`{"calculations":[{"op":"COUNT","name":"e","filters":[{"column":"a","op":"eq","value":1}]}]}`, "calculations[0].filters[0].op", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"e","filters":[{"column":"a","op":"exists"}],"filter_combination":"XOR"}]}`, "calculations[0].filter_combination", "invalid"},
		{`{"calculations":[{"op":"HEATMAP","column":"d","name":"h","filters":[{"column":"a","op":"exists"}]}]}`, "calculations[0].filters", "invalid"},
		{`{"calculations":[{"op":"CONCURRENCY","name":"c","filters":[{"column":"a","op":"exists"}]}]}`, "calculations[0].filters", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"},{"op":"MAX","column":"d","name":"n"}]}`, "calculations[1].name", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":" "}]}`, "calculations[0].name", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"$m"}]}`, "formulas[0].expression", "invalid"},
		{`{"calculations":[{"op":"COUNT"}],"formulas":[{"name":"f","expression":"$COUNT"}]}`, "formulas[0].expression", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"$n"},{"name":"g","expression":"MUL($f, 2)"}]}`, "formulas[1].expression", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"$n"},{"name":"f","expression":"$n"}]}`, "formulas[1].name", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"n","expression":"$n"}]}`, "formulas[0].name", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"breakdowns":["b"],"formulas":[{"name":"b","expression":"$n"}]}`, "formulas[0].name", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"expression":"$n"}]}`, "formulas[0].name", "missing"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f"}]}`, "formulas[0].expression", "missing"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"DIV($n,"}]}`, "formulas[0].expression", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"LENGTH($n)"}]}`, "formulas[0].expression", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"SUM($n, \"1\")"}]}`, "formulas[0].expression", "invalid"},
		{`{"calculations":[{"op":"HEATMAP","column":"d","name":"h"}],"formulas":[{"name":"f","expression":"$h"}]}`, "formulas[0].expression", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"orders":[{"column":"nope"}]}`, "orders[0].column", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"$n"}],"havings":[{"calculate_op":"COUNT","column":"f","op":"~","value":1}]}`, "havings[0].op", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"formulas":[{"name":"f","expression":"$n"}],"havings":[{"calculate_op":"COUNT","column":"f","op":">"}]}`, "havings[0].value", "missing"},
		{`{"calculations":[{"op":"COUNT","name":"n"}],"havings":[{"calculate_op":"NOPE","column":"n","op":">","value":1}]}`, "havings[0].calculate_op", "invalid"},
		{`{"filters":[{"column":"","op":"="}]}`, "filters[0].column", "missing"},
		{`{"filters":[{"column":"a","op":"in","value":[]}]}`, "filters[0].value", "invalid"},
		{`{"filters":[{"column":"a","op":"in","value":[{}]}]}`, "filters[0].value[0]", "incorrect_type"},
		{`{"filters":[{"column":"a","op":"=","value":[1]}]}`, "filters[0].value", "incorrect_type"},
		{`{"breakdowns":["a","a"]}`, "breakdowns[1]", "invalid"},
		{`{"calculations":[{"op":"MAX","column":"root.duration_ms"}]}`, "calculations[0].column", "invalid"},
		{`{"calculations":[{"op":"COUNT","name":"n","filters":[{"column":"parent.name","op":"exists"}]}]}`, "calculations[0].filters", "invalid"},
		{`{"filters":[{"column":"root.name","op":"=","value":"a"},{"column":"b","op":"exists"}],"filter_combination":"OR"}`, "filter_combination", "invalid"},
		{`{"breakdowns":["root.name","none.name"]}`, "breakdowns[1]", "invalid"},
		{`{"orders":[{}]}`, "orders[0]", "missing"},
		{`{"havings":[{"calculate_op":"COUNT","op":">","value":1}],"calculations":[{"op":"MAX","column":"x"}]}`, "havings[0]", "invalid"},
		{`{"limit":-1}`, "limit", "invalid"},
		{`{"time_range":0}`, "time_range", "invalid"},
		{`{"start_time":-5}`, "start_time", "invalid"},
		{`{"compare_time_offset_seconds":5}`, "compare_time_offset_seconds", "invalid"},
		{`{"time_range":100,"granularity":11}`, "granularity", "invalid"},
		{`{"time_range":"1h"}`, "time_range", "incorrect_type"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := DecodeSpec(strings.NewReader(tc.spec))
			if err == nil {
				_, err = s.Plan(now)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Status != 422 || e.Field != tc.field || e.Code != tc.code || !strings.HasPrefix(e.Error(), tc.field+": ") {
				t.Fatalf("err = %+v, want 422 %s %s", e, tc.field, tc.code)
			}
		})
	}
}

func TestAutoGranularity(t *testing.T) {
	for _, tc := range []struct {
		span int64
		want time.Duration
	}{{1, time.Second}, {100, time.Second}, {101, 2 * time.Second}, {7200, 2 * time.Minute}, {86400, 15 * time.Minute}, {30 * 86400, 12 * time.Hour}, {1000 * 86400, 864000 * time.Second}} {
		if got := AutoGranularity(tc.span); got != tc.want {
			t.Errorf("AutoGranularity(%d) = %v, want %v", tc.span, got, tc.want)
		}
	}
}
