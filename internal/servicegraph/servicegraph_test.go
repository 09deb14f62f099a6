package servicegraph

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

func TestStatsCount(t *testing.T) {
	cases := []struct {
		name string
		seg  xrayview.Segment
		want string
	}{
		{"ok", xrayview.Segment{Start: 10, End: 10.25}, `{"OkCount":1,"ErrorStatistics":{"ThrottleCount":0,"OtherCount":0,"TotalCount":0},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"TotalCount":1,"TotalResponseTime":0.25}`},
		{"error", xrayview.Segment{Start: 10, End: 11, Error: true}, `{"OkCount":0,"ErrorStatistics":{"ThrottleCount":0,"OtherCount":1,"TotalCount":1},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"TotalCount":1,"TotalResponseTime":1}`},
		{"throttle", xrayview.Segment{Start: 10, End: 11, Error: true, Throttle: true}, `{"OkCount":0,"ErrorStatistics":{"ThrottleCount":1,"OtherCount":0,"TotalCount":1},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"TotalCount":1,"TotalResponseTime":1}`},
		{"fault wins", xrayview.Segment{Start: 10, End: 11, Error: true, Fault: true}, `{"OkCount":0,"ErrorStatistics":{"ThrottleCount":0,"OtherCount":0,"TotalCount":0},"FaultStatistics":{"OtherCount":1,"TotalCount":1},"TotalCount":1,"TotalResponseTime":1}`},
		{"in progress counts nothing", xrayview.Segment{Start: 10, InProgress: true}, `{"OkCount":0,"ErrorStatistics":{"ThrottleCount":0,"OtherCount":0,"TotalCount":0},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"TotalCount":0,"TotalResponseTime":0}`},
		{"end before start counts nothing", xrayview.Segment{Start: 10, End: 9}, `{"OkCount":0,"ErrorStatistics":{"ThrottleCount":0,"OtherCount":0,"TotalCount":0},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"TotalCount":0,"TotalResponseTime":0}`},
		{"total in milliseconds", xrayview.Segment{Start: 10, End: 10.2504}, `{"OkCount":1,"ErrorStatistics":{"ThrottleCount":0,"OtherCount":0,"TotalCount":0},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"TotalCount":1,"TotalResponseTime":0.25}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Stats
			rt, ok := s.Count(&c.seg)
			wantRT, wantOK := xrayview.ResponseTime(&c.seg)
			if rt != wantRT || ok != wantOK {
				t.Errorf("Count = %v, %v; the response time is %v, %v", rt, ok, wantRT, wantOK)
			}
			got, _ := json.Marshal(s)
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func id(n int) model.SpanID {
	n++
	return model.SpanID{0, 0, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}
}

// trace is a root "web" segment calling "api" through a remote subsegment,
// api calling DynamoDB; flags set on the web segment.
func trace(base int, webFault, apiError bool) []xrayview.Segment {
	return []xrayview.Segment{
		{ID: id(base), Name: "web", Start: 100, End: 100.5, Fault: webFault},
		{ID: id(base + 1), ParentID: id(base), Subsegment: true, Namespace: "remote", Name: "api", Start: 100.1, End: 100.4, Error: apiError},
		{ID: id(base + 2), ParentID: id(base + 1), Name: "api", Start: 100.15, End: 100.35, Error: apiError},
		{ID: id(base + 3), ParentID: id(base + 2), Subsegment: true, Namespace: "aws", Name: "DynamoDB", TableName: "users", Start: 100.2, End: 100.3},
	}
}

func TestBuilderMergesTraces(t *testing.T) {
	b := NewBuilder()
	for i, tr := range [][]xrayview.Segment{trace(0, false, false), trace(10, true, true), trace(20, false, false)} {
		g := xrayview.BuildGraph(tr)
		if len(g.Nodes) != 4 {
			t.Fatalf("trace %d: %d nodes", i, len(g.Nodes))
		}
		b.Add(tr, &g)
	}
	svcs := b.Services()
	var got []string
	for _, s := range svcs {
		line := fmt.Sprintf("%d %s %s %s root=%v", s.ReferenceID, s.Name, s.Type, s.State, s.Root)
		if s.SummaryStatistics != nil {
			st := s.SummaryStatistics
			line += fmt.Sprintf(" ok=%d err=%d fault=%d total=%d", st.OkCount, st.ErrorStatistics.TotalCount, st.FaultStatistics.TotalCount, st.TotalCount)
		}
		for _, e := range s.Edges {
			line += fmt.Sprintf(" ->%d(ok=%d err=%d fault=%d total=%d)", e.ReferenceID, e.SummaryStatistics.OkCount,
				e.SummaryStatistics.ErrorStatistics.TotalCount, e.SummaryStatistics.FaultStatistics.TotalCount, e.SummaryStatistics.TotalCount)
		}
		got = append(got, line)
	}
	want := []string{
		"0 api  active root=false ok=2 err=1 fault=0 total=3 ->1(ok=3 err=0 fault=0 total=3)",
		"1 users AWS::DynamoDB::Table unknown root=false ok=3 err=0 fault=0 total=3",
		"2 web client unknown root=false ->3(ok=2 err=0 fault=1 total=3)",
		"3 web  active root=true ok=2 err=0 fault=1 total=3 ->0(ok=2 err=1 fault=0 total=3)",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("graph\n got %q\nwant %q", got, want)
	}
	if s := svcs[3]; s.StartTime != 100 || s.EndTime != 101 {
		t.Errorf("web times %v..%v, want 100..101", s.StartTime, s.EndTime)
	}
	if h := svcs[0].ResponseTimeHistogram; len(h) != 1 || h[0] != (HistogramEntry{Value: 0.2, Count: 3}) {
		t.Errorf("api histogram %+v", h)
	}
}

func BenchmarkBuilder10kTraces(b *testing.B) {
	traces := make([][]xrayview.Segment, 10000)
	graphs := make([]xrayview.Graph, len(traces))
	for i := range traces {
		traces[i] = trace(i*4, i%7 == 0, i%5 == 0)
		graphs[i] = xrayview.BuildGraph(traces[i])
	}
	b.ReportAllocs()
	for b.Loop() {
		bl := NewBuilder()
		for i := range traces {
			bl.Add(traces[i], &graphs[i])
		}
		if len(bl.Services()) != 4 {
			b.Fatal("wrong graph")
		}
	}
}
