package xray

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/sampling"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestTransactionSearch: with the default destination every trace is in
// X-Ray's views; once the destination is CloudWatchLogs and the Default
// rule indexes 50%, a trace whose id falls in the indexed half is in the
// views and one outside it is not (BatchGetTraces, GetTraceSummaries), while
// trace retrieval returns both; the control operations answer as X-Ray's
// model says.
func TestTransactionSearch(t *testing.T) {
	ctx := context.Background()
	th := newTraceHarnessWith(t, 0, func(st store.Writer, m *sampling.Manager) ingest.Consumer {
		return IndexingConsumer(m, writeTo(st, func(env string) string { return store.DoorEnv(env, model.DoorXRay) }), writeTo(st, store.XRayUnindexedEnv))
	}, model.DoorXRay)
	hs, st := th.harness, th.st
	expect := func(path, body string, status int, want ...string) string {
		t.Helper()
		r := hs.post(path, body)
		if r.status != status {
			t.Fatalf("%s %s: %d %s, want %d", path, body, r.status, r.body, status)
		}
		for _, w := range want {
			if !strings.Contains(r.body, w) {
				t.Fatalf("%s %s: %s, want it to contain %s", path, body, r.body, w)
			}
		}
		return r.body
	}
	put := func(traceID, id string) {
		t.Helper()
		doc := `{"trace_id":"` + traceID + `","id":"` + id + `","name":"backend-flask","start_time":1795608000.5,"end_time":1795608000.75}`
		body, _ := json.Marshal(map[string][]string{"TraceSegmentDocuments": {doc}})
		expect("/TraceSegments", string(body), 200, `"UnprocessedTraceSegments":[]`)
	}
	const (
		low    = "1-6b06cdc0-000000000000000000000001" // last 8 bytes ≈ 0: indexed at any share above 0
		high   = "1-6b06cdc0-00000000ffffffffffffff00" // ≈ 2^64: indexed only at 100%
		before = "1-6b06cdc0-00000000fffffffffffffff1"
	)

	expect("/GetTraceSegmentDestination", `{}`, 200, `{"Destination":"XRay","Status":"ACTIVE"}`)
	expect("/GetIndexingRules", `{}`, 200, `"Name":"Default"`, `"Probabilistic":{"DesiredSamplingPercentage":1,"ActualSamplingPercentage":1}`)
	put(before, "0000000000000001") // destination XRay: indexed whatever its id

	expect("/UpdateIndexingRule", `{"Name":"Default"}`, 400, `Value null at 'rule'`)
	expect("/UpdateIndexingRule", `{"Name":"Default","Rule":{}}`, 400, `exactly one member`)
	expect("/UpdateIndexingRule", `{"Name":"Default","Rule":{"Probabilistic":{"DesiredSamplingPercentage":101}}}`, 400, `between 0 and 100`)
	expect("/UpdateIndexingRule", `{"Name":"Other","Rule":{"Probabilistic":{"DesiredSamplingPercentage":5}}}`, 404, `Indexing rule not found: Other`)
	expect("/UpdateIndexingRule", `{"Name":"Default","Rule":{"Probabilistic":{"DesiredSamplingPercentage":50}}}`, 200,
		`"IndexingRule":{"Name":"Default","ModifiedAt":1795608000,"Rule":{"Probabilistic":{"DesiredSamplingPercentage":50,"ActualSamplingPercentage":50}}}`)
	expect("/UpdateTraceSegmentDestination", `{"Destination":"S3"}`, 400, `enum value set: [XRay, CloudWatchLogs]`)
	expect("/UpdateTraceSegmentDestination", `{"Destination":"CloudWatchLogs"}`, 200, `{"Destination":"CloudWatchLogs","Status":"PENDING"}`)
	put(low, "0000000000000002")
	put(high, "0000000000000003")

	ids := `"TraceIds":["` + before + `","` + low + `","` + high + `"]`
	batch := expect("/Traces", `{`+ids+`}`, 200)
	for _, tc := range []struct {
		id   string
		want bool
	}{{before, true}, {low, true}, {high, false}} {
		if got := strings.Contains(batch, `"Id":"`+tc.id+`"`); got != tc.want {
			t.Errorf("BatchGetTraces has %s: %v, want %v (%s)", tc.id, got, tc.want, batch)
		}
	}
	sums := expect("/TraceSummaries", `{`+win+`}`, 200)
	if !strings.Contains(sums, low) || !strings.Contains(sums, before) || strings.Contains(sums, high) {
		t.Errorf("GetTraceSummaries: %s, want the indexed traces only", sums)
	}
	if evs, _ := st.Trace(ctx, store.XRayUnindexedEnv("test"), mustTraceID(t, high)); len(evs) != 1 {
		t.Errorf("the unindexed trace's part holds %d events, want 1", len(evs))
	}

	started := expect("/StartTraceRetrieval", `{`+ids+`, `+win+`}`, 200)
	var s struct{ RetrievalToken string }
	_ = json.Unmarshal([]byte(started), &s)
	listed := expect("/ListRetrievedTraces", `{"RetrievalToken":`+jsonString(s.RetrievalToken)+`}`, 200, `"RetrievalStatus":"COMPLETE"`)
	for _, id := range []string{before, low, high} {
		if !strings.Contains(listed, `"Id":"`+id+`"`) {
			t.Errorf("ListRetrievedTraces lacks %s: %s", id, listed)
		}
	}
}

func mustTraceID(t *testing.T, s string) model.TraceID {
	t.Helper()
	id, ok := parseTraceID(s)
	if !ok {
		t.Fatalf("bad trace id %s", s)
	}
	return id
}

// TestIndexingConsumerRefusals: a call split between the two parts reports
// each part's refusals with the call's own indexes, and a part's error is
// the call's.
func TestIndexingConsumerRefusals(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: t0}
	m, err := sampling.New(sampling.Config{Now: clk.Now, ValidateFilter: validateFilter})
	if err != nil {
		t.Fatal(err)
	}
	pct := 50.0
	if _, err := m.UpdateIndexingRule(ctx, "test", "Default", &pct); err != nil {
		t.Fatal(err)
	}
	dest := sampling.DestinationCloudWatchLogs
	if _, err := m.UpdateTraceSegmentDestination(ctx, "test", &dest); err != nil {
		t.Fatal(err)
	}
	var lowID, highID model.TraceID
	highID[8] = 0xff
	// Events 0, 2 are indexed, 1, 3 are not; each part refuses its second.
	events := []model.Event{{TraceID: lowID, Name: "a"}, {TraceID: highID, Name: "b"}, {TraceID: lowID, Name: "c"}, {TraceID: highID, Name: "d"}}
	refuseSecond := func(got *[]string) ingest.Consumer {
		return ingest.ConsumerFunc(func(ctx context.Context, env string, evs []model.Event) error {
			for _, e := range evs {
				*got = append(*got, e.Name)
			}
			return &ingest.RefusedError{Refused: []ingest.Refusal{{Index: 1, Err: errors.New("too many columns")}}, Total: len(evs)}
		})
	}
	var in, out []string
	err = IndexingConsumer(m, refuseSecond(&in), refuseSecond(&out)).Consume(ctx, "test", events)
	var re *ingest.RefusedError
	if !errors.As(err, &re) || re.Total != 4 || len(re.Refused) != 2 || re.Refused[0].Index != 2 || re.Refused[1].Index != 3 {
		t.Fatalf("refusals %+v (%v), want indexes 2 and 3 of 4", re, err)
	}
	if strings.Join(in, ",") != "a,c" || strings.Join(out, ",") != "b,d" {
		t.Fatalf("indexed got %v, unindexed %v", in, out)
	}
	failing := ingest.ConsumerFunc(func(context.Context, string, []model.Event) error { return ingest.ErrOverloaded })
	if err := IndexingConsumer(m, refuseSecond(&in), failing).Consume(ctx, "test", events); !errors.Is(err, ingest.ErrOverloaded) {
		t.Fatalf("a failing part: %v, want its error", err)
	}
	// Another environment (destination XRay) sends everything to indexed.
	in, out = nil, nil
	_ = IndexingConsumer(m, refuseSecond(&in), refuseSecond(&out)).Consume(ctx, "other", events)
	if len(in) != 4 || len(out) != 0 {
		t.Fatalf("destination XRay: indexed %v, unindexed %v", in, out)
	}
}
