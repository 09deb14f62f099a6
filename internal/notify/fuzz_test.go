package notify

import (
	"encoding/json"
	"testing"
)

// FuzzWebhookTemplate: any payload template and variable override is
// checked and rendered without a panic; whatever renders is JSON of at
// most maxBody bytes, and a template CheckTemplates refuses is never
// rendered.
func FuzzWebhookTemplate(f *testing.F) {
	f.Add(`{"a": "{{ .Name }}", "s": "{{ .Vars.severity }}"}`, "warning")
	f.Add(`{"d": {{ toJson .Datasets }}, "g": {{ toJson .Result.Groups }}}`, "")
	f.Add(`{{ range $i, $d := .Datasets }}{{ $d }}{{ end }}`, "x")
	f.Add(`{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}`, "")
	f.Add(`{{ .Alert.Status`, `"`)
	f.Fuzz(func(t *testing.T, body, override string) {
		details := map[string]any{"webhook_url": "http://h.test", "webhook_payloads": map[string]any{
			"payload_templates":  map[string]any{KindTrigger: map[string]any{"body": body}},
			"template_variables": []any{map[string]any{"name": "severity", "default_value": "critical"}},
		}}
		d, templates, err := decodeWebhook(details)
		if err != nil {
			if CheckTemplates(details) == nil {
				t.Fatalf("decodeWebhook refused what CheckTemplates accepts: %v", err)
			}
			return
		}
		over, _ := json.Marshal(map[string]any{"variables": []any{map[string]any{"name": "severity", "value": override}}})
		m := Message{Kind: KindTrigger, Env: "prod", AlertID: "t1", Triggered: true, RecipientDetails: over,
			Vars: map[string]any{"Name": "errors", "Datasets": []string{"api"}, "Alert": map[string]any{"Status": "TRIGGERED"},
				"Result": map[string]any{"Groups": []any{map[string]any{"Group": map[string]any{"k": "v"}, "Result": 1.5}}}}}
		out, err := renderWebhook(d, templates[KindTrigger], m)
		if err != nil {
			return
		}
		if !json.Valid(out) || len(out) > maxBody {
			t.Fatalf("rendered %d bytes that are not JSON or too many: %.200q", len(out), out)
		}
	})
}
