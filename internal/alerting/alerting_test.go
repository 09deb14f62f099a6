package alerting_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracecomb/tracecomb/internal/alerting"
	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/notify"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// clock is a fake clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// delivery is one request the webhook received.
type delivery struct {
	method, contentType, token string
	payload                    map[string]any
}

// hook is a webhook recipient's server: it answers 500 to the first fail
// requests, 200 after.
type hook struct {
	mu       sync.Mutex
	fail     int
	attempts int
	got      []delivery
	srv      *httptest.Server
}

func newHook(t *testing.T, fail int) *hook {
	h := &hook{fail: fail}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.attempts++
		if h.attempts <= h.fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var p map[string]any
		_ = json.Unmarshal(b, &p)
		h.got = append(h.got, delivery{r.Method, r.Header.Get("Content-Type"), r.Header.Get("X-Honeycomb-Webhook-Token"), p})
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// take returns the deliveries received so far and forgets them.
func (h *hook) take() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.got
	h.got = nil
	return out
}

// fixture is an API server (the Query API over a DuckDB store and a state
// store in memory) whose triggers evaluators evaluate.
type fixture struct {
	t     *testing.T
	api   string
	store *duckdb.Store
	state state.Store
	clock *clock
	hook  *hook
	email string // an email recipient's id
	rcpt  string // the webhook recipient's id
}

func newFixture(t *testing.T, fail int) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(t.TempDir(), "tracecomb.duckdb"), Threads: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ss := state.NewMemory()
	t.Cleanup(func() { _ = ss.Close() })
	f := &fixture{t: t, store: st, state: ss, clock: &clock{now: time.Now().UTC().Truncate(time.Minute)}, hook: newHook(t, fail)}
	mux := http.NewServeMux()
	err = apiquery.Register(mux, apiquery.Deps{
		Auth: auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
			return auth.Principal{Env: "test", Legacy: true}, nil
		}),
		Store: st, State: ss, Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.api = srv.URL
	// The columns the triggers name exist: a span a day before the clock,
	// outside every trigger's time range.
	f.writeAt(f.clock.Now().Add(-24*time.Hour), 1, true, 5)
	f.rcpt = f.create("/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{
		"webhook_name": "oncall", "webhook_url": f.hook.srv.URL, "webhook_secret": "s3cret"}})["id"].(string)
	f.email = f.create("/1/recipients", map[string]any{"type": "email", "details": map[string]any{"email_address": "oncall@example.com"}})["id"].(string)
	return f
}

func (f *fixture) do(method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, f.api+path, bytes.NewReader(b))
	req.Header.Set("X-Honeycomb-Team", "key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (f *fixture) create(path string, body any) map[string]any {
	f.t.Helper()
	code, m := f.do("POST", path, body)
	if code != http.StatusCreated {
		f.t.Fatalf("POST %s: %d %v", path, code, m)
	}
	return m
}

// trigger creates "COUNT > 10 WHERE error = true over the last 60 s,
// every 60 s" notifying the webhook and the email recipient.
func (f *fixture) trigger(exceeded int, alertType string) string {
	f.t.Helper()
	return f.create("/1/triggers/__all__", map[string]any{
		"name":        "errors",
		"description": "more than ten errors a minute",
		"query": map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}},
			"filters":      []any{map[string]any{"column": "error", "op": "=", "value": true}},
			"time_range":   60,
		},
		"threshold":  map[string]any{"op": ">", "value": 10, "exceeded_limit": exceeded},
		"frequency":  60,
		"alert_type": alertType,
		"recipients": []any{map[string]any{"id": f.rcpt}, map[string]any{"id": f.email}},
	})["id"].(string)
}

// send writes n spans of 5 ms, 10 s before the clock's now, failed or
// not.
func (f *fixture) send(n int, failed bool) {
	f.t.Helper()
	f.write(n, failed, 5)
}

// sendSlow writes n healthy spans of 500 ms.
func (f *fixture) sendSlow(n int) {
	f.t.Helper()
	f.write(n, false, 500)
}

func (f *fixture) write(n int, failed bool, ms float64) {
	f.t.Helper()
	f.writeAt(f.clock.Now().Add(-10*time.Second), n, failed, ms)
}

func (f *fixture) writeAt(at time.Time, n int, failed bool, ms float64) {
	f.t.Helper()
	evs := make([]model.Event, n)
	for i := range evs {
		var tid model.TraceID
		var sid model.SpanID
		_, _ = rand.Read(tid[:])
		_, _ = rand.Read(sid[:])
		evs[i] = model.Event{Dataset: "api", Time: at, Source: model.SourceOTLP,
			TraceID: tid, SpanID: sid, Name: "GET /", ServiceName: "api", DurationMs: ms, SpanKind: "server",
			Error: failed, SampleRate: 1}
		if failed {
			evs[i].StatusCode = 2
		}
	}
	if err := f.store.Write(context.Background(), []store.Batch{{Env: "test", Events: evs}}); err != nil {
		f.t.Fatal(err)
	}
}

// notifier returns a Notifier retrying after backoff, its metric
// registered.
func (f *fixture) notifier(backoff time.Duration) *notify.Notifier {
	f.t.Helper()
	n, err := notify.New(notify.Config{Backoff: backoff, Registerer: prometheus.NewRegistry()})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// evaluator returns an Evaluator delivering through n (nil: a Notifier
// retrying after 1 ms).
func (f *fixture) evaluator(holder string, n *notify.Notifier) *alerting.Evaluator {
	f.t.Helper()
	if n == nil {
		n = f.notifier(time.Millisecond)
	}
	e, err := alerting.New(alerting.Config{Now: f.clock.Now, Holder: holder, Notifier: n}, f.store, f.state)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// sent is tracecomb_notifications_total of triggers to recipients of
// type typ with outcome.
func sent(n *notify.Notifier, typ, outcome string) float64 {
	return testutil.ToFloat64(n.Notifications().WithLabelValues(notify.KindTrigger, typ, outcome))
}

// tick evaluates once and waits for the deliveries.
func tick(e *alerting.Evaluator) {
	e.Tick(context.Background())
	e.Wait()
}

// expect checks that exactly one payload of status was delivered, as a
// webhook recipient of Honeycomb receives it, and returns it.
func (f *fixture) expect(status string, id string) map[string]any {
	f.t.Helper()
	got := f.hook.take()
	if len(got) != 1 {
		f.t.Fatalf("webhook deliveries: %d %v, want one %s", len(got), got, status)
	}
	d := got[0]
	p := d.payload
	switch {
	case d.method != http.MethodPost || d.contentType != "application/json" || d.token != "s3cret":
		f.t.Errorf("request: %s, Content-Type %q, token %q; want POST, application/json, s3cret", d.method, d.contentType, d.token)
	case p["status"] != status || p["id"] != id || p["name"] != "errors" || p["trigger_description"] != "more than ten errors a minute":
		f.t.Errorf("payload %v: want status %s, id %s, the trigger's name and description", p, status, id)
	case p["shared_secret"] != "s3cret" || p["is_test"] != false || p["version"] == nil || p["summary"] == "" || p["result_url"] == nil:
		f.t.Errorf("payload %v: want shared_secret, is_test false, version, summary, result_url", p)
	case p["result_groups"] == nil || p["result_groups_triggered"] == nil:
		f.t.Errorf("payload %v: want result_groups and result_groups_triggered", p)
	}
	return p
}

func (f *fixture) expectNone(when string) {
	f.t.Helper()
	if got := f.hook.take(); len(got) != 0 {
		f.t.Fatalf("%s: webhook deliveries %v, want none", when, got)
	}
}

func (f *fixture) triggered(id string) any {
	f.t.Helper()
	code, m := f.do("GET", "/1/triggers/__all__/"+id, nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET trigger: %d %v", code, m)
	}
	return m["triggered"]
}

// TestTriggerFiresAndResolves: 15 error spans in the last minute pass
// COUNT > 10: one TRIGGERED payload with the count in its groups, the API
// reports triggered; no evaluation before the frequency has elapsed; a
// minute later with healthy spans only, one OK payload and triggered
// false. The email recipient is counted as not configured (no SMTP
// server) each time.
func TestTriggerFiresAndResolves(t *testing.T) {
	f := newFixture(t, 0)
	n := f.notifier(time.Millisecond)
	e := f.evaluator("node-a", n)
	id := f.trigger(1, "on_change")
	if f.triggered(id) != false {
		t.Fatal("a trigger never evaluated: want triggered false")
	}
	f.send(15, true)
	f.send(5, false)
	tick(e)
	p := f.expect(alerting.StatusTriggered, id)
	groups, _ := p["result_groups_triggered"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["Result"] != 15.0 {
		t.Errorf("result_groups_triggered %v: want one group of 15", p["result_groups_triggered"])
	}
	if p["operator"] != "greater than" || p["threshold"] != 10.0 || p["summary"] != "Triggered: errors" ||
		p["description"] != "Currently greater than threshold value (10) (value 15)" {
		t.Errorf("payload %v: want operator greater than, threshold 10, summary and description", p)
	}
	if f.triggered(id) != true {
		t.Error("after the breach: want triggered true")
	}

	f.clock.Add(30 * time.Second)
	tick(e)
	f.expectNone("half a frequency later")

	f.clock.Add(31 * time.Second)
	f.send(20, false)
	tick(e)
	p = f.expect(alerting.StatusOK, id)
	if g, _ := p["result_groups_triggered"].([]any); len(g) != 0 {
		t.Errorf("resolved: result_groups_triggered %v, want none", g)
	}
	if f.triggered(id) != false {
		t.Error("after resolving: want triggered false")
	}
	f.clock.Add(61 * time.Second)
	tick(e)
	f.expectNone("still healthy (on_change)")
	if c := sent(n, "email", notify.OutcomeNotConfigured); c != 2 {
		t.Errorf("email notifications not configured: %v, want 2", c)
	}
	if c := sent(n, "webhook", notify.OutcomeSent); c != 2 {
		t.Errorf("webhook notifications sent: %v, want 2", c)
	}
}

// TestTriggerExceededLimit: with exceeded_limit 2 one breach notifies
// nothing, the second in a row notifies; with on_true a third breach
// notifies again, and the end of the breach once. A deleted trigger's
// state goes with it and it is no longer evaluated.
func TestTriggerExceededLimit(t *testing.T) {
	f := newFixture(t, 0)
	e := f.evaluator("node-a", nil)
	id := f.trigger(2, "on_true")
	f.send(15, true)
	tick(e)
	f.expectNone("one breach of two")
	if f.triggered(id) != false {
		t.Error("one breach of two: want triggered false")
	}
	f.clock.Add(60 * time.Second)
	f.send(15, true)
	tick(e)
	f.expect(alerting.StatusTriggered, id)
	f.clock.Add(60 * time.Second)
	f.send(15, true)
	tick(e)
	f.expect(alerting.StatusTriggered, id)
	f.clock.Add(60 * time.Second)
	tick(e)
	f.expect(alerting.StatusOK, id)

	if code, _ := f.do("DELETE", "/1/triggers/__all__/"+id, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE trigger: %d", code)
	}
	if _, err := f.state.Get(context.Background(), apiquery.TriggerStateKind, "test", "__all__/"+id); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a deleted trigger's state: %v, want it deleted", err)
	}
	f.clock.Add(60 * time.Second)
	f.send(15, true)
	tick(e)
	f.expectNone("a deleted trigger")
}

// TestWebhookRetry: a webhook that answers 500 twice gets the payload on
// the third attempt.
func TestWebhookRetry(t *testing.T) {
	f := newFixture(t, 2)
	e := f.evaluator("node-a", nil)
	id := f.trigger(1, "on_change")
	f.send(15, true)
	tick(e)
	f.expect(alerting.StatusTriggered, id)
	if n := f.hook.count(); n != 3 {
		t.Errorf("attempts: %d, want 3", n)
	}
}

// TestWebhookGivesUp: a webhook that always fails is tried 1 + Retries
// times and counted failed; a delivery waiting for its next attempt does
// not hold up Tick and ends with its context.
func TestWebhookGivesUp(t *testing.T) {
	f := newFixture(t, 1<<30)
	n := f.notifier(time.Millisecond)
	e := f.evaluator("node-a", n)
	f.trigger(1, "on_change")
	f.send(15, true)
	tick(e)
	if c := f.hook.count(); c != 4 {
		t.Errorf("attempts: %d, want 4 (3 retries)", c)
	}
	if c := sent(n, "webhook", notify.OutcomeFailed); c != 1 {
		t.Errorf("webhook notifications failed: %v, want 1", c)
	}

	slowN := f.notifier(time.Hour)
	slow := f.evaluator("node-a", slowN)
	f.clock.Add(60 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	slow.Tick(ctx) // resolves: the first attempt fails, the next is an hour away
	cancel()
	slow.Wait()
	if c := sent(slowN, "webhook", notify.OutcomeFailed); c != 1 {
		t.Errorf("a delivery whose context ended: failed %v, want 1", c)
	}
}

// TestTriggerDerivedColumn: a trigger's query may use a derived column
// of the environment, as a query result would: COUNT > 10 WHERE slow =
// true, slow being GT($duration_ms, 100).
func TestTriggerDerivedColumn(t *testing.T) {
	f := newFixture(t, 0)
	e := f.evaluator("node-a", nil)
	f.create("/1/derived_columns/__all__", map[string]any{"alias": "slow", "expression": "GT($duration_ms, 100)"})
	id := f.create("/1/triggers/__all__", map[string]any{
		"name":        "errors",
		"description": "more than ten errors a minute",
		"query": map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}},
			"filters":      []any{map[string]any{"column": "slow", "op": "=", "value": true}},
			"time_range":   60,
		},
		"threshold":  map[string]any{"op": ">", "value": 10},
		"frequency":  60,
		"recipients": []any{map[string]any{"id": f.rcpt}},
	})["id"].(string)
	f.send(15, true) // 5 ms each: not slow
	tick(e)
	f.expectNone("fast spans")
	f.clock.Add(60 * time.Second)
	f.sendSlow(12)
	tick(e)
	p := f.expect(alerting.StatusTriggered, id)
	if g, _ := p["result_groups_triggered"].([]any); len(g) != 1 || g[0].(map[string]any)["Result"] != 12.0 {
		t.Errorf("result_groups_triggered %v: want one group of 12", p["result_groups_triggered"])
	}
}

// TestTriggerBreakdowns: with a breakdown the trigger fires when any
// group passes; result_groups has every group, result_groups_triggered
// the passing ones, each with its breakdown values.
func TestTriggerBreakdowns(t *testing.T) {
	f := newFixture(t, 0)
	e := f.evaluator("node-a", nil)
	id := f.create("/1/triggers/__all__", map[string]any{
		"name":        "errors",
		"description": "more than ten errors a minute",
		"query": map[string]any{
			"calculations": []any{map[string]any{"op": "COUNT"}},
			"breakdowns":   []string{"duration_ms"},
			"time_range":   60,
		},
		"threshold":  map[string]any{"op": ">", "value": 10},
		"frequency":  60,
		"recipients": []any{map[string]any{"id": f.rcpt}},
	})["id"].(string)
	f.send(3, false) // 5 ms
	f.sendSlow(12)   // 500 ms
	tick(e)
	p := f.expect(alerting.StatusTriggered, id)
	all, _ := p["result_groups"].([]any)
	fired, _ := p["result_groups_triggered"].([]any)
	if len(all) != 2 || len(fired) != 1 {
		t.Fatalf("result_groups %v, result_groups_triggered %v: want two groups, one passing", all, fired)
	}
	g := fired[0].(map[string]any)
	if g["Result"] != 12.0 || g["Group"].(map[string]any)["duration_ms"] != 500.0 {
		t.Errorf("passing group %v: want duration_ms 500 with 12", g)
	}
	if p["description"] != "Currently greater than threshold value (10) for duration_ms:500 (value 12)" {
		t.Errorf("description %q: want the passing group and its value", p["description"])
	}
}

// TestTriggerCustomWebhook: a webhook recipient with a trigger payload
// template gets it rendered with the trigger's variables (the passing
// group as .Result.GroupsTriggered) and the template variable the
// trigger's recipient details override; its custom header comes along.
func TestTriggerCustomWebhook(t *testing.T) {
	f := newFixture(t, 0)
	var got struct {
		header http.Header
		body   map[string]any
	}
	done := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.header = r.Header.Clone()
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		done <- struct{}{}
	}))
	defer srv.Close()
	tmpl := `{"status": "{{ .Alert.Status }}", "env": "{{ .Environment }}", "datasets": {{ toJson .Datasets }}, ` +
		`"severity": "{{ .Vars.severity }}", "op": "{{ .Operator }}", "threshold": {{ .Threshold }}, "name": "{{ .Name }}", ` +
		`"fired": [{{ range $i, $g := .Result.GroupsTriggered }}{{ if $i }},{{ end }}` +
		`{"key": "{{ $g.Group.Key }}", "value": {{ toJson $g.Group.Value }}, "result": {{ $g.Result }}}{{ end }}]}`
	rc := f.create("/1/recipients", map[string]any{"type": "webhook", "details": map[string]any{
		"webhook_name": "incidents", "webhook_url": srv.URL,
		"webhook_headers": []any{map[string]any{"header": "X-Api-Key", "value": "k1"}},
		"webhook_payloads": map[string]any{
			"payload_templates":  map[string]any{"trigger": map[string]any{"body": tmpl}},
			"template_variables": []any{map[string]any{"name": "severity", "default_value": "critical"}},
		},
	}})["id"].(string)
	f.create("/1/triggers/__all__", map[string]any{
		"name":       "slow",
		"query":      map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "breakdowns": []string{"duration_ms"}, "time_range": 60},
		"threshold":  map[string]any{"op": ">", "value": 10},
		"frequency":  60,
		"recipients": []any{map[string]any{"id": rc, "details": map[string]any{"variables": []any{map[string]any{"name": "severity", "value": "warning"}}}}},
	})
	f.send(3, false)
	f.sendSlow(12)
	tick(f.evaluator("node-a", nil))
	select {
	case <-done:
	default:
		t.Fatal("no delivery")
	}
	want := map[string]any{"status": "TRIGGERED", "env": "test", "datasets": []any{"__all__"}, "severity": "warning",
		"op": "greater than", "threshold": 10.0, "name": "slow",
		"fired": []any{map[string]any{"key": "duration_ms", "value": 500.0, "result": 12.0}}}
	if b, w := mustJSON(got.body), mustJSON(want); b != w {
		t.Errorf("body\n%s\nwant\n%s", b, w)
	}
	if got.header.Get("X-Api-Key") != "k1" {
		t.Errorf("headers %v: want X-Api-Key k1", got.header)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestTwoNodes: evaluators sharing one state store deliver once: two
// ticking at once evaluate a due trigger once between them; when it is due
// again, the nodes that do not hold its lease leave it to the one that
// does, which delivers the resolution once.
func TestTwoNodes(t *testing.T) {
	f := newFixture(t, 0)
	a, b := f.evaluator("node-a", nil), f.evaluator("node-b", nil)
	id := f.trigger(1, "on_change")
	f.send(15, true)
	tick(a)
	f.expect(alerting.StatusTriggered, id)
	tick(b)
	f.expectNone("node b within the frequency")

	f.clock.Add(60 * time.Second)
	f.send(5, false)
	tick(b)
	f.expectNone("node b, which does not hold the lease")
	if f.triggered(id) != true {
		t.Error("node b changed the trigger's state without the lease")
	}
	tick(a)
	f.expect(alerting.StatusOK, id)

	f.clock.Add(60 * time.Second)
	f.send(15, true)
	var wg sync.WaitGroup
	for _, e := range []*alerting.Evaluator{a, b, f.evaluator("node-c", nil)} {
		wg.Add(1)
		go func() { defer wg.Done(); tick(e) }()
	}
	wg.Wait()
	f.expect(alerting.StatusTriggered, id)
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempts
}
