package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// teamsURL reads details.webhook_url.
func teamsURL(rc Recipient) (string, error) {
	s := detail(rc, "webhook_url")
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("details.webhook_url %q: not an http(s) URL", s)
	}
	return s, nil
}

// msTeams posts an Office 365 connector MessageCard; the connector
// answers 200 with the body "1".
func (n *Notifier) msTeams(rc Recipient, m Message) (attempt, error) {
	target, err := teamsURL(rc)
	if err != nil {
		return nil, err
	}
	color := strings.TrimPrefix(colorResolved, "#")
	if m.Triggered {
		color = strings.TrimPrefix(colorTriggered, "#")
	}
	card := map[string]any{
		"@type":      "MessageCard",
		"@context":   "https://schema.org/extensions",
		"summary":    m.Summary,
		"themeColor": color,
		"title":      m.Summary,
		"text":       orDash(m.Description),
		"sections": []any{map[string]any{"facts": []any{
			map[string]any{"name": "Alert", "value": m.Name},
			map[string]any{"name": "Environment", "value": m.Env},
		}}},
	}
	if m.URL != "" {
		card["potentialAction"] = []any{map[string]any{"@type": "OpenUri", "name": "View in " + n.cfg.Source,
			"targets": []any{map[string]any{"os": "default", "uri": m.URL}}}}
	}
	body, err := json.Marshal(card)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		resp, answer, err := n.post(ctx, target, "application/json", nil, body)
		if err != nil {
			return err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return httpStatusError(resp, answer, "the Teams connector")
		}
		if a := strings.TrimSpace(string(answer)); a != "1" {
			// The connector answers 200 with an error text when Teams
			// refused the message (e.g. throttled with HTTP 429).
			err := fmt.Errorf("the Teams connector answered %q, not 1", snippet(answer))
			if strings.Contains(a, "429") {
				return err
			}
			return permanent(err)
		}
		return nil
	}, nil
}

// msTeamsWorkflow posts a message with one Adaptive Card attachment to a
// Power Automate workflow's Teams webhook trigger, which answers 202.
func (n *Notifier) msTeamsWorkflow(rc Recipient, m Message) (attempt, error) {
	target, err := teamsURL(rc)
	if err != nil {
		return nil, err
	}
	color := "Good"
	if m.Triggered {
		color = "Attention"
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "text": m.Summary, "weight": "Bolder", "size": "Medium", "color": color, "wrap": true},
			map[string]any{"type": "TextBlock", "text": orDash(m.Description), "wrap": true},
			map[string]any{"type": "FactSet", "facts": []any{
				map[string]any{"title": "Alert", "value": m.Name},
				map[string]any{"title": "Environment", "value": m.Env},
			}},
		},
	}
	if m.URL != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "View in " + n.cfg.Source, "url": m.URL}}
	}
	body, err := json.Marshal(map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		resp, answer, err := n.post(ctx, target, "application/json", nil, body)
		if err != nil {
			return err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return httpStatusError(resp, answer, "the Teams workflow")
		}
		return nil
	}, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
