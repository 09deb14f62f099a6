package alerting

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/notify"
	"github.com/tracecomb/tracecomb/internal/state"
)

// Payload is Honeycomb's trigger webhook payload (its default template's
// fields). SharedSecret is the recipient's webhook_secret, set by
// internal/notify for each webhook recipient.
type Payload struct {
	Version            string `json:"version"`
	SharedSecret       string `json:"shared_secret"`
	ID                 string `json:"id"`
	Name               string `json:"name"`
	TriggerDescription string `json:"trigger_description"`
	// TriggerURL links to the triggers of the trigger's dataset in the UI.
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

func payload(t apiquery.Trigger, triggered bool, groups, fired []Group, resultURL, triggerURL string) Payload {
	op := operators[t.Threshold.Op]
	p := Payload{Version: "v0.1.0", ID: t.ID, Name: t.Name, TriggerDescription: t.Description,
		Status: StatusOK, Summary: "Resolved: " + t.Name, Operator: op, Threshold: t.Threshold.Value,
		Description: fmt.Sprintf("No longer %s threshold value (%s)", op, num(t.Threshold.Value)),
		ResultURL:   resultURL, TriggerURL: triggerURL, ResultGroups: groups, ResultGroupsTriggered: fired}
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

// templateGroups are result groups as a custom webhook template sees
// them (.Result.Groups[0].Group.Key, .Group.Value, .Result): Key names
// the breakdown column, Value is its value; with several breakdowns Key
// joins their names and Value their values with ", ".
func templateGroups(gs []Group) []map[string]any {
	out := make([]map[string]any, 0, len(gs))
	for _, g := range gs {
		keys := make([]string, 0, len(g.Group))
		for k := range g.Group {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var value any
		switch len(keys) {
		case 0:
		case 1:
			value = g.Group[keys[0]]
		default:
			vals := make([]string, len(keys))
			for i, k := range keys {
				vals[i] = fmt.Sprint(g.Group[k])
			}
			value = strings.Join(vals, ", ")
		}
		out = append(out, map[string]any{"Group": map[string]any{"Key": strings.Join(keys, ", "), "Value": value}, "Result": g.Result})
	}
	return out
}

// message is the notification of trigger st's evaluation: Honeycomb's
// webhook payload and the variables of a custom trigger template
// (https://docs.honeycomb.io/integrations/webhooks/variables).
func message(st apiquery.StoredTrigger, triggered bool, groups, fired []Group, resultURL, triggerURL string) notify.Message {
	t := st.Trigger
	p := payload(t, triggered, groups, fired, resultURL, triggerURL)
	return notify.Message{
		Kind: notify.KindTrigger, Env: st.Env, AlertID: t.ID, Triggered: triggered,
		Name: t.Name, Summary: p.Summary, Description: p.Description, URL: resultURL,
		Payload: p,
		Vars: map[string]any{
			"Name": t.Name, "ID": t.ID, "Description": t.Description, "URL": p.TriggerURL,
			"Environment": st.Env, "Datasets": []string{t.DatasetSlug},
			"Operator": p.Operator, "Threshold": t.Threshold.Value,
			"Result": map[string]any{"URL": resultURL, "Groups": templateGroups(groups), "GroupsTriggered": templateGroups(fired)},
			// InstanceID is the trigger's id: the same when it fires and
			// when it resolves.
			"Alert": map[string]any{"Status": p.Status, "Summary": p.Summary, "Description": p.Description,
				"InstanceID": t.ID, "IsTest": false},
		},
	}
}

// notify sends the evaluation's notification to each of the trigger's
// recipients through the Notifier, in the background.
func (e *Evaluator) notify(ctx context.Context, st apiquery.StoredTrigger, triggered bool, groups, fired []Group, resultURL string) {
	e.sendTo(ctx, st.Env, st.Trigger.Recipients, message(st, triggered, groups, fired, resultURL, e.uiURL("/triggers", url.Values{"dataset": {st.Trigger.DatasetSlug}})))
}

// sendTo sends m to each recipient refs names (with the details the
// alert gave it) through the Notifier, in the background.
func (e *Evaluator) sendTo(ctx context.Context, env string, refs []apiquery.TriggerRecipient, m notify.Message) {
	for _, ref := range refs {
		rc, err := apiquery.GetRecipient(ctx, e.state, env, ref.ID)
		if err != nil {
			if errors.Is(err, state.ErrNotFound) {
				e.cfg.Notifier.Undeliverable(m, notify.Recipient{ID: ref.ID, Type: ref.Type}, err)
				continue
			}
			e.cfg.Logger.Warn("notification not delivered: reading its recipient failed", "env", env, "kind", m.Kind, "alert", m.AlertID, "recipient", ref.ID, "err", err)
			continue
		}
		rm := m
		rm.RecipientDetails = ref.Details
		e.cfg.Notifier.Send(ctx, notify.Recipient{ID: rc.ID, Type: rc.Type, Details: rc.Details}, rm)
	}
}
