package honeycomb

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tracecomb/tracecomb/internal/golden"
)

// TestObjectGoldens pins the JSON of each object this package answers as
// its creation (or read) returns it: a dataset, a column, the dataset's
// definitions, a marker (of internal/api/query, kept here with the
// dataset it is on), and the v2 management API's environment and
// API key documents. Ids, secrets and times are replaced by placeholders.
func TestObjectGoldens(t *testing.T) {
	s := newDeleteServer(t)
	key := s.env("Golden")
	objects := map[string]string{}
	body := func(key, method, path string, in any) string {
		t.Helper()
		code, _, raw := s.do(key, method, path, in)
		if code != 200 && code != 201 {
			t.Fatalf("%s %s: %d %s", method, path, code, raw)
		}
		return raw
	}
	objects["dataset"] = body(key, "POST", "/1/datasets", map[string]any{"name": "shop", "description": "the shop", "expand_json_depth": 2})
	objects["column"] = body(key, "POST", "/1/columns/shop", map[string]any{"key_name": "cart.size", "type": "integer", "description": "items in the cart"})
	body(key, "POST", "/1/columns/shop", map[string]any{"key_name": "cart.id", "type": "string"})
	body(key, "PATCH", "/1/dataset_definitions/shop", map[string]any{"trace_id": map[string]any{"name": "cart.id"}})
	objects["dataset-definitions"] = body(key, "GET", "/1/dataset_definitions/shop", nil)
	objects["marker"] = body(key, "POST", "/1/markers/shop", map[string]any{"message": "deploy 42", "type": "deploy", "url": "https://example.com/deploys/42", "start_time": 1765000000})
	objects["v2-environment"] = body(s.mgmt, "POST", "/2/teams/tracecomb/environments",
		map[string]any{"data": map[string]any{"type": "environments", "attributes": map[string]any{"name": "Staging", "description": "pre-production", "color": "blue"}}})
	objects["v2-api-key"] = body(s.mgmt, "POST", "/2/teams/tracecomb/api-keys",
		map[string]any{"data": map[string]any{"type": "api-keys", "attributes": map[string]any{"key_type": "ingest", "name": "collector"},
			"relationships": map[string]any{"environment": map[string]any{"data": map[string]any{"type": "environments", "id": "staging"}}}}})

	placeholders := regexp.MustCompile(`"(id|created_at|updated_at|last_written_at|secret|created|updated|last_used)": "[^"]+"`)
	keyLink := regexp.MustCompile(`/api-keys/[^"]+"`)
	for name, raw := range objects {
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatalf("%s: %v in %s", name, err, raw)
		}
		pretty, _ := json.MarshalIndent(v, "", "  ")
		pretty = placeholders.ReplaceAll(pretty, []byte(`"$1": "…"`))
		pretty = keyLink.ReplaceAll(pretty, []byte(`/api-keys/…"`))
		golden.Check(t, filepath.Join("testdata", "objects", name+".json"), append(pretty, '\n'))
	}
}
