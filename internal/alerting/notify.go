package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// Payload is Honeycomb's trigger webhook payload (its default template's
// fields). SharedSecret is the recipient's webhook_secret.
type Payload struct {
	Version            string `json:"version"`
	SharedSecret       string `json:"shared_secret"`
	ID                 string `json:"id"`
	Name               string `json:"name"`
	TriggerDescription string `json:"trigger_description"`
	// TriggerURL links to the trigger in the UI; tracecomb's UI has no
	// trigger page, so it is empty.
	TriggerURL  string `json:"trigger_url"`
	Status      string `json:"status"` // TRIGGERED or OK
	Summary     string `json:"summary"`
	Description string `json:"description"`
	// Operator is the threshold's op in words ("greater than").
	Operator              string  `json:"operator"`
	Threshold             float64 `json:"threshold"`
	ResultURL             string  `json:"result_url"`
	ResultGroups          []Group `json:"result_groups"`
	ResultGroupsTriggered []Group `json:"result_groups_triggered"`
	IsTest                bool    `json:"is_test"`
}

// Statuses of a notification.
const (
	StatusTriggered = "TRIGGERED"
	StatusOK        = "OK"
)

// operators are the thresholds' ops in Honeycomb's words.
var operators = map[string]string{">": "greater than", ">=": "greater than or equal to", "<": "less than", "<=": "less than or equal to"}

func payload(t apiquery.Trigger, triggered bool, groups, fired []Group, resultURL string) Payload {
	op := operators[t.Threshold.Op]
	p := Payload{Version: "v0.1.0", ID: t.ID, Name: t.Name, TriggerDescription: t.Description,
		Status: StatusOK, Summary: "Resolved: " + t.Name, Operator: op, Threshold: t.Threshold.Value,
		Description: fmt.Sprintf("No longer %s threshold value (%s)", op, num(t.Threshold.Value)),
		ResultURL:   resultURL, ResultGroups: groups, ResultGroupsTriggered: fired}
	if triggered {
		p.Status, p.Summary = StatusTriggered, "Triggered: "+t.Name
		p.Description = fmt.Sprintf("Currently %s threshold value (%s)", op, num(t.Threshold.Value))
		if len(fired) > 0 {
			g := fired[0]
			var keys []string
			for k, v := range g.Group {
				keys = append(keys, fmt.Sprintf("%s:%v", k, v))
			}
			sort.Strings(keys)
			if len(keys) > 0 {
				p.Description += " for " + strings.Join(keys, ", ")
			}
			p.Description += " (value " + num(g.Result) + ")"
		}
	}
	return p
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// notify sends p to each of the trigger's recipients; webhooks are
// posted in the background.
func (e *Evaluator) notify(ctx context.Context, st apiquery.StoredTrigger, p Payload) {
	for _, ref := range st.Trigger.Recipients {
		rc, err := apiquery.GetRecipient(ctx, e.state, st.Env, ref.ID)
		if err != nil {
			if errors.Is(err, state.ErrNotFound) {
				e.sent.WithLabelValues(ref.Type, "no_recipient").Inc()
			}
			e.cfg.Logger.Warn("trigger notification not delivered: reading its recipient failed", "env", st.Env, "trigger", st.Trigger.ID, "recipient", ref.ID, "err", err)
			continue
		}
		if rc.Type != "webhook" {
			e.sent.WithLabelValues(rc.Type, "not_delivered").Inc()
			e.cfg.Logger.Warn("not delivered: no sender for "+rc.Type+" yet", "env", st.Env, "trigger", st.Trigger.ID, "recipient", rc.ID, "status", p.Status)
			continue
		}
		urlStr, _ := rc.Details["webhook_url"].(string)
		secret, _ := rc.Details["webhook_secret"].(string)
		rp := p
		rp.SharedSecret = secret
		body, err := json.Marshal(rp)
		if err != nil {
			e.cfg.Logger.Error("encoding a webhook payload failed", "err", err)
			continue
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			err := e.deliver(ctx, urlStr, secret, body)
			outcome := "sent"
			if err != nil {
				outcome = "failed"
				e.cfg.Logger.Warn("webhook delivery failed", "env", st.Env, "trigger", st.Trigger.ID, "recipient", rc.ID, "status", p.Status, "err", err)
			}
			e.sent.WithLabelValues("webhook", outcome).Inc()
		}()
	}
}

// deliver posts body, trying again after a non-2xx answer or a network
// error Retries times with doubling backoff.
func (e *Evaluator) deliver(ctx context.Context, urlStr, secret string, body []byte) error {
	wait := e.cfg.Backoff
	var err error
	for attempt := 0; ; attempt++ {
		if err = e.post(ctx, urlStr, secret, body); err == nil {
			return nil
		}
		if attempt >= e.cfg.Retries {
			return fmt.Errorf("after %d attempts: %w", attempt+1, err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
		wait *= 2
	}
}

func (e *Evaluator) post(ctx context.Context, urlStr, secret string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, urlStr, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tracecomb-triggers")
	if secret != "" {
		req.Header.Set("X-Honeycomb-Webhook-Token", secret)
	}
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}
