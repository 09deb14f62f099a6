package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// slackRetryable are chat.postMessage errors that may pass on a later
// attempt; every other error (channel_not_found, not_in_channel,
// invalid_auth, is_archived, …) is permanent.
var slackRetryable = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// Colours of the message's attachment bar.
const (
	colorTriggered = "#D63333"
	colorResolved  = "#2EB67D"
)

func (n *Notifier) slack(rc Recipient, m Message) (attempt, error) {
	channel := strings.TrimSpace(detail(rc, "slack_channel"))
	if channel == "" {
		return nil, fmt.Errorf("details.slack_channel: is required")
	}
	if n.cfg.SlackToken == "" {
		return nil, fmt.Errorf("slack: no bot token (--slack-token): %w", errNotConfigured)
	}
	color := colorResolved
	if m.Triggered {
		color = colorTriggered
	}
	att := map[string]any{
		"color":    color,
		"fallback": m.Summary,
		"title":    m.Summary,
		"text":     m.Description,
		"fields":   []map[string]any{{"title": "Environment", "value": m.Env, "short": true}, {"title": "Alert", "value": m.Name, "short": true}},
	}
	if m.URL != "" {
		att["title_link"] = m.URL
	}
	body, err := json.Marshal(map[string]any{
		"channel":     channel,
		"text":        m.Summary,
		"attachments": []any{att},
	})
	if err != nil {
		return nil, err
	}
	endpoint := strings.TrimRight(n.cfg.SlackAPIURL, "/") + "/chat.postMessage"
	h := http.Header{"Authorization": {"Bearer " + n.cfg.SlackToken}}
	return func(ctx context.Context) error {
		resp, answer, err := n.post(ctx, endpoint, "application/json; charset=utf-8", h, body)
		if err != nil {
			return err
		}
		var r struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		decodeErr := json.Unmarshal(answer, &r)
		if resp.StatusCode != http.StatusOK {
			return httpStatusError(resp, answer, "Slack")
		}
		switch {
		case decodeErr != nil:
			return fmt.Errorf("slack answered 200 without its JSON: %s", snippet(answer))
		case r.OK:
			return nil
		case slackRetryable[r.Error]:
			return retryAfterError{fmt.Errorf("slack chat.postMessage: %s", r.Error), retryAfter(resp)}
		default:
			return permanent(fmt.Errorf("slack chat.postMessage: %s", r.Error))
		}
	}, nil
}
