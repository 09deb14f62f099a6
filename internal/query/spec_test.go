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

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		spec, field, code string
	}{
		{`{"calculations":[{"op":"P42","column":"x"}]}`, "calculations[0].op", "invalid"},
		{`{"calculations":[{"op":""}]}`, "calculations[0].op", "missing"},
		{`{"calculations":[{"op":"SUM"}]}`, "calculations[0].column", "missing"},
		{`{"calculations":[{"op":"CONCURRENCY","column":"x"}]}`, "calculations[0].column", "invalid"},
		{`{"calculations":[{"op":"COUNT"},{"op":"COUNT"}]}`, "calculations[1]", "invalid"},
		{`{"calculations":[{"op":"COUNT","filters":[{"column":"a","op":"exists"}]}]}`, "calculations[0].filters", "invalid"},
		{`{"filters":[{"column":"","op":"="}]}`, "filters[0].column", "missing"},
		{`{"filters":[{"column":"a","op":"in","value":[]}]}`, "filters[0].value", "invalid"},
		{`{"filters":[{"column":"a","op":"in","value":[{}]}]}`, "filters[0].value[0]", "incorrect_type"},
		{`{"filters":[{"column":"a","op":"=","value":[1]}]}`, "filters[0].value", "incorrect_type"},
		{`{"breakdowns":["a","a"]}`, "breakdowns[1]", "invalid"},
		{`{"orders":[{}]}`, "orders[0]", "missing"},
		{`{"havings":[{"calculate_op":"COUNT","op":">","value":1}],"calculations":[{"op":"MAX","column":"x"}]}`, "havings[0]", "invalid"},
		{`{"limit":-1}`, "limit", "invalid"},
		{`{"time_range":0}`, "time_range", "invalid"},
		{`{"start_time":-5}`, "start_time", "invalid"},
		{`{"compare_time_offset_seconds":5}`, "compare_time_offset_seconds", "invalid"},
		{`{"formulas":[{"name":"a","expression":"b"}]}`, "formulas", "invalid"},
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
