package notify_test

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The fakes below stand in for services that cannot run here. Each
// checks what its real peer checks and answers with the real peer's
// status codes and body shapes; TestFakesRefuse shows they refuse what
// the real service refuses.

// request is one request a fake received.
type request struct {
	method, path string
	header       http.Header
	body         []byte
}

// recorder keeps the requests of a fake and the failures it is told to
// answer first.
type recorder struct {
	mu   sync.Mutex
	reqs []request
	fail []int // statuses to answer before working, in order
}

func (r *recorder) record(req *http.Request) (request, int) {
	b, _ := io.ReadAll(req.Body)
	rq := request{method: req.Method, path: req.URL.Path, header: req.Header.Clone(), body: b}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, rq)
	if len(r.fail) > 0 {
		s := r.fail[0]
		r.fail = r.fail[1:]
		return rq, s
	}
	return rq, 0
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeSlack is Slack's Web API chat.postMessage: HTTP 200 with
// {"ok":false,"error":…} for a missing or wrong token, an unknown
// channel, no text; HTTP 429 {"ok":false,"error":"ratelimited"} with
// Retry-After when told to limit.
type fakeSlack struct {
	recorder
	token    string
	channels map[string]string // name or id → id
}

func newFakeSlack(t *testing.T, token string, channels ...string) (*fakeSlack, *httptest.Server) {
	f := &fakeSlack{token: token, channels: map[string]string{}}
	for i, c := range channels {
		id := "C0" + strconv.Itoa(i+1)
		f.channels[c], f.channels[id] = id, id
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq, fail := f.record(r)
	if r.URL.Path != "/chat.postMessage" {
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	if fail == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, fail, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	if fail != 0 {
		w.WriteHeader(fail)
		return
	}
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
		return
	case auth != "Bearer "+f.token:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	var msg struct {
		Channel     string `json:"channel"`
		Text        string `json:"text"`
		Blocks      []any  `json:"blocks"`
		Attachments []any  `json:"attachments"`
	}
	if !isJSON(r.Header) || json.Unmarshal(rq.body, &msg) != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	id, ok := f.channels[strings.TrimPrefix(msg.Channel, "#")]
	switch {
	case !ok:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
	case msg.Text == "" && len(msg.Blocks) == 0 && len(msg.Attachments) == 0:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": id, "ts": "1765100000.000100",
			"message": map[string]any{"text": msg.Text, "type": "message"}})
	}
}

// fakePagerDuty is the Events API v2 enqueue endpoint: 202 {"status":
// "success",…} for a valid event of a known integration, 400 {"status":
// "invalid event","message":"Event object is invalid","errors":[…]}
// otherwise.
type fakePagerDuty struct {
	recorder
	keys map[string]bool
}

func newFakePagerDuty(t *testing.T, keys ...string) (*fakePagerDuty, *httptest.Server) {
	f := &fakePagerDuty{keys: map[string]bool{}}
	for _, k := range keys {
		f.keys[k] = true
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakePagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq, fail := f.record(r)
	if fail == http.StatusTooManyRequests {
		writeJSON(w, fail, map[string]any{"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."})
		return
	}
	if fail != 0 {
		w.WriteHeader(fail)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	invalid := func(errs ...string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
	}
	var ev struct {
		RoutingKey  *string `json:"routing_key"`
		EventAction string  `json:"event_action"`
		DedupKey    string  `json:"dedup_key"`
		Payload     *struct {
			Summary  string `json:"summary"`
			Source   string `json:"source"`
			Severity string `json:"severity"`
		} `json:"payload"`
	}
	if !isJSON(r.Header) || json.Unmarshal(rq.body, &ev) != nil {
		invalid("Event object is not valid JSON")
		return
	}
	var errs []string
	switch {
	case ev.RoutingKey == nil:
		errs = append(errs, "'routing_key' is missing.")
	case len(*ev.RoutingKey) != 32:
		errs = append(errs, "Length of 'routing_key' is incorrect (should be 32 characters)")
	case !f.keys[*ev.RoutingKey]:
		errs = append(errs, "Invalid routing key")
	}
	switch ev.EventAction {
	case "trigger":
		switch {
		case ev.Payload == nil:
			errs = append(errs, "'payload' is missing or blank")
		default:
			if ev.Payload.Summary == "" {
				errs = append(errs, "'payload.summary' is missing or blank")
			} else if len(ev.Payload.Summary) > 1024 {
				errs = append(errs, "'payload.summary' is too long")
			}
			if ev.Payload.Source == "" {
				errs = append(errs, "'payload.source' is missing or blank")
			}
			switch ev.Payload.Severity {
			case "critical", "error", "warning", "info":
			default:
				errs = append(errs, "'payload.severity' must be one of critical, error, warning or info")
			}
		}
	case "acknowledge", "resolve":
		if ev.DedupKey == "" {
			errs = append(errs, "'dedup_key' is missing or blank")
		}
	default:
		errs = append(errs, "'event_action' must be one of trigger, acknowledge or resolve")
	}
	if len(ev.DedupKey) > 255 {
		errs = append(errs, "'dedup_key' is too long")
	}
	if len(errs) > 0 {
		invalid(errs...)
		return
	}
	dk := ev.DedupKey
	if dk == "" {
		dk = "generated"
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": dk})
}

// fakeTeams is an Office 365 connector's incoming webhook: 200 "1" for a
// card with a summary or text, 400 with the connector's text otherwise.
type fakeTeams struct{ recorder }

func newFakeTeams(t *testing.T) (*fakeTeams, *httptest.Server) {
	f := &fakeTeams{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeTeams) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq, fail := f.record(r)
	if fail != 0 {
		w.WriteHeader(fail)
		return
	}
	var card map[string]any
	if r.Method != http.MethodPost || !isJSON(r.Header) || json.Unmarshal(rq.body, &card) != nil {
		http.Error(w, "Bad payload received by generic incoming webhook.", http.StatusBadRequest)
		return
	}
	if t, ok := card["@type"]; ok && t != "MessageCard" {
		http.Error(w, "Bad payload received by generic incoming webhook.", http.StatusBadRequest)
		return
	}
	if s, _ := card["summary"].(string); s == "" {
		if txt, _ := card["text"].(string); txt == "" {
			http.Error(w, "Summary or Text is required.", http.StatusBadRequest)
			return
		}
	}
	_, _ = io.WriteString(w, "1")
}

// fakeWorkflow is a Power Automate "When a Teams webhook request is
// received" trigger: 202 for a message with Adaptive Card attachments,
// 400 {"error":{"code","message"}} otherwise.
type fakeWorkflow struct{ recorder }

func newFakeWorkflow(t *testing.T) (*fakeWorkflow, *httptest.Server) {
	f := &fakeWorkflow{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeWorkflow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq, fail := f.record(r)
	if fail != 0 {
		w.WriteHeader(fail)
		return
	}
	bad := func(msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": "InvalidRequestContent", "message": msg}})
	}
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []any  `json:"body"`
			} `json:"content"`
		} `json:"attachments"`
	}
	switch {
	case r.Method != http.MethodPost || !isJSON(r.Header) || json.Unmarshal(rq.body, &msg) != nil:
		bad("The input body for trigger 'manual' of type 'Request' must be of type JSON.")
	case msg.Type != "message" || len(msg.Attachments) == 0:
		bad("The request body must be a message with attachments.")
	case msg.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || msg.Attachments[0].Content.Type != "AdaptiveCard" ||
		msg.Attachments[0].Content.Version == "" || len(msg.Attachments[0].Content.Body) == 0:
		bad("The attachment is not an Adaptive Card.")
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// hook is a webhook receiver answering the given statuses first, then
// 200.
type hook struct{ recorder }

func newHook(t *testing.T, fail ...int) (*hook, *httptest.Server) {
	h := &hook{recorder{fail: fail}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, fail := h.record(r); fail != 0 {
		w.WriteHeader(fail)
	}
}
