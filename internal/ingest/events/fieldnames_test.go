package events

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

// members are the hot fields of model.Event these tests look at.
type members struct {
	Name, ServiceName string
	DurationMs        float64
	Error             bool
}

// TestFieldNames: with a dataset's definitions (Options.FieldNames), a
// field sent under a defined column's name fills the hot field and is kept
// under its own name; without them it is an ordinary field. Each case is
// checked in JSON and msgpack.
func TestFieldNames(t *testing.T) {
	names := map[string]string{
		"my_trace": model.FieldTraceID, "my_span": model.FieldSpanID, "my_parent": model.FieldParentID,
		"op": model.FieldName, "svc": model.FieldServiceName, "took": model.FieldDurationMs, "failed": model.FieldError,
		"name": model.FieldServiceName, // a hot field's own name defined as another field
	}
	const trace, span, parent = "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", "53995c3f42cd8ad9"
	// Keys are sent in sorted order (encoding/json and msgpack sort a
	// map's keys), which the cases of two names rely on.
	for _, c := range []struct {
		name   string
		names  map[string]string
		event  map[string]any
		want   members
		fields map[string]any
	}{
		{"defined columns fill the fields", names,
			map[string]any{"my_trace": trace, "my_span": span, "my_parent": parent, "op": "GET /", "svc": "shop", "took": 12.5, "failed": true, "other": 1},
			members{Name: "GET /", ServiceName: "shop", DurationMs: 12.5, Error: true},
			map[string]any{"trace.trace_id": trace, "trace.span_id": span, "trace.parent_id": parent, "name": "GET /", "service.name": "shop",
				"duration_ms": 12.5, "error": true, "status_code": 0, "my_trace": trace, "my_span": span, "my_parent": parent, "op": "GET /",
				"svc": "shop", "took": 12.5, "failed": true, "other": 1}},
		{"without definitions they are ordinary", nil,
			map[string]any{"my_trace": trace, "op": "GET /", "took": 12.5},
			members{},
			map[string]any{"my_trace": trace, "op": "GET /", "took": 12.5}},
		{"a value the field cannot hold stays under its own name", names,
			map[string]any{"my_trace": "not-an-id", "took": "slow", "failed": false, "my_span": span},
			members{},
			map[string]any{"my_trace": "not-an-id", "took": "slow", "failed": false, "trace.span_id": span, "my_span": span, "duration_ms": 0, "status_code": 0}},
		{"the own name first wins over the defined column", names,
			map[string]any{"service.name": "own", "svc": "defined", "my_span": span},
			members{ServiceName: "own"},
			map[string]any{"service.name": "own", "svc": "defined", "trace.span_id": span, "my_span": span, "duration_ms": 0, "status_code": 0}},
		{"the own name last wins over the defined column", names,
			map[string]any{"my_trace": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "trace.trace_id": trace},
			members{},
			map[string]any{"trace.trace_id": trace, "my_trace": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},
		{"a definition naming another field's own column is not honoured", names,
			map[string]any{"name": "shop", "op": "GET /", "my_span": span},
			members{Name: "shop"},
			map[string]any{"name": "shop", "op": "GET /", "trace.span_id": span, "my_span": span, "duration_ms": 0, "status_code": 0}},
	} {
		body, err := json.Marshal([]any{map[string]any{"data": c.event}})
		if err != nil {
			t.Fatal(err)
		}
		mp := mustMsgpack(t, []any{map[string]any{"data": c.event}})
		for _, f := range []struct {
			format Format
			body   []byte
		}{{FormatJSON, body}, {FormatMsgpack, mp}} {
			o := opts(0)
			o.FieldNames = c.names
			b, err := DecodeBatch(f.body, f.format, o)
			if err != nil || len(b.Events) != 1 {
				t.Fatalf("%s (%v): %v %+v", c.name, f.format, err, b.Status)
			}
			e := b.Events[0]
			got := members{Name: e.Name, ServiceName: e.ServiceName, DurationMs: e.DurationMs, Error: e.Error}
			if got != c.want {
				t.Errorf("%s (%v): members %+v, want %+v", c.name, f.format, got, c.want)
			}
			// Both sides as JSON numbers read them.
			var want map[string]any
			wb, _ := json.Marshal(c.fields)
			_ = json.Unmarshal(wb, &want)
			if fs := normalize(t, fields(&e)); !reflect.DeepEqual(fs, normalize(t, want)) {
				t.Errorf("%s (%v): fields\n %v\nwant\n %v", c.name, f.format, fs, c.fields)
			}
		}
	}
}
