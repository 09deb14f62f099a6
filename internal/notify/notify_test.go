package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracecomb/tracecomb/internal/notify"
)

const (
	pdKey      = "0123456789abcdef0123456789abcdef"
	slackToken = "xoxb-1-2-secret"
)

// triggerPayload is a trigger's default webhook payload as alerting
// builds it.
type triggerPayload struct {
	Version      string `json:"version"`
	SharedSecret string `json:"shared_secret"`
	ID           string `json:"id"`
	Status       string `json:"status"`
	Summary      string `json:"summary"`
}

// message is a trigger firing in environment prod.
func message(triggered bool) notify.Message {
	status, summary := "OK", "Resolved: errors"
	if triggered {
		status, summary = "TRIGGERED", "Triggered: errors"
	}
	return notify.Message{
		Kind: notify.KindTrigger, Env: "prod", AlertID: "trg1", Triggered: triggered,
		Name: "errors", Summary: summary, Description: "Currently greater than threshold value (10) (value 15)",
		URL:     "http://ui.test/query?dataset=api",
		Payload: triggerPayload{Version: "v0.1.0", ID: "trg1", Status: status, Summary: summary},
		Vars: map[string]any{
			"Name": "errors", "ID": "trg1", "Environment": "prod", "Datasets": []string{"api"}, "Threshold": 10.0,
			"Alert":  map[string]any{"Status": status, "Summary": summary, "InstanceID": "trg1-1"},
			"Result": map[string]any{"URL": "http://ui.test/query?dataset=api"},
		},
	}
}

// notifier returns a Notifier with a 1 ms backoff and its counter
// registered.
func notifier(t *testing.T, cfg notify.Config) *notify.Notifier {
	t.Helper()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	cfg.Registerer = prometheus.NewRegistry()
	n, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func count(n *notify.Notifier, kind, typ, outcome string) float64 {
	return testutil.ToFloat64(n.Notifications().WithLabelValues(kind, typ, outcome))
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

// customHook is a webhook recipient with a trigger template using the
// template variable severity and a header.
func customHook(url string) map[string]any {
	return map[string]any{
		"webhook_name": "incidents", "webhook_url": url, "webhook_secret": "s3cret",
		"webhook_headers": []any{map[string]any{"header": "authorization", "value": "Bearer abc"}},
		"webhook_payloads": map[string]any{
			"payload_templates": map[string]any{"trigger": map[string]any{"body": `{"title": "[{{ .Environment }}] {{ .Name }}", ` +
				`"status": "{{ if eq .Alert.Status "TRIGGERED" }}firing{{ else }}resolved{{ end }}", "key": "{{ .Alert.InstanceID }}", ` +
				`"severity": "{{ .Vars.severity }}", "team": "{{ .Vars.team }}", "datasets": {{ toJson .Datasets }}}`}},
			"template_variables": []any{map[string]any{"name": "severity", "default_value": "critical"}, map[string]any{"name": "team", "default_value": "core"}},
		},
	}
}

// TestSend delivers one message to each kind of recipient and checks
// what the peer got, how often it was asked and the outcome counted.
func TestSend(t *testing.T) {
	type peer struct {
		requests func() []request
		url      string
	}
	tests := []struct {
		name     string
		typ      string
		cfg      func(p peer) notify.Config
		details  func(p peer) map[string]any
		msg      func() notify.Message
		fakeFail []int
		peer     string // webhook, slack, pagerduty, msteams, workflow
		outcome  string
		attempts int
		check    func(t *testing.T, reqs []request)
	}{
		{
			name: "webhook default payload", typ: "webhook", peer: "webhook", outcome: notify.OutcomeSent, attempts: 1,
			details: func(p peer) map[string]any {
				return map[string]any{"webhook_name": "h", "webhook_url": p.url, "webhook_secret": "s3cret"}
			},
			msg: func() notify.Message { return message(true) },
			check: func(t *testing.T, reqs []request) {
				r := reqs[0]
				p := decode(t, r.body)
				if r.method != http.MethodPost || r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Honeycomb-Webhook-Token") != "s3cret" ||
					len(r.header.Get("X-Honeycomb-Webhook-Delivery-Id")) != 32 {
					t.Errorf("request %s %v: want POST, JSON, the token and a delivery id", r.method, r.header)
				}
				if p["shared_secret"] != "s3cret" || p["status"] != "TRIGGERED" || p["id"] != "trg1" || p["version"] != "v0.1.0" {
					t.Errorf("payload %v: want Honeycomb's payload with the secret", p)
				}
			},
		},
		{
			name: "webhook retried with the same delivery id", typ: "webhook", peer: "webhook", outcome: notify.OutcomeSent, attempts: 3,
			fakeFail: []int{500, 503},
			details:  func(p peer) map[string]any { return map[string]any{"webhook_name": "h", "webhook_url": p.url} },
			msg:      func() notify.Message { return message(false) },
			check: func(t *testing.T, reqs []request) {
				id := reqs[0].header.Get("X-Honeycomb-Webhook-Delivery-Id")
				for _, r := range reqs {
					if got := r.header.Get("X-Honeycomb-Webhook-Delivery-Id"); got != id || got == "" {
						t.Errorf("delivery id %q, want %q on every attempt", got, id)
					}
					if r.header.Get("X-Honeycomb-Webhook-Token") != "" {
						t.Error("a webhook without a secret got a token header")
					}
				}
			},
		},
		{
			name: "webhook that always fails", typ: "webhook", peer: "webhook", outcome: notify.OutcomeFailed, attempts: 4,
			fakeFail: []int{502, 502, 502, 502, 502},
			details:  func(p peer) map[string]any { return map[string]any{"webhook_name": "h", "webhook_url": p.url} },
			msg:      func() notify.Message { return message(true) },
		},
		{
			name: "webhook 400 is not retried", typ: "webhook", peer: "webhook", outcome: notify.OutcomeFailed, attempts: 1,
			fakeFail: []int{400},
			details:  func(p peer) map[string]any { return map[string]any{"webhook_name": "h", "webhook_url": p.url} },
			msg:      func() notify.Message { return message(true) },
		},
		{
			name: "webhook custom template with variables and headers", typ: "webhook", peer: "webhook", outcome: notify.OutcomeSent, attempts: 1,
			details: func(p peer) map[string]any { return customHook(p.url) },
			msg: func() notify.Message {
				m := message(true)
				m.RecipientDetails = json.RawMessage(`{"variables":[{"name":"severity","value":"warning"},{"name":"unknown","value":"x"}]}`)
				return m
			},
			check: func(t *testing.T, reqs []request) {
				r := reqs[0]
				want := `{"title": "[prod] errors", "status": "firing", "key": "trg1-1", "severity": "warning", "team": "core", "datasets": ["api"]}`
				if string(r.body) != want {
					t.Errorf("body\n%s\nwant\n%s", r.body, want)
				}
				if r.header.Get("Authorization") != "Bearer abc" || r.header.Get("X-Honeycomb-Webhook-Token") != "s3cret" {
					t.Errorf("headers %v: want the custom Authorization and the token", r.header)
				}
			},
		},
		{
			name: "webhook without a template for the kind sends the default payload", typ: "webhook", peer: "webhook", outcome: notify.OutcomeSent, attempts: 1,
			details: func(p peer) map[string]any { return customHook(p.url) },
			msg: func() notify.Message {
				m := message(true)
				m.Kind = notify.KindBudgetRate
				m.Payload = map[string]any{"version": "v0.1.0", "name": "slo burn", "shared_secret": ""}
				return m
			},
			check: func(t *testing.T, reqs []request) {
				if p := decode(t, reqs[0].body); p["name"] != "slo burn" || p["shared_secret"] != "s3cret" {
					t.Errorf("payload %v: want the default payload with the secret", p)
				}
			},
		},
		{
			name: "webhook template that does not render to JSON", typ: "webhook", peer: "webhook", outcome: notify.OutcomeBadRecipient,
			details: func(p peer) map[string]any {
				return map[string]any{"webhook_name": "h", "webhook_url": p.url, "webhook_payloads": map[string]any{
					"payload_templates": map[string]any{"trigger": map[string]any{"body": `{"datasets": {{ .Datasets }}}`}}}}
			},
			msg: func() notify.Message { return message(true) },
		},
		{
			name: "webhook template naming a variable the alert lacks", typ: "webhook", peer: "webhook", outcome: notify.OutcomeBadRecipient,
			details: func(p peer) map[string]any {
				return map[string]any{"webhook_name": "h", "webhook_url": p.url, "webhook_payloads": map[string]any{
					"payload_templates": map[string]any{"trigger": map[string]any{"body": `{"x": "{{ .Vars.nope }}"}`}}}}
			},
			msg: func() notify.Message { return message(true) },
		},
		{
			name: "webhook template rendering more than 1 MiB", typ: "webhook", peer: "webhook", outcome: notify.OutcomeBadRecipient,
			details: func(p peer) map[string]any {
				return map[string]any{"webhook_name": "h", "webhook_url": p.url, "webhook_payloads": map[string]any{
					"payload_templates": map[string]any{"trigger": map[string]any{"body": `"{{ printf "%0999999d" 1 }}{{ printf "%0999999d" 2 }}"`}}}}
			},
			msg: func() notify.Message { return message(true) },
		},
		{
			name: "slack", typ: "slack", peer: "slack", outcome: notify.OutcomeSent, attempts: 1,
			cfg:     func(p peer) notify.Config { return notify.Config{SlackAPIURL: p.url, SlackToken: slackToken} },
			details: func(peer) map[string]any { return map[string]any{"slack_channel": "#alerts"} },
			msg:     func() notify.Message { return message(true) },
			check: func(t *testing.T, reqs []request) {
				m := decode(t, reqs[0].body)
				att, _ := m["attachments"].([]any)
				if m["channel"] != "#alerts" || m["text"] != "Triggered: errors" || len(att) != 1 {
					t.Fatalf("message %v: want channel, text and one attachment", m)
				}
				a := att[0].(map[string]any)
				if a["color"] != "#D63333" || a["title_link"] != "http://ui.test/query?dataset=api" || !strings.Contains(a["text"].(string), "threshold") {
					t.Errorf("attachment %v: want the red bar, the link and the description", a)
				}
			},
		},
		{
			name: "slack rate limited, then sent", typ: "slack", peer: "slack", outcome: notify.OutcomeSent, attempts: 2,
			fakeFail: []int{http.StatusTooManyRequests},
			cfg:      func(p peer) notify.Config { return notify.Config{SlackAPIURL: p.url, SlackToken: slackToken} },
			details:  func(peer) map[string]any { return map[string]any{"slack_channel": "alerts"} },
			msg:      func() notify.Message { return message(false) },
		},
		{
			name: "slack wrong token is not retried", typ: "slack", peer: "slack", outcome: notify.OutcomeFailed, attempts: 1,
			cfg:     func(p peer) notify.Config { return notify.Config{SlackAPIURL: p.url, SlackToken: "xoxb-wrong"} },
			details: func(peer) map[string]any { return map[string]any{"slack_channel": "alerts"} },
			msg:     func() notify.Message { return message(true) },
		},
		{
			name: "slack unknown channel is not retried", typ: "slack", peer: "slack", outcome: notify.OutcomeFailed, attempts: 1,
			cfg:     func(p peer) notify.Config { return notify.Config{SlackAPIURL: p.url, SlackToken: slackToken} },
			details: func(peer) map[string]any { return map[string]any{"slack_channel": "#random"} },
			msg:     func() notify.Message { return message(true) },
		},
		{
			name: "slack without a token", typ: "slack", peer: "slack", outcome: notify.OutcomeNotConfigured,
			cfg:     func(p peer) notify.Config { return notify.Config{SlackAPIURL: p.url} },
			details: func(peer) map[string]any { return map[string]any{"slack_channel": "alerts"} },
			msg:     func() notify.Message { return message(true) },
		},
		{
			name: "slack without a channel", typ: "slack", peer: "slack", outcome: notify.OutcomeBadRecipient,
			cfg:     func(p peer) notify.Config { return notify.Config{SlackAPIURL: p.url, SlackToken: slackToken} },
			details: func(peer) map[string]any { return map[string]any{} },
			msg:     func() notify.Message { return message(true) },
		},
		{
			name: "pagerduty trigger, severity critical by default", typ: "pagerduty", peer: "pagerduty", outcome: notify.OutcomeSent, attempts: 1,
			cfg: func(p peer) notify.Config { return notify.Config{PagerDutyURL: p.url + "/v2/enqueue"} },
			details: func(peer) map[string]any {
				return map[string]any{"pagerduty_integration_key": pdKey, "pagerduty_integration_name": "ops"}
			},
			msg: func() notify.Message { return message(true) },
			check: func(t *testing.T, reqs []request) {
				ev := decode(t, reqs[0].body)
				p, _ := ev["payload"].(map[string]any)
				if ev["event_action"] != "trigger" || ev["dedup_key"] != notify.DedupKey("prod", "trigger", "trg1") || ev["routing_key"] != pdKey {
					t.Errorf("event %v: want a trigger with the alert's dedup key", ev)
				}
				if p["severity"] != "critical" || p["summary"] != "Triggered: errors" || p["source"] != "tracecomb" {
					t.Errorf("payload %v: want critical, the summary and source tracecomb", p)
				}
			},
		},
		{
			name: "pagerduty resolve with the same dedup key", typ: "pagerduty", peer: "pagerduty", outcome: notify.OutcomeSent, attempts: 1,
			cfg:     func(p peer) notify.Config { return notify.Config{PagerDutyURL: p.url + "/v2/enqueue"} },
			details: func(peer) map[string]any { return map[string]any{"pagerduty_integration_key": pdKey} },
			msg:     func() notify.Message { return message(false) },
			check: func(t *testing.T, reqs []request) {
				ev := decode(t, reqs[0].body)
				if ev["event_action"] != "resolve" || ev["dedup_key"] != notify.DedupKey("prod", "trigger", "trg1") || ev["payload"] != nil {
					t.Errorf("event %v: want a resolve of the alert's dedup key", ev)
				}
			},
		},
		{
			name: "pagerduty severity from the trigger's recipient details, after a 429", typ: "pagerduty", peer: "pagerduty",
			outcome: notify.OutcomeSent, attempts: 2, fakeFail: []int{http.StatusTooManyRequests},
			cfg:     func(p peer) notify.Config { return notify.Config{PagerDutyURL: p.url + "/v2/enqueue"} },
			details: func(peer) map[string]any { return map[string]any{"pagerduty_integration_key": pdKey} },
			msg: func() notify.Message {
				m := message(true)
				m.RecipientDetails = json.RawMessage(`{"pagerduty_severity":"warning"}`)
				return m
			},
			check: func(t *testing.T, reqs []request) {
				if p := decode(t, reqs[1].body)["payload"].(map[string]any); p["severity"] != "warning" {
					t.Errorf("payload %v: want severity warning", p)
				}
			},
		},
		{
			name: "pagerduty unknown integration key is not retried", typ: "pagerduty", peer: "pagerduty", outcome: notify.OutcomeFailed, attempts: 1,
			cfg:     func(p peer) notify.Config { return notify.Config{PagerDutyURL: p.url + "/v2/enqueue"} },
			details: func(peer) map[string]any { return map[string]any{"pagerduty_integration_key": strings.Repeat("z", 32)} },
			msg:     func() notify.Message { return message(true) },
		},
		{
			name: "pagerduty integration key of the wrong length", typ: "pagerduty", peer: "pagerduty", outcome: notify.OutcomeBadRecipient,
			cfg:     func(p peer) notify.Config { return notify.Config{PagerDutyURL: p.url + "/v2/enqueue"} },
			details: func(peer) map[string]any { return map[string]any{"pagerduty_integration_key": pdKey[:31]} },
			msg:     func() notify.Message { return message(true) },
		},
		{
			name: "msteams MessageCard", typ: "msteams", peer: "msteams", outcome: notify.OutcomeSent, attempts: 1,
			details: func(p peer) map[string]any {
				return map[string]any{"webhook_name": "t", "webhook_url": p.url + "/webhookb2/x"}
			},
			msg: func() notify.Message { return message(true) },
			check: func(t *testing.T, reqs []request) {
				c := decode(t, reqs[0].body)
				acts, _ := c["potentialAction"].([]any)
				if c["@type"] != "MessageCard" || c["summary"] != "Triggered: errors" || c["themeColor"] != "D63333" || len(acts) != 1 {
					t.Errorf("card %v: want a red MessageCard with the summary and a link", c)
				}
			},
		},
		{
			name: "msteams connector refusing", typ: "msteams", peer: "msteams", outcome: notify.OutcomeFailed, attempts: 1,
			fakeFail: []int{http.StatusNotFound},
			details:  func(p peer) map[string]any { return map[string]any{"webhook_name": "t", "webhook_url": p.url} },
			msg:      func() notify.Message { return message(true) },
		},
		{
			name: "msteams_workflow Adaptive Card", typ: "msteams_workflow", peer: "workflow", outcome: notify.OutcomeSent, attempts: 1,
			details: func(p peer) map[string]any {
				return map[string]any{"webhook_name": "t", "webhook_url": p.url + "/workflows/x"}
			},
			msg: func() notify.Message { return message(false) },
			check: func(t *testing.T, reqs []request) {
				var m struct {
					Attachments []struct {
						Content struct {
							Body    []map[string]any `json:"body"`
							Actions []map[string]any `json:"actions"`
						} `json:"content"`
					} `json:"attachments"`
				}
				if err := json.Unmarshal(reqs[0].body, &m); err != nil || len(m.Attachments) != 1 {
					t.Fatalf("message %s: %v", reqs[0].body, err)
				}
				c := m.Attachments[0].Content
				if c.Body[0]["text"] != "Resolved: errors" || c.Body[0]["color"] != "Good" || c.Actions[0]["url"] != "http://ui.test/query?dataset=api" {
					t.Errorf("card %+v: want the summary in green and the link", c)
				}
			},
		},
		{
			name: "msteams_workflow throttled, then sent", typ: "msteams_workflow", peer: "workflow", outcome: notify.OutcomeSent, attempts: 2,
			fakeFail: []int{http.StatusServiceUnavailable},
			details:  func(p peer) map[string]any { return map[string]any{"webhook_name": "t", "webhook_url": p.url} },
			msg:      func() notify.Message { return message(true) },
		},
		{
			name: "unknown type", typ: "carrier_pigeon", peer: "webhook", outcome: notify.OutcomeBadRecipient,
			details: func(peer) map[string]any { return map[string]any{} },
			msg:     func() notify.Message { return message(true) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p peer
			switch tc.peer {
			case "webhook":
				h, srv := newHook(t, tc.fakeFail...)
				p = peer{h.requests, srv.URL}
			case "slack":
				f, srv := newFakeSlack(t, slackToken, "alerts")
				f.fail = tc.fakeFail
				p = peer{f.requests, srv.URL}
			case "pagerduty":
				f, srv := newFakePagerDuty(t, pdKey)
				f.fail = tc.fakeFail
				p = peer{f.requests, srv.URL}
			case "msteams":
				f, srv := newFakeTeams(t)
				f.fail = tc.fakeFail
				p = peer{f.requests, srv.URL}
			case "workflow":
				f, srv := newFakeWorkflow(t)
				f.fail = tc.fakeFail
				p = peer{f.requests, srv.URL}
			}
			var cfg notify.Config
			if tc.cfg != nil {
				cfg = tc.cfg(p)
			}
			n := notifier(t, cfg)
			m := tc.msg()
			n.Send(context.Background(), notify.Recipient{ID: "rc1", Type: tc.typ, Details: tc.details(p)}, m)
			n.Wait()
			reqs := p.requests()
			if len(reqs) != tc.attempts {
				t.Errorf("requests: %d, want %d", len(reqs), tc.attempts)
			}
			for _, o := range []string{notify.OutcomeSent, notify.OutcomeFailed, notify.OutcomeNotConfigured, notify.OutcomeBadRecipient} {
				want := 0.0
				if o == tc.outcome {
					want = 1
				}
				if got := count(n, m.Kind, tc.typ, o); got != want {
					t.Errorf("%s: %v, want %v", o, got, want)
				}
			}
			if tc.check != nil && len(reqs) >= tc.attempts && len(reqs) > 0 {
				tc.check(t, reqs)
			}
		})
	}
}

// TestSendEndsWithContext: a delivery waiting for its next attempt ends
// when the context given to Send ends, counted failed.
func TestSendEndsWithContext(t *testing.T) {
	h, srv := newHook(t, 500, 500)
	n := notifier(t, notify.Config{Backoff: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	n.Send(ctx, notify.Recipient{ID: "rc1", Type: "webhook", Details: map[string]any{"webhook_url": srv.URL}}, message(true))
	for len(h.requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	n.Wait()
	if got := count(n, notify.KindTrigger, "webhook", notify.OutcomeFailed); got != 1 {
		t.Errorf("failed: %v, want 1", got)
	}
	if got := len(h.requests()); got != 1 {
		t.Errorf("attempts: %d, want 1", got)
	}
}

// TestUndeliverable counts a notification to a recipient that no longer
// exists as bad_recipient.
func TestUndeliverable(t *testing.T) {
	n := notifier(t, notify.Config{})
	n.Undeliverable(message(true), notify.Recipient{ID: "gone", Type: "email"}, context.Canceled)
	if got := count(n, notify.KindTrigger, "email", notify.OutcomeBadRecipient); got != 1 {
		t.Errorf("bad_recipient: %v, want 1", got)
	}
}

// TestNewRefuses bad settings.
func TestNewRefuses(t *testing.T) {
	for _, cfg := range []notify.Config{
		{SlackAPIURL: "slack.com/api"},
		{PagerDutyURL: "ftp://events.pagerduty.com"},
		{SMTP: notify.SMTPConfig{Addr: "mail.example.com"}},
		{SMTP: notify.SMTPConfig{Addr: "mail.example.com:25", From: "not an address"}},
	} {
		if _, err := notify.New(cfg); err == nil {
			t.Errorf("New(%+v): nil error", cfg)
		}
	}
}

// TestCheckTemplates: the custom parts of a webhook recipient are
// checked, the error naming the field.
func TestCheckTemplates(t *testing.T) {
	payloads := func(templates map[string]any, vars ...any) map[string]any {
		return map[string]any{"webhook_url": "http://h.test", "webhook_payloads": map[string]any{"payload_templates": templates, "template_variables": vars}}
	}
	tests := []struct {
		name    string
		details map[string]any
		wantErr string
	}{
		{"no custom parts", map[string]any{"webhook_url": "http://h.test"}, ""},
		{"every kind", payloads(map[string]any{
			"trigger":         map[string]any{"body": `{"a": "{{ .Name }}"}`},
			"exhaustion_time": map[string]any{"body": `{"b": {{ toJson .Alert }}}`},
			"budget_rate":     map[string]any{"body": `{"c": "{{ if .Vars.x }}y{{ end }}"}`},
		}, map[string]any{"name": "x", "default_value": "1"}), ""},
		{"range over a value", payloads(map[string]any{"trigger": map[string]any{"body": `[{{ range $i, $d := .Datasets }}{{ if $i }},{{ end }}"{{ $d }}"{{ end }}]`}}), ""},
		{"range over a number", payloads(map[string]any{"trigger": map[string]any{"body": `{{ if true }}{{ range 1000000000 }}x{{ end }}{{ end }}`}}),
			"details.webhook_payloads.payload_templates.trigger.body: line 1: range over a number is not allowed"},
		{"headers", map[string]any{"webhook_headers": []any{map[string]any{"header": "X-Api-Key", "value": "k"}}}, ""},
		{"template that does not parse", payloads(map[string]any{"trigger": map[string]any{"body": `{"a": "{{ .Name`}}),
			"details.webhook_payloads.payload_templates.trigger.body: template: trigger:1: unclosed action"},
		{"unknown function", payloads(map[string]any{"budget_rate": map[string]any{"body": `{{ toYaml . }}`}}),
			"details.webhook_payloads.payload_templates.budget_rate.body: template: budget_rate:1: function \"toYaml\" not defined"},
		{"unknown kind", payloads(map[string]any{"marker": map[string]any{"body": `{}`}}),
			"details.webhook_payloads.payload_templates.marker: no alert kind"},
		{"empty body", payloads(map[string]any{"trigger": map[string]any{"body": " "}}),
			"details.webhook_payloads.payload_templates.trigger.body: is required"},
		{"variable without a name", payloads(nil, map[string]any{"default_value": "1"}),
			"details.webhook_payloads.template_variables[0].name: is required"},
		{"variable twice", payloads(nil, map[string]any{"name": "a"}, map[string]any{"name": "a"}),
			"details.webhook_payloads.template_variables[1].name: \"a\" is defined twice"},
		{"header name", map[string]any{"webhook_headers": []any{map[string]any{"header": "Bad Header", "value": "v"}}},
			"details.webhook_headers[0].header: \"Bad Header\" is not a header name"},
		{"reserved header", map[string]any{"webhook_headers": []any{map[string]any{"header": "content-length", "value": "1"}}},
			"details.webhook_headers[0].header: Content-Length is set by the delivery itself"},
		{"header value", map[string]any{"webhook_headers": []any{map[string]any{"header": "X-A", "value": "a\r\nX-B: b"}}},
			"details.webhook_headers[0].value: not a valid header value"},
		{"headers of the wrong type", map[string]any{"webhook_headers": "Authorization: x"},
			"details.webhook_headers: must be an array"},
		{"body of the wrong type", payloads(map[string]any{"trigger": map[string]any{"body": 3}}),
			"details.webhook_payloads.payload_templates.body: must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.CheckTemplates(tc.details)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one starting %q", err, tc.wantErr)
			case err != nil:
				var de *notify.DetailError
				if !errors.As(err, &de) || !strings.HasPrefix(tc.wantErr, de.Field+": ") {
					t.Errorf("error %#v: want a DetailError of the field %q names", err, tc.wantErr)
				}
			}
		})
	}
}

// TestFakesRefuse: each fake peer refuses what its real service refuses,
// with the real service's status and body shape.
func TestFakesRefuse(t *testing.T) {
	_, slack := newFakeSlack(t, slackToken, "alerts")
	_, pd := newFakePagerDuty(t, pdKey)
	_, teams := newFakeTeams(t)
	_, wf := newFakeWorkflow(t)
	tests := []struct {
		name, url, auth, contentType, body string
		wantCode                           int
		wantBody                           string
	}{
		{"slack without a token", slack.URL + "/chat.postMessage", "", "application/json", `{"channel":"alerts","text":"x"}`, 200, `"error":"not_authed"`},
		{"slack wrong token", slack.URL + "/chat.postMessage", "Bearer nope", "application/json", `{"channel":"alerts","text":"x"}`, 200, `"error":"invalid_auth"`},
		{"slack no text", slack.URL + "/chat.postMessage", "Bearer " + slackToken, "application/json", `{"channel":"alerts"}`, 200, `"error":"no_text"`},
		{"slack fine", slack.URL + "/chat.postMessage", "Bearer " + slackToken, "application/json", `{"channel":"C01","text":"x"}`, 200, `"ok":true`},
		{"pagerduty short key", pd.URL + "/v2/enqueue", "", "application/json",
			`{"routing_key":"abc","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"critical"}}`, 400, `should be 32 characters`},
		{"pagerduty no summary", pd.URL + "/v2/enqueue", "", "application/json",
			`{"routing_key":"` + pdKey + `","event_action":"trigger","payload":{"source":"x","severity":"critical"}}`, 400, `'payload.summary' is missing`},
		{"pagerduty bad severity", pd.URL + "/v2/enqueue", "", "application/json",
			`{"routing_key":"` + pdKey + `","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"high"}}`, 400, `'payload.severity'`},
		{"pagerduty form body", pd.URL + "/v2/enqueue", "", "application/x-www-form-urlencoded", `routing_key=x`, 400, `"status":"invalid event"`},
		{"pagerduty fine", pd.URL + "/v2/enqueue", "", "application/json",
			`{"routing_key":"` + pdKey + `","event_action":"resolve","dedup_key":"k"}`, 202, `"status":"success"`},
		{"teams without summary or text", teams.URL, "", "application/json", `{"@type":"MessageCard","title":"t"}`, 400, "Summary or Text is required."},
		{"teams fine", teams.URL, "", "application/json", `{"text":"t"}`, 200, "1"},
		{"workflow MessageCard", wf.URL, "", "application/json", `{"@type":"MessageCard","text":"t"}`, 400, `"code":"InvalidRequestContent"`},
		{"workflow text body", wf.URL, "", "text/plain", `hello`, 400, `"code":"InvalidRequestContent"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tc.url, bytes.NewReader([]byte(tc.body)))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			if resp.StatusCode != tc.wantCode || !strings.Contains(b.String(), tc.wantBody) {
				t.Errorf("%d %s, want %d with %s", resp.StatusCode, b.String(), tc.wantCode, tc.wantBody)
			}
		})
	}
}
