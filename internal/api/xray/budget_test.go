package xray

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	xraysvc "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/sampling"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// manyTraces stores n X-Ray traces of two segments (frontend calling
// backend) over the ten minutes after t0 and returns the first few ids.
func manyTraces(t testing.TB, st *duckdb.Store, n int) []string {
	t.Helper()
	events := make([]model.Event, 0, 2*n)
	var ids []string
	for i := range n {
		at := t0.Add(time.Duration(i) * 600 * time.Second / time.Duration(n))
		tid := model.TraceID{0x6b, 0x06, 0xcd, 0xc0, byte(i >> 16), byte(i >> 8), byte(i), 2}
		root := model.SpanID{byte(i >> 16), byte(i >> 8), byte(i), 1}
		child := model.SpanID{byte(i >> 16), byte(i >> 8), byte(i), 2}
		start := float64(at.UnixNano()) / 1e9
		doc := func(name string, id, parent model.SpanID, extra string) []byte {
			p := ""
			if !parent.IsZero() {
				p = fmt.Sprintf(`,"parent_id":%q`, parent.String())
			}
			return fmt.Appendf(nil, `{"trace_id":%q,"id":%q%s,"name":%q,"start_time":%.3f,"end_time":%.3f%s}`,
				tid.XRay(), id.String(), p, name, start, start+0.1, extra)
		}
		events = append(events,
			model.Event{Dataset: "frontend", Source: model.SourceXRay, Time: at, TraceID: tid, SpanID: root, Name: "frontend",
				ServiceName: "frontend", DurationMs: 100, SpanKind: "server", SampleRate: 1, Doc: doc("frontend", root, model.SpanID{}, "")},
			model.Event{Dataset: "frontend", Source: model.SourceXRay, Time: at, TraceID: tid, SpanID: child, ParentID: root, Name: "backend",
				ServiceName: "frontend", DurationMs: 90, SpanKind: "client", SampleRate: 1, Doc: doc("backend", child, root, `,"namespace":"remote"`)},
		)
		if i < 5 {
			ids = append(ids, tid.XRay())
		}
	}
	if err := st.Write(context.Background(), []store.Batch{{Env: store.DoorEnv("test", model.DoorXRay), Events: events}}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// budgetServer serves the X-Ray API's trace operations over r (the
// store's X-Ray door) with the given time budget (0: the default), for
// aws-sdk-go-v2's client, which makes one attempt.
func budgetServer(t testing.TB, st *duckdb.Store, r store.Reader, budget time.Duration) *xraysvc.Client {
	t.Helper()
	m, err := sampling.New(sampling.Config{ValidateFilter: validateFilter})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Meta: m, DefaultEnv: "test"})
	if err != nil {
		t.Fatal(err)
	}
	consumer := ingest.ConsumerFunc(func(ctx context.Context, env string, events []model.Event) error {
		return st.Write(ctx, []store.Batch{{Env: store.DoorEnv(env, model.DoorXRay), Events: events}})
	})
	if err := h.RegisterTraceOperations(TraceDeps{Store: r, Consumer: consumer, QueryTimeout: budget}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return goClient(srv.URL, "AKID", "secret")
}

func openStore(t testing.TB, mem string) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(context.Background(), duckdb.Config{Path: filepath.Join(t.TempDir(), "tc.duckdb"), Threads: 1, MemoryLimit: mem}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// readCalls makes each trace read of the X-Ray API once with c over the
// ten minutes after t0; ids are traces to ask for by id.
func readCalls(c *xraysvc.Client, ids []string) map[string]func(context.Context) error {
	start, end := aws.Time(t0.Add(-time.Minute)), aws.Time(t0.Add(11*time.Minute))
	return map[string]func(context.Context) error{
		"GetTraceSummaries": func(ctx context.Context) error {
			_, err := c.GetTraceSummaries(ctx, &xraysvc.GetTraceSummariesInput{StartTime: start, EndTime: end})
			return err
		},
		"GetTraceSummaries with a filter": func(ctx context.Context) error {
			_, err := c.GetTraceSummaries(ctx, &xraysvc.GetTraceSummariesInput{StartTime: start, EndTime: end, FilterExpression: aws.String(`service("frontend")`)})
			return err
		},
		"GetServiceGraph": func(ctx context.Context) error {
			_, err := c.GetServiceGraph(ctx, &xraysvc.GetServiceGraphInput{StartTime: start, EndTime: end})
			return err
		},
		"GetTimeSeriesServiceStatistics": func(ctx context.Context) error {
			_, err := c.GetTimeSeriesServiceStatistics(ctx, &xraysvc.GetTimeSeriesServiceStatisticsInput{StartTime: start, EndTime: end,
				EntitySelectorExpression: aws.String(`service("frontend")`)})
			return err
		},
		"BatchGetTraces": func(ctx context.Context) error {
			_, err := c.BatchGetTraces(ctx, &xraysvc.BatchGetTracesInput{TraceIds: ids})
			return err
		},
		"GetTraceGraph": func(ctx context.Context) error {
			_, err := c.GetTraceGraph(ctx, &xraysvc.GetTraceGraphInput{TraceIds: ids})
			return err
		},
	}
}

// TestTraceReadsTimeBudget: a trace read past --xray-query-timeout is
// stopped and answered ThrottledException (429) naming the budget and what
// to narrow, through aws-sdk-go-v2; the handler and the store keep
// serving. With a budget of 1 ns every read is past it before it starts;
// with 10 ms the window reads over 10,000 traces are stopped while they
// run, well before they would finish.
func TestTraceReadsTimeBudget(t *testing.T) {
	st := openStore(t, "")
	ids := manyTraces(t, st, 10_000)
	ctx := context.Background()
	check := func(name string, err error) {
		t.Helper()
		var te *types.ThrottledException
		if !errors.As(err, &te) || !strings.Contains(te.ErrorMessage(), "time budget of") || !strings.Contains(te.ErrorMessage(), "(--xray-query-timeout)") ||
			!strings.Contains(te.ErrorMessage(), "shorter time range") {
			t.Errorf("%s past its budget: %v, want a ThrottledException naming the budget", name, err)
		}
	}
	for name, call := range readCalls(budgetServer(t, st, st, time.Nanosecond), ids) {
		check(name, call(ctx))
	}

	normal := readCalls(budgetServer(t, st, st, 0), ids)
	short := readCalls(budgetServer(t, st, st, 10*time.Millisecond), ids)
	for _, name := range []string{"GetTraceSummaries", "GetServiceGraph", "GetTimeSeriesServiceStatistics"} {
		began := time.Now()
		if err := normal[name](ctx); err != nil {
			t.Fatalf("%s with the default budget: %v", name, err)
		}
		whole := time.Since(began)
		began = time.Now()
		err := short[name](ctx)
		t.Logf("%s: %v whole, stopped after %v", name, whole, time.Since(began))
		if whole < 100*time.Millisecond {
			t.Logf("%s took %v, too fast for a 10 ms budget to be sure to stop it", name, whole)
			continue
		}
		check(name, err)
	}
	// The store still serves every read after the stopped ones.
	for name, call := range normal {
		if err := call(ctx); err != nil {
			t.Errorf("%s after reads were stopped: %v", name, err)
		}
	}
}

// tooLarge is a store whose reads all fail as DuckDB's do past its memory
// limit.
type tooLarge struct{ store.Reader }

var errTooLarge = fmt.Errorf("duckdb store: %w: Out of Memory Error: could not allocate block of size 256.0 KiB (1.9 MiB/2.0 MiB used)", store.ErrQueryTooLarge)

func (tooLarge) Trace(context.Context, string, model.TraceID) ([]model.Event, error) {
	return nil, errTooLarge
}

func (tooLarge) SelectTraces(context.Context, string, store.TraceQuery) (store.TraceSelection, error) {
	return store.TraceSelection{}, errTooLarge
}

func (tooLarge) Scan(context.Context, string, store.ScanQuery) iter.Seq2[model.Event, error] {
	return func(yield func(model.Event, error) bool) { yield(model.Event{}, errTooLarge) }
}

// TestTraceReadsTooLarge: a trace read past the store's memory limit is an
// InvalidRequestException (400) naming the limit and what to narrow, not
// an InternalFailure: every read through a store that answers
// store.ErrQueryTooLarge, and GetTraceSummaries over a real DuckDB store
// of 20,000 traces under a 2 MB limit.
func TestTraceReadsTooLarge(t *testing.T) {
	st := openStore(t, "")
	ids := manyTraces(t, st, 10)
	ctx := context.Background()
	check := func(name string, err error) {
		t.Helper()
		var ie *types.InvalidRequestException
		if !errors.As(err, &ie) || !strings.Contains(ie.ErrorMessage(), "more memory than the trace store may use (--store-memory-limit)") ||
			!strings.Contains(ie.ErrorMessage(), "shorter time range") {
			t.Errorf("%s past the memory limit: %v, want an InvalidRequestException naming the limit", name, err)
		}
	}
	for name, call := range readCalls(budgetServer(t, st, tooLarge{st}, 0), ids) {
		check(name, call(ctx))
	}

	// DuckDB itself: selecting 20,000 traces needs more than 2 MB; reading
	// a few by id still fits.
	path := filepath.Join(t.TempDir(), "tc.duckdb")
	big, err := duckdb.Open(ctx, duckdb.Config{Path: path, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids = manyTraces(t, big, 20_000)
	if err := big.Close(); err != nil {
		t.Fatal(err)
	}
	if big, err = duckdb.Open(ctx, duckdb.Config{Path: path, Threads: 1, MemoryLimit: "2MB"}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = big.Close() })
	calls := readCalls(budgetServer(t, big, big, 0), ids)
	for _, name := range []string{"GetTraceSummaries", "GetServiceGraph"} {
		check(name+" (DuckDB, 2 MB)", calls[name](ctx))
	}
	if err := calls["BatchGetTraces"](ctx); err != nil {
		t.Errorf("BatchGetTraces of %d traces under 2 MB: %v", len(ids), err)
	}
}
