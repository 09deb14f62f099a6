package query

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/notify"
	"github.com/tracecomb/tracecomb/internal/state"
)

// Recipient is a Honeycomb recipient: where a trigger's notifications go.
// Honeycomb keeps recipients per team, shared by its environments; here a
// recipient belongs to the environment of the key that made it (the scope
// of every other record), so each environment has its own.
type Recipient struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Details are kept as given (a webhook's payload templates and
	// headers too); the fields of the type are checked.
	Details   map[string]any `json:"details"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// kindRecipient is the state kind of recipients: scoped to the
// environment, keyed by id.
const kindRecipient state.Kind = "honeycomb.recipient"

// recipientFields are the details each recipient type requires; a URL
// field must be an http(s) URL.
var recipientFields = map[string][]string{
	"email":            {"email_address"},
	"webhook":          {"webhook_name", "webhook_url"},
	"slack":            {"slack_channel"},
	"pagerduty":        {"pagerduty_integration_key", "pagerduty_integration_name"},
	"msteams":          {"webhook_name", "webhook_url"},
	"msteams_workflow": {"webhook_name", "webhook_url"},
}

// recipientOptional are details that, when given, must be strings.
var recipientOptional = map[string][]string{
	"webhook": {"webhook_secret"},
}

// decodeRecipient reads and checks a recipient's type and details,
// answering 422 naming the field.
func decodeRecipient(w http.ResponseWriter, r *http.Request) (Recipient, bool) {
	var in struct {
		Type    *string        `json:"type"`
		Details map[string]any `json:"details"`
	}
	if !decodeInput(w, r, &in, "recipient") {
		return Recipient{}, false
	}
	if in.Type == nil || *in.Type == "" {
		writeProblem(w, "type", "missing", "type: is required")
		return Recipient{}, false
	}
	required, known := recipientFields[*in.Type]
	if !known {
		writeProblem(w, "type", "invalid", "type: must be one of email, webhook, slack, pagerduty, msteams, msteams_workflow, got "+*in.Type)
		return Recipient{}, false
	}
	if in.Details == nil {
		writeProblem(w, "details", "missing", "details: is required")
		return Recipient{}, false
	}
	for _, f := range required {
		s, isString := in.Details[f].(string)
		field := "details." + f
		switch {
		case in.Details[f] == nil || (isString && strings.TrimSpace(s) == ""):
			writeProblem(w, field, "missing", field+": is required")
			return Recipient{}, false
		case !isString:
			writeProblem(w, field, "incorrect_type", field+": must be a string")
			return Recipient{}, false
		}
		if msg := checkRecipientField(f, s); msg != "" {
			writeProblem(w, field, "invalid", field+": "+msg)
			return Recipient{}, false
		}
	}
	for _, f := range recipientOptional[*in.Type] {
		if v, given := in.Details[f]; given && v != nil {
			if _, isString := v.(string); !isString {
				writeProblem(w, "details."+f, "incorrect_type", "details."+f+": must be a string")
				return Recipient{}, false
			}
		}
	}
	if *in.Type == "webhook" {
		// Custom payload templates, their variables and headers must
		// parse: a template that cannot render would fail every alert.
		if err := notify.CheckTemplates(in.Details); err != nil {
			var de *notify.DetailError
			if errors.As(err, &de) {
				writeProblem(w, de.Field, "invalid", de.Error())
			} else {
				writeProblem(w, "details", "invalid", "details: "+err.Error())
			}
			return Recipient{}, false
		}
	}
	return Recipient{Type: *in.Type, Details: in.Details}, true
}

// checkRecipientField returns what is wrong with a required detail, or "".
func checkRecipientField(field, v string) string {
	switch field {
	case "email_address":
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return "must be an email address"
		}
	case "webhook_url":
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "must be an http or https URL"
		}
	case "webhook_name", "pagerduty_integration_name", "slack_channel":
		if len(v) > 255 {
			return "must be at most 255 characters"
		}
	case "pagerduty_integration_key":
		// PagerDuty's Events API v2 integration keys are 32 characters.
		if len(v) != 32 {
			return "must be 32 characters"
		}
	}
	return ""
}

func (h *handler) recipientFailed(w http.ResponseWriter, err error) {
	h.objectFailed(w, "recipient", err)
}

func (h *handler) createRecipient(w http.ResponseWriter, r *http.Request) {
	rc, ok := decodeRecipient(w, r)
	if !ok {
		return
	}
	now := h.d.Now().UTC()
	rc.ID, rc.CreatedAt, rc.UpdatedAt = randomID(6), now, now
	v, _ := json.Marshal(rc)
	if _, err := h.d.State.Put(r.Context(), state.Record{Kind: kindRecipient, Scope: env(r), Key: rc.ID, Value: v}, state.MustNotExist); err != nil {
		h.recipientFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, rc)
}

func (h *handler) listRecipients(w http.ResponseWriter, r *http.Request) {
	recs, err := h.d.State.List(r.Context(), kindRecipient, env(r))
	if err != nil {
		h.recipientFailed(w, err)
		return
	}
	out := []Recipient{}
	for _, rec := range recs {
		var rc Recipient
		if json.Unmarshal(rec.Value, &rc) == nil {
			out = append(out, rc)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) getRecipient(w http.ResponseWriter, r *http.Request) {
	rec, err := h.d.State.Get(r.Context(), kindRecipient, env(r), r.PathValue("id"))
	if err != nil {
		h.recipientFailed(w, err)
		return
	}
	var rc Recipient
	if err := json.Unmarshal(rec.Value, &rc); err != nil {
		h.recipientFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, rc)
}

// updateRecipient replaces the details (Honeycomb's PUT is not partial);
// the type cannot change.
func (h *handler) updateRecipient(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeRecipient(w, r)
	if !ok {
		return
	}
	var rc Recipient
	typeChanged := false
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindRecipient, env(r), r.PathValue("id"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Value, &rc); err != nil {
			return err
		}
		if typeChanged = rc.Type != in.Type; typeChanged {
			return nil
		}
		rc.Details, rc.UpdatedAt = in.Details, h.d.Now().UTC()
		v, _ := json.Marshal(rc)
		_, err = tx.Put(state.Record{Kind: kindRecipient, Scope: env(r), Key: rc.ID, Value: v}, rec.Version)
		return err
	})
	switch {
	case err != nil:
		h.recipientFailed(w, err)
	case typeChanged:
		writeProblem(w, "type", "invalid", "type: a recipient's type cannot change (it is "+rc.Type+")")
	default:
		api.WriteJSON(w, http.StatusOK, rc)
	}
}

// deleteRecipient answers 409 for a recipient a trigger uses, naming the
// trigger.
func (h *handler) deleteRecipient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	usedBy := ""
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if _, err := tx.Get(kindRecipient, env(r), id); err != nil {
			return err
		}
		trigs, err := tx.List(kindTrigger, env(r))
		if err != nil {
			return err
		}
		for _, rec := range trigs {
			var t Trigger
			if json.Unmarshal(rec.Value, &t) != nil {
				continue
			}
			for _, ref := range t.Recipients {
				if ref.ID == id {
					usedBy = t.DatasetSlug + "/" + t.ID
					return nil
				}
			}
		}
		return tx.Delete(kindRecipient, env(r), id, state.AnyVersion)
	})
	switch {
	case err != nil:
		h.recipientFailed(w, err)
	case usedBy != "":
		api.WriteError(w, http.StatusConflict, "the recipient is used by trigger "+usedBy+": remove it from the trigger first")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
