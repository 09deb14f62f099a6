// Package notify owns the delivery of alert notifications (trigger and
// SLO burn alerts) to every Honeycomb recipient type, each in its real
// service's wire format:
//
//   - webhook: Honeycomb's default payload for the alert kind, POSTed as
//     JSON with the recipient's webhook_secret in X-Honeycomb-Webhook-Token
//     (and in the payload's shared_secret field when it has one), and a
//     X-Honeycomb-Webhook-Delivery-ID that stays the same across the
//     retries of one delivery; or, when the recipient has a payload
//     template for the kind (details.webhook_payloads.payload_templates.
//     {trigger,exhaustion_time,budget_rate}.body), that template rendered
//     with Go's text/template over Message.Vars, .Vars being the
//     recipient's template_variables (name, default_value) overridden by
//     the alert's recipient details (variables: name, value), plus the
//     recipient's webhook_headers (header, value). Templates may call
//     toJson, may not range over a number literal, and must render JSON
//     of at most 1 MiB. https://docs.honeycomb.io/notify/webhooks,
//     https://docs.honeycomb.io/integrations/webhooks/variables,
//     https://docs.honeycomb.io/api/tag/Recipients.
//   - email: a MIME text/plain message (subject: the summary) over SMTP to
//     Config.SMTP.Addr: implicit TLS on port 465, else STARTTLS when the
//     server offers it; PLAIN authentication only over TLS or to a
//     loopback server (net/smtp's rule).
//   - slack: Slack's Web API chat.postMessage with the bot token as Bearer
//     to details.slack_channel; Slack answers HTTP 200 {"ok":false,
//     "error":…} for failures. https://api.slack.com/methods/chat.postMessage.
//   - pagerduty: PagerDuty Events API v2 (trigger, or resolve when the
//     alert resolves), dedup_key stable per environment, alert kind and
//     alert id, severity from the alert's recipient details
//     pagerduty_severity (critical by default, as Honeycomb).
//     https://github.com/PagerDuty/developer-docs/blob/main/docs/events-API-v2/02-Trigger-Events.md.
//   - msteams: an Office 365 connector MessageCard to details.webhook_url
//     (the connector answers "1").
//     https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using.
//   - msteams_workflow: a Power Automate "When a Teams webhook request is
//     received" message with one Adaptive Card attachment to
//     details.webhook_url (Workflows take Adaptive Cards only, the same
//     page).
//
// Send checks the recipient and builds the request at once, then delivers
// in the background: a failed attempt is tried again Retries times after
// Backoff, doubling each time (waiting at least the Retry-After the peer
// asked for, up to 5 minutes), unless the failure is permanent: the peer
// refused the request itself (an HTTP 4xx other than 408, 425 and 429;
// a Slack error other than ratelimited and Slack's own failures; an SMTP
// 5xx reply). A delivery ends early when the context given to Send ends.
// Every notification is counted once in
// tracecomb_notifications_total{kind,type,outcome}, outcome being sent,
// failed (after every attempt), not_configured (the type needs a server
// setting that is not set: --smtp-addr, --slack-token) or bad_recipient
// (the recipient's details cannot be delivered to, e.g. a payload template
// that does not render).
package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Alert kinds: Honeycomb's names of the payload templates.
const (
	KindTrigger        = "trigger"
	KindExhaustionTime = "exhaustion_time"
	KindBudgetRate     = "budget_rate"
)

// Outcomes of a notification in tracecomb_notifications_total.
const (
	OutcomeSent          = "sent"
	OutcomeFailed        = "failed"
	OutcomeNotConfigured = "not_configured"
	OutcomeBadRecipient  = "bad_recipient"
)

// Recipient is a recipient of the Recipients API: its id, type (email,
// webhook, slack, pagerduty, msteams, msteams_workflow) and details as
// stored.
type Recipient struct {
	ID, Type string
	Details  map[string]any
}

// Message is one notification of an alert.
type Message struct {
	// Kind is KindTrigger, KindExhaustionTime or KindBudgetRate.
	Kind string
	// Env is the environment's slug (logs, PagerDuty's dedup key).
	Env string
	// AlertID is the trigger's or burn alert's id.
	AlertID string
	// Triggered is false when the alert resolves.
	Triggered bool
	// The words of email, Slack, PagerDuty and Teams messages: the
	// alert's name, a one-line summary ("Triggered: errors"), what
	// happened, and a link to see it (may be empty).
	Name, Summary, Description, URL string
	// Payload is Honeycomb's default webhook body for Kind, encoded with
	// encoding/json. When it encodes to an object with a shared_secret
	// field, that field is set to the recipient's webhook_secret.
	Payload any
	// Vars is what a custom webhook template of Kind sees (Honeycomb's
	// template variables: .Name, .Alert.Status, .Result.URL, …); Send adds
	// .Vars, the recipient's template variables.
	Vars map[string]any
	// RecipientDetails are the details the trigger or burn alert gave
	// this recipient: pagerduty_severity, variables ([{name, value}]).
	RecipientDetails json.RawMessage
}

// SMTPConfig is the mail server email recipients are sent through.
type SMTPConfig struct {
	// Addr is host:port; empty: email recipients are not configured.
	Addr string
	// From is the sender address; default tracecomb@<the host's name>.
	From string
	// Username and Password, when Username is set, authenticate with
	// PLAIN, refused unless the connection is TLS or to a loopback host.
	Username, Password string
	// TLSConfig verifies the server's certificate (STARTTLS and port
	// 465); nil: the system's roots. ServerName defaults to Addr's host.
	TLSConfig *tls.Config
	// HelloName is the name given in EHLO; default the host's name.
	HelloName string
}

// Config are the Notifier's settings; zero values take the defaults.
type Config struct {
	// Client makes the HTTP requests; default a client with a 10 s
	// timeout (Honeycomb gives a webhook 10 s to answer).
	Client *http.Client
	Logger *slog.Logger
	// Retries is how many times a failed delivery is tried again (default
	// 3; negative: never), after Backoff (default 2 s), doubling.
	Retries int
	Backoff time.Duration
	SMTP    SMTPConfig
	// SlackAPIURL is the base of Slack's Web API, default
	// https://slack.com/api; SlackToken the bot token (xoxb-…), empty:
	// Slack recipients are not configured.
	SlackAPIURL, SlackToken string
	// PagerDutyURL is the Events API v2 endpoint, default
	// https://events.pagerduty.com/v2/enqueue.
	PagerDutyURL string
	// Source is PagerDuty's payload.source and the sender name of
	// messages; default "tracecomb".
	Source string
	// Registerer receives tracecomb_notifications_total; nil registers
	// nothing.
	Registerer prometheus.Registerer
}

// Notifier delivers notifications; its methods may be called at once
// from several goroutines.
type Notifier struct {
	cfg     Config
	counter *prometheus.CounterVec
	wg      sync.WaitGroup
}

// New checks cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.SlackAPIURL == "" {
		cfg.SlackAPIURL = "https://slack.com/api"
	}
	if cfg.PagerDutyURL == "" {
		cfg.PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"
	}
	if cfg.Source == "" {
		cfg.Source = "tracecomb"
	}
	var errs []error
	for _, u := range []struct{ name, v string }{{"Slack API URL", cfg.SlackAPIURL}, {"PagerDuty URL", cfg.PagerDutyURL}} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("notify: the %s %q is not an http(s) URL", u.name, u.v))
		}
	}
	if cfg.SMTP.Addr != "" {
		host, port, err := net.SplitHostPort(cfg.SMTP.Addr)
		if err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("notify: the SMTP address %q is not host:port", cfg.SMTP.Addr))
		}
		if cfg.SMTP.From == "" {
			cfg.SMTP.From = "tracecomb@" + hostname()
		}
		if a, err := mail.ParseAddress(cfg.SMTP.From); err != nil {
			errs = append(errs, fmt.Errorf("notify: the SMTP sender %q is not an email address", cfg.SMTP.From))
		} else {
			cfg.SMTP.From = a.Address
		}
		if cfg.SMTP.HelloName == "" {
			cfg.SMTP.HelloName = hostname()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := &Notifier{cfg: cfg}
	n.counter = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tracecomb_notifications_total",
		Help: "Alert notifications by alert kind, recipient type and outcome: sent, failed (after every retry), not_configured (no server set for the type), bad_recipient (the recipient's details cannot be delivered to).",
	}, []string{"kind", "type", "outcome"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(n.counter); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Notifications is tracecomb_notifications_total{kind,type,outcome}.
func (n *Notifier) Notifications() *prometheus.CounterVec { return n.counter }

// Wait waits for the deliveries in flight.
func (n *Notifier) Wait() { n.wg.Wait() }

// Undeliverable counts and logs a notification of m that cannot be sent
// to rc (e.g. its recipient no longer exists) as bad_recipient.
func (n *Notifier) Undeliverable(m Message, rc Recipient, err error) {
	n.counter.WithLabelValues(m.Kind, rc.Type, OutcomeBadRecipient).Inc()
	n.log(m, rc).Warn("notification not delivered: bad recipient", "err", err)
}

func (n *Notifier) log(m Message, rc Recipient) *slog.Logger {
	return n.cfg.Logger.With("env", m.Env, "kind", m.Kind, "alert", m.AlertID, "recipient", rc.ID, "type", rc.Type, "triggered", m.Triggered)
}

// attempt is one try of a delivery.
type attempt func(ctx context.Context) error

// Send delivers m to rc in the background (Wait waits for it); see the
// package comment. A recipient that cannot be delivered to, or whose type
// has no server configured, is counted and logged at once.
func (n *Notifier) Send(ctx context.Context, rc Recipient, m Message) {
	try, err := n.prepare(rc, m)
	if err != nil {
		outcome := OutcomeBadRecipient
		if errors.Is(err, errNotConfigured) {
			outcome = OutcomeNotConfigured
		}
		n.counter.WithLabelValues(m.Kind, rc.Type, outcome).Inc()
		n.log(m, rc).Warn("notification not delivered: "+outcome, "err", err)
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		err := n.retry(ctx, try)
		outcome := OutcomeSent
		if err != nil {
			outcome = OutcomeFailed
			n.log(m, rc).Warn("notification delivery failed", "err", err)
		}
		n.counter.WithLabelValues(m.Kind, rc.Type, outcome).Inc()
	}()
}

// errNotConfigured marks a type whose server setting is missing.
var errNotConfigured = errors.New("not configured")

func (n *Notifier) prepare(rc Recipient, m Message) (attempt, error) {
	switch rc.Type {
	case "webhook":
		return n.webhook(rc, m)
	case "email":
		return n.email(rc, m)
	case "slack":
		return n.slack(rc, m)
	case "pagerduty":
		return n.pagerDuty(rc, m)
	case "msteams":
		return n.msTeams(rc, m)
	case "msteams_workflow":
		return n.msTeamsWorkflow(rc, m)
	}
	return nil, fmt.Errorf("no recipient type %q", rc.Type)
}

// permanentError is a failure that trying again cannot mend.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// retryAfterError is a failure whose peer asked to wait before trying
// again.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e retryAfterError) Error() string { return e.err.Error() }
func (e retryAfterError) Unwrap() error { return e.err }

// maxRetryAfter bounds the wait a peer may ask for.
const maxRetryAfter = 5 * time.Minute

// retry runs try until it succeeds, fails permanently, has been tried
// 1 + Retries times, or ctx ends.
func (n *Notifier) retry(ctx context.Context, try attempt) error {
	wait := n.cfg.Backoff
	for i := 0; ; i++ {
		err := try(ctx)
		if err == nil {
			return nil
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return fmt.Errorf("attempt %d, not retried: %w", i+1, err)
		}
		if i >= n.cfg.Retries {
			return fmt.Errorf("after %d attempts: %w", i+1, err)
		}
		d := wait
		var ra retryAfterError
		if errors.As(err, &ra) && ra.after > d {
			d = min(ra.after, maxRetryAfter)
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("after %d attempts, stopped (%v): %w", i+1, ctx.Err(), err)
		case <-timer.C:
		}
		wait *= 2
	}
}

// httpStatusError classifies a non-2xx answer: 408, 425, 429 and 5xx may
// be tried again (after Retry-After), any other is permanent.
func httpStatusError(resp *http.Response, body []byte, who string) error {
	err := fmt.Errorf("%s answered %s: %s", who, resp.Status, snippet(body))
	switch c := resp.StatusCode; {
	case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c == http.StatusTooEarly || c >= 500:
		return retryAfterError{err, retryAfter(resp)}
	default:
		return permanent(err)
	}
}

// retryAfter reads a Retry-After of seconds; 0 without one.
func retryAfter(resp *http.Response) time.Duration {
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// snippet is the start of a peer's answer for an error message.
func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// newID returns a random hex id of n bytes.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// detail returns a string detail of rc, or "".
func detail(rc Recipient, key string) string {
	s, _ := rc.Details[key].(string)
	return s
}
