package query_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
)

// jsonDo is do with the answer decoded into a map (nil for a list).
func jsonDo(t *testing.T, method, url string, body any) (int, map[string]any, string) {
	t.Helper()
	code, _, b := do(t, method, url, body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return code, m, string(b)
}

// TestRecipients: create, list, get, update and delete recipients of each
// type; invalid details are 422 naming the field; the type cannot change.
func TestRecipients(t *testing.T) {
	url := apiServer(t, openState(t, t.TempDir()), apiquery.Deps{})
	good := []map[string]any{
		{"type": "email", "details": map[string]any{"email_address": "oncall@example.com"}},
		{"type": "webhook", "details": map[string]any{"webhook_name": "hook", "webhook_url": "https://example.com/hook", "webhook_secret": "s3",
			"webhook_payloads": map[string]any{"payload_templates": map[string]any{"trigger": map[string]any{"body": `{"name": "{{ .Name }}"}`}}}}},
		{"type": "slack", "details": map[string]any{"slack_channel": "#alerts"}},
		{"type": "pagerduty", "details": map[string]any{"pagerduty_integration_key": strings.Repeat("a", 32), "pagerduty_integration_name": "pd"}},
		{"type": "msteams_workflow", "details": map[string]any{"webhook_name": "teams", "webhook_url": "https://example.com/teams"}},
		{"type": "msteams", "details": map[string]any{"webhook_name": "teams", "webhook_url": "http://example.com/old"}},
	}
	var ids []string
	for _, body := range good {
		code, m, raw := jsonDo(t, "POST", url+"/1/recipients", body)
		if code != 201 || m["id"] == "" || m["type"] != body["type"] || m["created_at"] == nil {
			t.Fatalf("create %v: %d %s", body["type"], code, raw)
		}
		ids = append(ids, m["id"].(string))
	}
	code, _, b := do(t, "GET", url+"/1/recipients", nil)
	var list []map[string]any
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list) != len(good) {
		t.Fatalf("list: %d %s", code, b)
	}
	code, m, raw := jsonDo(t, "GET", url+"/1/recipients/"+ids[1], nil)
	if code != 200 || !strings.Contains(raw, "payload_templates") || m["details"].(map[string]any)["webhook_secret"] != "s3" {
		t.Errorf("get a webhook: %d %s, want its details as given", code, raw)
	}

	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"details": map[string]any{}}, "type"},
		{map[string]any{"type": "carrier-pigeon", "details": map[string]any{}}, "type"},
		{map[string]any{"type": "email"}, "details"},
		{map[string]any{"type": "email", "details": map[string]any{}}, "details.email_address"},
		{map[string]any{"type": "email", "details": map[string]any{"email_address": "not an address"}}, "details.email_address"},
		{map[string]any{"type": "email", "details": map[string]any{"email_address": 7}}, "details.email_address"},
		{map[string]any{"type": "webhook", "details": map[string]any{"webhook_url": "https://example.com"}}, "details.webhook_name"},
		{map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "x", "webhook_url": "ftp://example.com"}}, "details.webhook_url"},
		{map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "x", "webhook_url": "https://example.com", "webhook_secret": 5}}, "details.webhook_secret"},
		{map[string]any{"type": "slack", "details": map[string]any{"slack_channel": " "}}, "details.slack_channel"},
		{map[string]any{"type": "pagerduty", "details": map[string]any{"pagerduty_integration_key": "short", "pagerduty_integration_name": "pd"}}, "details.pagerduty_integration_key"},
		{map[string]any{"type": "pagerduty", "details": map[string]any{"pagerduty_integration_key": strings.Repeat("a", 32)}}, "details.pagerduty_integration_name"},
		{map[string]any{"type": "msteams_workflow", "details": map[string]any{"webhook_name": "t", "webhook_url": "not a url"}}, "details.webhook_url"},
		{map[string]any{"type": "msteams", "details": map[string]any{"webhook_url": "https://example.com"}}, "details.webhook_name"},
		{map[string]any{"type": "webhook", "details": map[string]any{"webhook_name": "x", "webhook_url": "https://example.com",
			"webhook_payloads": map[string]any{"payload_templates": map[string]any{"trigger": map[string]any{"body": `{"name": "{{ .Name "}`}}}}},
			"details.webhook_payloads.payload_templates.trigger.body"},
	}
	for _, c := range bad {
		code, _, raw := jsonDo(t, "POST", url+"/1/recipients", c.body)
		if code != 422 || !strings.Contains(raw, `"field":"`+c.field+`"`) {
			t.Errorf("create %v: %d %s, want 422 naming %s", c.body, code, raw, c.field)
		}
	}
	if code, _, raw := jsonDo(t, "POST", url+"/1/recipients", `{"type":`); code != 400 {
		t.Errorf("a body that is not JSON: %d %s", code, raw)
	}

	code, m, raw = jsonDo(t, "PUT", url+"/1/recipients/"+ids[0], map[string]any{"type": "email", "details": map[string]any{"email_address": "other@example.com"}})
	if code != 200 || m["details"].(map[string]any)["email_address"] != "other@example.com" || m["id"] != ids[0] {
		t.Errorf("update: %d %s", code, raw)
	}
	if code, _, raw := jsonDo(t, "PUT", url+"/1/recipients/"+ids[0], map[string]any{"type": "slack", "details": map[string]any{"slack_channel": "#x"}}); code != 422 || !strings.Contains(raw, `"field":"type"`) {
		t.Errorf("changing the type: %d %s, want 422", code, raw)
	}
	if code, _, raw := jsonDo(t, "PUT", url+"/1/recipients/nope", good[0]); code != 404 {
		t.Errorf("update a missing recipient: %d %s", code, raw)
	}
	if code, _, b := do(t, "DELETE", url+"/1/recipients/"+ids[0], nil); code != 204 {
		t.Errorf("delete: %d %s", code, b)
	}
	if code, _, b := do(t, "GET", url+"/1/recipients/"+ids[0], nil); code != 404 {
		t.Errorf("the deleted recipient: %d %s", code, b)
	}
	if code, _, b := do(t, "DELETE", url+"/1/recipients/"+ids[0], nil); code != 404 {
		t.Errorf("delete again: %d %s", code, b)
	}
}

// TestConfigPermissions: recipients need the recipients permission,
// triggers the triggers permission.
func TestConfigPermissions(t *testing.T) {
	st := openState(t, t.TempDir())
	serve := func(access map[auth.Permission]bool) string {
		mux := http.NewServeMux()
		d := apiquery.Deps{
			Auth: auth.AuthenticatorFunc(func(context.Context, string) (auth.Principal, error) {
				return auth.Principal{Env: "test", Kind: auth.KindConfiguration, Access: access}, nil
			}),
			Store: startServer(t).store, State: st,
		}
		if err := apiquery.Register(mux, d); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	none := serve(map[auth.Permission]bool{auth.PermColumns: true, auth.PermQueries: true})
	for _, path := range []string{"/1/recipients", "/1/triggers/__all__"} {
		if code, _, b := do(t, "GET", none+path, nil); code != 403 {
			t.Errorf("GET %s without its permission: %d %s, want 403", path, code, b)
		}
	}
	recipients := serve(map[auth.Permission]bool{auth.PermRecipients: true})
	if code, _, b := do(t, "GET", recipients+"/1/recipients", nil); code != 200 {
		t.Errorf("GET /1/recipients with recipients: %d %s", code, b)
	}
	if code, _, b := do(t, "GET", recipients+"/1/triggers/__all__", nil); code != 403 {
		t.Errorf("GET /1/triggers with recipients only: %d %s, want 403", code, b)
	}
	triggers := serve(map[auth.Permission]bool{auth.PermTriggers: true})
	if code, _, b := do(t, "GET", triggers+"/1/triggers/__all__", nil); code != 200 {
		t.Errorf("GET /1/triggers with triggers: %d %s", code, b)
	}
	if code, _, b := do(t, "POST", triggers+"/1/recipients", map[string]any{"type": "slack", "details": map[string]any{"slack_channel": "#x"}}); code != 403 {
		t.Errorf("POST /1/recipients with triggers only: %d %s, want 403", code, b)
	}
}
