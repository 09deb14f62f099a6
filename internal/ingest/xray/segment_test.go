package xray

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"
)

// renderEvents writes events as golden JSON: per event its dataset, source,
// the Honeycomb event and the kept document.
func renderEvents(t testing.TB, events []model.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, e := range events {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(`{"dataset":`)
		ds, _ := json.Marshal(e.Dataset)
		b.Write(ds)
		b.WriteString(`,"source":"` + e.Source.String() + `","sample_rate":`)
		b.WriteString(model.Int(e.SampleRate).String())
		b.WriteString(`,"event":`)
		b.Write(e.AppendJSON(nil))
		b.WriteString(`,"doc":`)
		if e.Doc == nil {
			b.WriteString("null")
		} else {
			b.Write(e.Doc)
		}
		b.WriteString("}")
	}
	b.WriteString("\n]\n")
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		t.Fatalf("golden output is not JSON: %v\n%s", err, b.Bytes())
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	golden.Check(t, path, got)
}

func TestDecodeGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/segments/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			events, err := Decode(doc)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkInvariants(t, doc, events)
			checkGolden(t, strings.TrimSuffix(f, ".json")+".golden", renderEvents(t, events))
		})
	}
}

// checkInvariants holds for every accepted document: one span per
// (sub)segment, parents before children, valid Docs without subsegments,
// no attribute shadowing a hot field, each key once.
func checkInvariants(t testing.TB, doc []byte, events []model.Event) {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no events for an accepted document")
	}
	seen := map[model.SpanID]bool{}
	for i, e := range events {
		if e.Source != model.SourceXRay || e.SampleRate != 1 || !e.IsSpan() {
			t.Errorf("event %d: source %v, sample rate %d, annotation %q", i, e.Source, e.SampleRate, e.AnnotationType)
		}
		if e.TraceID != events[0].TraceID {
			t.Errorf("event %d: trace id %v, want %v", i, e.TraceID, events[0].TraceID)
		}
		if i > 0 && !seen[e.ParentID] {
			t.Errorf("event %d: parent %v not decoded before it", i, e.ParentID)
		}
		seen[e.SpanID] = true
		if e.Dataset == "" {
			t.Errorf("event %d: empty dataset", i)
		}
		if !json.Valid(e.Doc) {
			t.Errorf("event %d: Doc is not JSON: %s", i, e.Doc)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e.Doc, &m); err != nil {
			t.Errorf("event %d: Doc is not an object: %v", i, err)
		}
		if _, ok := m["subsegments"]; ok {
			t.Errorf("event %d: Doc keeps its subsegments: %s", i, e.Doc)
		}
		if got := m["id"]; !strings.EqualFold(string(got), `"`+e.SpanID.String()+`"`) {
			t.Errorf("event %d: Doc id %s, span id %v", i, got, e.SpanID)
		}
		keys := map[string]bool{}
		for _, a := range e.Attrs {
			if reservedKey(a.Key) {
				t.Errorf("event %d: attribute %q shadows a hot field", i, a.Key)
			}
			if keys[a.Key] {
				t.Errorf("event %d: attribute %q twice", i, a.Key)
			}
			keys[a.Key] = true
		}
	}
	// The Docs hold the whole input between them: their total size is the
	// input's minus the cut "subsegments" members.
	total := 0
	for _, e := range events {
		total += len(e.Doc)
	}
	if total > len(bytes.TrimSpace(doc)) {
		t.Errorf("Docs hold %d bytes, more than the %d-byte input: a child is duplicated", total, len(doc))
	}
}

func attr(e model.Event, k string) (model.Value, bool) { return e.Get(k) }

func TestDecodeMapping(t *testing.T) {
	doc, err := os.ReadFile("testdata/segments/nested.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 5 {
		t.Fatalf("got %d events, want 5", len(events))
	}
	byName := map[string]model.Event{}
	for _, e := range events {
		byName[e.Name] = e
	}
	seg, work, ddb, remote, render := byName["backend-flask"], byName["home_activities"], byName["DynamoDB"], byName["api.example.net:443"], byName["render"]
	tests := []struct {
		name       string
		e          model.Event
		kind       string
		parent     model.SpanID
		durationMs float64
		attrs      map[string]model.Value
	}{
		{"segment", seg, "server", model.SpanID{}, 253, map[string]model.Value{
			"http.method": model.Str("GET"), "http.status_code": model.Int(200),
			"http.response_content_length": model.Int(1024), "http.client_ip": model.Str("203.0.113.7"),
			"enduser.id": model.Str("andrew"), "telemetry.sdk.language": model.Str("go"),
			"service.version": model.Str("2.1.0"), "aws.xray.x_forwarded_for": model.Bool(true),
		}},
		{"local subsegment", work, "internal", seg.SpanID, 187, map[string]model.Value{
			"user_count": model.Int(3), "service.version": model.Str("2.1.0"),
		}},
		{"aws subsegment", ddb, "client", work.SpanID, 60, map[string]model.Value{
			"aws.service": model.Str("DynamoDB"), "aws.operation": model.Str("Query"),
			"aws.table_name": model.Str("cruddur-messages"), "aws.xray.retries": model.Int(0),
			"aws.resource_names": model.Str(`["cruddur-messages"]`), "aws.xray.namespace": model.Str("aws"),
		}},
		{"remote subsegment", remote, "client", work.SpanID, 100, map[string]model.Value{
			"http.method": model.Str("POST"), "http.status_code": model.Int(202), "aws.xray.traced": model.Bool(true),
		}},
		{"metadata", render, "internal", seg.SpanID, 59, map[string]model.Value{
			"aws.xray.metadata.default": model.Str(`{"template":"home","items":[1,2,3]}`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			if e.SpanKind != tt.kind || e.ParentID != tt.parent || e.DurationMs != tt.durationMs {
				t.Errorf("kind %q parent %v duration %v; want %q %v %v", e.SpanKind, e.ParentID, e.DurationMs, tt.kind, tt.parent, tt.durationMs)
			}
			if e.ServiceName != "backend-flask" || e.Dataset != "backend-flask" {
				t.Errorf("service %q dataset %q", e.ServiceName, e.Dataset)
			}
			if e.TraceID.XRay() != "1-5759e988-bd862e3fe1be46a994272793" {
				t.Errorf("trace id %s", e.TraceID.XRay())
			}
			for k, want := range tt.attrs {
				if got, ok := attr(e, k); !ok || got != want {
					t.Errorf("%s = %v (%v), want %v", k, got, ok, want)
				}
			}
		})
	}
	if want := "2016-06-09T05:03:04.012Z"; seg.Time.Format("2006-01-02T15:04:05.000Z07:00") != want {
		t.Errorf("segment time %v, want %s", seg.Time, want)
	}
	if bytes.Contains(seg.Doc, []byte("home_activities")) || !bytes.Contains(seg.Doc, []byte(`"Dummy": false`)) {
		t.Errorf("segment Doc should keep its own fields and drop its children:\n%s", seg.Doc)
	}
}

func TestDecodeAnnotationsAndErrors(t *testing.T) {
	doc, err := os.ReadFile("testdata/segments/annotations_metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	e := events[0]
	if e.ServiceName != "annotated" || e.Dataset != "annotated" || e.Name != "  annotated " {
		t.Errorf("service %q dataset %q name %q", e.ServiceName, e.Dataset, e.Name)
	}
	if !e.Error || e.StatusCode != 2 {
		t.Errorf("error %v status %d, want true 2", e.Error, e.StatusCode)
	}
	want := map[string]model.Value{
		"customer_tier":                    model.Str("gold"),
		"retries":                          model.Int(2),
		"ratio":                            model.Float(0.25),
		"big":                              model.Float(12345678901234567890),
		"premium":                          model.Bool(true),
		"aws.xray.annotations.name":        model.Str("shadow"),
		"aws.xray.annotations.http.method": model.Str("shadow too"),
		"http.method":                      model.Str("PUT"),
		"aws.xray.error":                   model.Bool(true),
		"aws.xray.metadata.debug":          model.Str(`{"raw":true}`),
		"aws.xray.metadata.default":        model.Str(`{"note":"hello \"world\"","nested":{"a":[1,{"b":null}]}}`),
		"http.status_code":                 model.Int(404),
	}
	for k, v := range want {
		if got, ok := e.Get(k); !ok || got != v {
			t.Errorf("%s = %v (%v), want %v", k, got, ok, v)
		}
	}
	if _, ok := e.Get("ignored"); ok {
		t.Error("a null annotation should be dropped")
	}
	if e.Name != "  annotated " {
		t.Errorf("the annotation \"name\" replaced the span name: %q", e.Name)
	}
	if bytes.Contains(e.Doc, []byte("subsegments")) || !bytes.HasPrefix(e.Doc, []byte("{\n  \"trace_id\"")) {
		t.Errorf("leading subsegments member not cut cleanly:\n%s", e.Doc)
	}
}

func TestDecodeKinds(t *testing.T) {
	tests := []struct {
		file    string
		want    []string // span kinds in order
		service string
		dataset string
	}{
		{"fault_cause.json", []string{"server", "client"}, "checkout", "checkout"},
		{"in_progress.json", []string{"server"}, "backend-flask", "backend-flask"},
		{"independent_sql.json", []string{"client"}, "", "unknown_service"},
		{"independent_content_length_string.json", []string{"client", "client"}, "", "unknown_service"},
		{"python_local.json", []string{"server", "internal", "internal"}, "unknown_service:python", "unknown_service"},
		{"aws_resources.json", []string{"server", "client"}, "orders-api", "orders-api"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			doc, err := os.ReadFile("testdata/segments/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			events, err := Decode(doc)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, e := range events {
				kinds = append(kinds, e.SpanKind)
				if e.ServiceName != tt.service || e.Dataset != tt.dataset {
					t.Errorf("%s: service %q dataset %q, want %q %q", e.Name, e.ServiceName, e.Dataset, tt.service, tt.dataset)
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tt.want, ",") {
				t.Errorf("kinds %v, want %v", kinds, tt.want)
			}
		})
	}
}

func TestDecodeSpecialFields(t *testing.T) {
	decode := func(t *testing.T, file string) []model.Event {
		t.Helper()
		doc, err := os.ReadFile("testdata/segments/" + file)
		if err != nil {
			t.Fatal(err)
		}
		events, err := Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		return events
	}
	type check struct {
		event int
		key   string
		want  model.Value
	}
	tests := []struct {
		file   string
		checks []check
		absent []check
	}{
		{"in_progress.json", []check{{0, "aws.xray.inprogress", model.Bool(true)}}, nil},
		{"independent_content_length_string.json", []check{
			{0, "http.response_content_length", model.Int(1270)},
			{0, "aws.xray.independent_subsegment", model.Bool(true)},
			{1, "http.status_code", model.Int(200)},
		}, []check{{1, "http.response_content_length", model.Value{}}, {1, "aws.xray.independent_subsegment", model.Value{}}}},
		{"independent_sql.json", []check{
			{0, "db.system", model.Str("postgresql")},
			{0, "db.name", model.Str("orders")},
			{0, "db.statement", model.Str("SELECT * FROM orders WHERE id = $1")},
			{0, "db.user", model.Str("app")},
			{0, "db.connection_string", model.Str("jdbc:postgresql://db.internal:5432/orders?sslmode=require")},
		}, nil},
		{"fault_cause.json", []check{
			{0, "exception.type", model.Str("PaymentError")},
			{0, "exception.message", model.Str("card declined: insufficient funds")},
			{0, "exception.stacktrace", model.Str("PaymentError: card declined: insufficient funds\n\tat main.charge(/app/pay.go:42)\n\tat main.handle(/app/handler.go:17)")},
			{0, "aws.xray.exception.id", model.Str("e4d1b8a05c2f3e61")},
			{0, "aws.xray.exception.truncated", model.Int(2)},
			{0, "aws.xray.exception.count", model.Int(2)},
			{0, "aws.xray.fault", model.Bool(true)},
			{1, "aws.xray.throttle", model.Bool(true)},
			{1, "aws.xray.cause", model.Str(`"0a1b2c3d4e5f6071"`)},
			{1, "aws.xray.exception.id", model.Str("0a1b2c3d4e5f6071")},
			{1, "http.response_content_length", model.Int(0)},
		}, nil},
		{"aws_resources.json", []check{
			{0, "cloud.platform", model.Str("aws_ecs")},
			{0, "cloud.provider", model.Str("aws")},
			{0, "cloud.account.id", model.Str("123456789012")},
			{0, "aws.ecs.launchtype", model.Str("fargate")},
			{0, "host.id", model.Str("i-0abc")},
			{0, "k8s.cluster.name", model.Str("prod")},
			{0, "service.instance.id", model.Str("17")},
			{0, "telemetry.sdk.language", model.Str("python")},
			{0, "aws.log.group.names", model.Str(`["/ecs/orders"]`)},
			{0, "aws.custom", model.Str(`{"k":"v"}`)},
			{1, "host.id", model.Str("i-0abc")}, // inherited
			{1, "aws.account_id", model.Str("210987654321")},
			{1, "cloud.account.id", model.Str("123456789012")},
			{1, "aws.xray.retries", model.Int(1)},
			{1, "aws.service", model.Str("SQS")},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			events := decode(t, tt.file)
			for _, c := range tt.checks {
				if got, ok := events[c.event].Get(c.key); !ok || got != c.want {
					t.Errorf("event %d %s = %v (%v), want %v", c.event, c.key, got, ok, c.want)
				}
			}
			for _, c := range tt.absent {
				if got, ok := events[c.event].Get(c.key); ok {
					t.Errorf("event %d %s = %v, want absent", c.event, c.key, got)
				}
			}
		})
	}
	// The in-progress segment has no duration; the fault makes an error span.
	if e := decode(t, "in_progress.json")[0]; e.DurationMs != 0 || e.Error {
		t.Errorf("in progress: duration %v error %v", e.DurationMs, e.Error)
	}
	if e := decode(t, "fault_cause.json")[0]; !e.Error || e.StatusCode != 2 {
		t.Errorf("fault: error %v status %d", e.Error, e.StatusCode)
	}
	if e := decode(t, "aws_resources.json")[0]; e.ParentID.String() != "0123456789abcdef" {
		t.Errorf("segment parent_id: %v", e.ParentID)
	}
}

func TestDecodeErrors(t *testing.T) {
	const tid = `"trace_id":"1-5759e988-bd862e3fe1be46a994272793"`
	valid := func(fields string) string {
		return `{` + tid + `,"id":"6b55dcc497934f1a","start_time":1.5e9,` + fields + `}`
	}
	tests := []struct {
		name    string
		doc     string
		id      string
		code    string
		message string
	}{
		{"not JSON", `{"id":"6b55dcc497934f1a",`, "", CodeInvalidDocument, "Invalid segment. ErrorCode: InvalidDocument"},
		{"array", `[{"id":"6b55dcc497934f1a"}]`, "", CodeInvalidDocument, ""},
		{"null", `null`, "", CodeInvalidDocument, ""},
		{"empty", ``, "", CodeInvalidDocument, ""},
		{"missing id", `{` + tid + `,"name":"a","start_time":1.5e9,"end_time":1.6e9}`, "", CodeMissingID, "Invalid segment. ErrorCode: MissingId"},
		{"key in other case", `{` + tid + `,"ID":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"end_time":1.6e9}`, "", CodeMissingID, ""},
		{"namespace not a string", valid(`"name":"a","end_time":1.6e9,"namespace":7`), "6b55dcc497934f1a", CodeInvalidNamespace, ""},
		{"id not a string", `{` + tid + `,"id":12,"name":"a","start_time":1.5e9,"end_time":1.6e9}`, "", CodeMissingID, ""},
		{"short id", `{` + tid + `,"id":"abc","name":"a","start_time":1.5e9,"end_time":1.6e9}`, "abc", CodeInvalidID, ""},
		{"missing trace id", `{"id":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"end_time":1.6e9}`, "6b55dcc497934f1a", CodeInvalidTraceID, "Invalid segment. ErrorCode: InvalidTraceId"},
		{"w3c trace id", `{"trace_id":"5759e988bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"end_time":1.6e9}`, "6b55dcc497934f1a", CodeInvalidTraceID, ""},
		{"bad trace id hex", `{"trace_id":"1-5759e98z-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"end_time":1.6e9}`, "6b55dcc497934f1a", CodeInvalidTraceID, ""},
		{"missing name", valid(`"end_time":1.6e9`), "6b55dcc497934f1a", CodeInvalidName, "Invalid segment. ErrorCode: InvalidName"},
		{"empty name", valid(`"name":"","end_time":1.6e9`), "6b55dcc497934f1a", CodeInvalidName, ""},
		{"name with !", valid(`"name":"hello!","end_time":1.6e9`), "6b55dcc497934f1a", CodeInvalidName, ""},
		{"name with ?", valid(`"name":"a?b","end_time":1.6e9`), "6b55dcc497934f1a", CodeInvalidName, ""},
		{"name too long", valid(`"name":"` + strings.Repeat("n", 201) + `","end_time":1.6e9`), "6b55dcc497934f1a", CodeInvalidName, ""},
		{"missing start", `{` + tid + `,"id":"6b55dcc497934f1a","name":"a","end_time":1.6e9}`, "6b55dcc497934f1a", CodeMissingStartTime, ""},
		{"start as string", `{` + tid + `,"id":"6b55dcc497934f1a","name":"a","start_time":"1.5e9","end_time":1.6e9}`, "6b55dcc497934f1a", CodeMissingStartTime, ""},
		{"negative start", `{` + tid + `,"id":"6b55dcc497934f1a","name":"a","start_time":-1,"end_time":1.6e9}`, "6b55dcc497934f1a", CodeInvalidTime, ""},
		{"no end, not in progress", valid(`"name":"a"`), "6b55dcc497934f1a", CodeMissingEndTime, ""},
		{"in_progress false", valid(`"name":"a","in_progress":false`), "6b55dcc497934f1a", CodeMissingEndTime, ""},
		{"bad namespace", valid(`"name":"a","end_time":1.6e9,"namespace":"galaxy"`), "6b55dcc497934f1a", CodeInvalidNamespace, ""},
		{"bad parent id", valid(`"name":"a","end_time":1.6e9,"parent_id":"xyz"`), "6b55dcc497934f1a", CodeInvalidParentID, ""},
		{"independent without parent", valid(`"name":"a","end_time":1.6e9,"type":"subsegment"`), "6b55dcc497934f1a", CodeInvalidParentID, "Invalid subsegment. ErrorCode: InvalidParentId"},
		{"embedded bad name", valid(`"name":"a","end_time":1.6e9,"subsegments":[{"id":"1111111111111111","name":"bad;name","start_time":1.5e9,"end_time":1.6e9}]`), "6b55dcc497934f1a", CodeInvalidName, "Invalid subsegment. ErrorCode: InvalidName"},
		{"embedded missing id", valid(`"name":"a","end_time":1.6e9,"subsegments":[{"name":"b","start_time":1.5e9,"end_time":1.6e9}]`), "6b55dcc497934f1a", CodeMissingID, "Invalid subsegment. ErrorCode: MissingId"},
		{"subsegments not an array", valid(`"name":"a","end_time":1.6e9,"subsegments":{}`), "6b55dcc497934f1a", CodeInvalidDocument, ""},
		{"subsegment not an object", valid(`"name":"a","end_time":1.6e9,"subsegments":[1]`), "6b55dcc497934f1a", CodeInvalidDocument, ""},
		{"too large", valid(`"name":"a","end_time":1.6e9,"metadata":{"default":{"x":"` + strings.Repeat("x", MaxDocumentSize) + `"}}`), "6b55dcc497934f1a", CodeDocumentTooLarge, ""},
		{"too deep", valid(`"name":"a","end_time":1.6e9,"subsegments":[` + strings.Repeat(`{"id":"1111111111111111","name":"b","start_time":1.5e9,"end_time":1.6e9,"subsegments":[`, maxDepth+1) + strings.Repeat(`]}`, maxDepth+1) + `]`), "6b55dcc497934f1a", CodeTooDeep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []model.Event{{Name: "kept"}}
			out, err := AppendDocument(dst, []byte(tt.doc))
			var se *SegmentError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SegmentError", err)
			}
			if se.ErrorCode != tt.code || se.ID != tt.id {
				t.Errorf("code %q id %q, want %q %q (%s)", se.ErrorCode, se.ID, tt.code, tt.id, se.Detail)
			}
			if tt.message != "" && se.Message != tt.message {
				t.Errorf("message %q, want %q", se.Message, tt.message)
			}
			if se.Detail == "" || !strings.Contains(se.Error(), tt.code) {
				t.Errorf("error text %q lacks detail or code", se.Error())
			}
			if len(out) != 1 || out[0].Name != "kept" {
				t.Errorf("dst changed on error: %d events", len(out))
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		n    int
	}{
		{"unicode name and allowed punctuation", `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"Ünïcødé 名前 _.:/%&#=+\\-@","start_time":1.5e9,"end_time":1.6e9}`, 1},
		{"200-character name", `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"` + strings.Repeat("é", 200) + `","start_time":1.5e9,"end_time":1.6e9}`, 1},
		{"unknown keys and wrong-typed optional fields", `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1480615200.010,"end_time":1.480615200020E9,"Dummy":false,"http":"odd","aws":[1],"whatever":{"x":[]}}`, 1},
		{"embedded subsegment with its own trace id", `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"end_time":1.6e9,"subsegments":[{"trace_id":"bogus","id":"1111111111111111","name":"b","start_time":1.5e9,"in_progress":true}]}`, 2},
		{"escaped keys", `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","i\u0064":"6b55dcc497934f1a","name":"a\u00e9\/b","start_time":1.5e9,"end_time":1.6e9,"subsegment\u0073":[{"id":"1111111111111111","name":"b","start_time":1.5e9,"end_time":1.6e9}]}`, 2},
		{"null subsegments", `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"end_time":1.6e9,"subsegments":null}`, 1},
		{"end before start", `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1.6e9,"end_time":1.5e9}`, 1},
		{"uppercase hex ids", `{"trace_id":"1-5759E988-BD862E3FE1BE46A994272793","id":"6B55DCC497934F1A","name":"a","start_time":1.5e9,"end_time":1.6e9}`, 1},
		{"duplicate subsegments members", `{"subsegments":[{"id":"1111111111111111","name":"x","start_time":1.5e9,"end_time":1.6e9}],"subsegments":[{"id":"2222222222222222","name":"y","start_time":1.5e9,"end_time":1.6e9}],"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"end_time":1.6e9}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := Decode([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != tt.n {
				t.Fatalf("%d events, want %d", len(events), tt.n)
			}
			checkInvariants(t, []byte(tt.doc), events)
			if events[0].DurationMs < 0 {
				t.Errorf("negative duration %v", events[0].DurationMs)
			}
		})
	}
}

func TestDecodeDoesNotRetainInput(t *testing.T) {
	doc, err := os.ReadFile("testdata/segments/nested.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	var before [][]byte
	for _, e := range events {
		before = append(before, bytes.Clone(e.Doc))
	}
	for i := range doc {
		doc[i] = 'X'
	}
	for i, e := range events {
		if !bytes.Equal(e.Doc, before[i]) {
			t.Fatalf("event %d's Doc changed with the input buffer", i)
		}
	}
}

func TestEpochTime(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{1480615200.010, "2016-12-01T18:00:00.01Z"},
		{1.480615200020e9, "2016-12-01T18:00:00.02Z"},
		{1602537377.000123, "2020-10-12T21:16:17.000123Z"},
		{1465448584.9999996, "2016-06-09T05:03:05Z"},
		{0, "1970-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		if got := epochTime(tt.in).Format("2006-01-02T15:04:05.999999999Z07:00"); got != tt.want {
			t.Errorf("epochTime(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/segments/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"subsegments":[],"id":"1"}`))
	f.Add([]byte(`{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"a","start_time":1.5e9,"in_progress":true,"subsegments":[{"id":"1111111111111111","name":"b","start_time":1.5e9,"end_time":1.6e9,"subsegments":null}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		events, err := Decode(doc)
		if err != nil {
			var se *SegmentError
			if !errors.As(err, &se) || se.ErrorCode == "" || se.Message == "" {
				t.Fatalf("error %v is not a complete *SegmentError", err)
			}
			if len(events) != 0 {
				t.Fatalf("%d events with an error", len(events))
			}
			return
		}
		checkInvariants(t, doc, events)
	})
}

func BenchmarkDecode(b *testing.B) {
	doc, err := os.ReadFile("testdata/segments/nested.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Decode(doc); err != nil {
			b.Fatal(err)
		}
	}
}
