package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// pagerDutySeverities are the Events API v2 severities; Honeycomb's
// default is critical.
var pagerDutySeverities = map[string]bool{"critical": true, "error": true, "warning": true, "info": true}

// pagerDutyEvent is an Events API v2 event.
type pagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *pagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
	ClientURL   string            `json:"client_url,omitempty"`
	Links       []pagerDutyLink   `json:"links,omitempty"`
}

type pagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

type pagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// DedupKey is the PagerDuty dedup_key of an alert: the same for its
// trigger and resolve events.
func DedupKey(env, kind, alertID string) string {
	return "tracecomb/" + env + "/" + kind + "/" + alertID
}

func (n *Notifier) pagerDuty(rc Recipient, m Message) (attempt, error) {
	key := strings.TrimSpace(detail(rc, "pagerduty_integration_key"))
	if len(key) != 32 {
		return nil, fmt.Errorf("details.pagerduty_integration_key: must be 32 characters")
	}
	severity := "critical"
	if len(m.RecipientDetails) > 0 {
		var d struct {
			Severity string `json:"pagerduty_severity"`
		}
		if err := json.Unmarshal(m.RecipientDetails, &d); err != nil {
			return nil, fmt.Errorf("the alert's recipient details: %w", err)
		}
		if d.Severity != "" {
			if !pagerDutySeverities[d.Severity] {
				return nil, fmt.Errorf("pagerduty_severity %q: must be critical, error, warning or info", d.Severity)
			}
			severity = d.Severity
		}
	}
	ev := pagerDutyEvent{RoutingKey: key, EventAction: "resolve", DedupKey: DedupKey(m.Env, m.Kind, m.AlertID)}
	if m.Triggered {
		summary := m.Summary
		if len(summary) > 1024 { // the Events API's limit
			summary = summary[:1021] + "..."
		}
		ev.EventAction = "trigger"
		ev.Payload = &pagerDutyPayload{Summary: summary, Source: n.cfg.Source, Severity: severity, Group: m.Env, Class: m.Kind,
			CustomDetails: map[string]any{"name": m.Name, "description": m.Description, "environment": m.Env, "alert_id": m.AlertID}}
		ev.Client = n.cfg.Source
		if m.URL != "" {
			ev.ClientURL = m.URL
			ev.Links = []pagerDutyLink{{Href: m.URL, Text: m.Name}}
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		resp, answer, err := n.post(ctx, n.cfg.PagerDutyURL, "application/json", nil, body)
		if err != nil {
			return err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			if resp.StatusCode == http.StatusBadRequest {
				var r struct {
					Message string   `json:"message"`
					Errors  []string `json:"errors"`
				}
				if json.Unmarshal(answer, &r) == nil && r.Message != "" {
					return permanent(fmt.Errorf("pagerDuty refused the event: %s: %s", r.Message, strings.Join(r.Errors, "; ")))
				}
			}
			return httpStatusError(resp, answer, "PagerDuty")
		}
		return nil
	}, nil
}
