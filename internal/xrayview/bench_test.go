package xrayview_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	xrayingest "github.com/tracecomb/tracecomb/internal/ingest/xray"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// benchTrace is one trace as a store returns it: a frontend and a backend
// that sent X-Ray segments (17 spans with their documents) and a worker
// traced with OpenTelemetry (11 spans and an exception event).
func benchTrace(tb testing.TB) (model.TraceID, []model.Event) {
	tb.Helper()
	const tid = "1-6b06cdc0-0123456789abcdef01234567"
	id, _ := model.ParseXRayTraceID(tid)
	at := 1795608000.0
	sid := func(prefix string, i int) string { return fmt.Sprintf("%s%013x", prefix, i) }
	var subs []string
	for i := range 8 {
		subs = append(subs, fmt.Sprintf(`{"id":%q,"name":"render-%d","start_time":%.3f,"end_time":%.3f,"metadata":{"default":{"step":%d}}}`,
			sid("f01", i), i, at+0.01*float64(i), at+0.01*float64(i)+0.005, i))
	}
	frontend := `{"trace_id":"` + tid + `","id":"f000000000000001","name":"frontend","start_time":` + ftoa(at) + `,"end_time":` + ftoa(at+0.4) + `,
		"origin":"AWS::EC2::Instance","user":"alice",
		"aws":{"account_id":"123456789012","ec2":{"instance_id":"i-0abc","availability_zone":"us-east-1a"},"xray":{"sdk":"X-Ray for Go","sdk_version":"1.8.5"}},
		"http":{"request":{"method":"GET","url":"http://frontend.example/home","user_agent":"curl/8","client_ip":"10.0.0.9"},"response":{"status":500}},
		"fault":true,"annotations":{"user_id":"u1","cart_items":5,"beta":true},"metadata":{"default":{"note":"hello"}},
		"subsegments":[` + join(subs) + `,
			{"id":"f000000000000002","name":"backend","namespace":"remote","start_time":` + ftoa(at+0.1) + `,"end_time":` + ftoa(at+0.35) + `,"fault":true,
			 "http":{"request":{"method":"GET","url":"http://backend:4567/api/home","traced":true},"response":{"status":500}}}]}`
	backend := `{"trace_id":"` + tid + `","id":"b000000000000001","parent_id":"f000000000000002","name":"backend","start_time":` + ftoa(at+0.11) + `,"end_time":` + ftoa(at+0.34) + `,
		"origin":"AWS::ECS::Container","fault":true,
		"aws":{"account_id":"123456789012","ecs":{"container":"backend","availability_zone":"us-east-1b"}},
		"http":{"request":{"method":"GET","url":"http://backend:4567/api/home"},"response":{"status":500}},
		"annotations":{"user_id":"u1"},
		"subsegments":[
			{"id":"b000000000000002","name":"DynamoDB","namespace":"aws","start_time":` + ftoa(at+0.12) + `,"end_time":` + ftoa(at+0.15) + `,
			 "aws":{"operation":"Query","table_name":"users","region":"us-east-1","request_id":"R1","retries":0},"http":{"response":{"status":200}}},
			{"id":"b000000000000003","name":"SNS","namespace":"aws","start_time":` + ftoa(at+0.16) + `,"end_time":` + ftoa(at+0.2) + `,"fault":true,
			 "aws":{"operation":"Publish","region":"us-east-1"},"http":{"response":{"status":503}},
			 "cause":{"working_directory":"/app","exceptions":[{"id":"0000000000000e01","type":"ServiceUnavailable","message":"try later","remote":true,
			   "stack":[{"path":"app.go","line":10,"label":"publish"},{"path":"main.go","line":3,"label":"main"}]}]}},
			{"id":"b000000000000004","name":"orders@db","namespace":"remote","start_time":` + ftoa(at+0.21) + `,"end_time":` + ftoa(at+0.25) + `,
			 "sql":{"url":"db:5432/orders","database_type":"PostgreSQL","sanitized_query":"SELECT * FROM orders WHERE id = $1","user":"app"}},
			{"id":"b000000000000005","name":"handler","start_time":` + ftoa(at+0.26) + `,"end_time":` + ftoa(at+0.33) + `,
			 "subsegments":[{"id":"b000000000000006","name":"marshal","start_time":` + ftoa(at+0.27) + `,"end_time":` + ftoa(at+0.28) + `},
				{"id":"b000000000000007","name":"worker","namespace":"remote","start_time":` + ftoa(at+0.28) + `,"end_time":` + ftoa(at+0.32) + `,
				 "http":{"request":{"method":"POST","url":"http://worker:8080/jobs","traced":true},"response":{"status":202}}}]}]}`
	var events []model.Event
	for _, doc := range []string{frontend, backend} {
		var err error
		if events, err = xrayingest.AppendDocument(events, []byte(doc)); err != nil {
			tb.Fatal(err)
		}
	}
	// The worker: a server span called by the backend's worker subsegment,
	// with HTTP, database, AWS SDK and internal children.
	parent, _ := model.ParseSpanID("b000000000000007")
	root, _ := model.ParseSpanID("c000000000000001")
	t0 := time.Unix(0, int64((at+0.29)*1e9)).UTC()
	a := func(k string, v model.Value) model.Attr { return model.Attr{Key: k, Value: v} }
	events = append(events, model.Event{
		Dataset: "worker", Source: model.SourceOTLP, Time: t0, TraceID: id, SpanID: root, ParentID: parent,
		Name: "POST /jobs", ServiceName: "worker", DurationMs: 25, SpanKind: "server", SampleRate: 1,
		Attrs: []model.Attr{a("http.request.method", model.Str("POST")), a("url.scheme", model.Str("http")),
			a("server.address", model.Str("worker")), a("server.port", model.Int(8080)), a("url.path", model.Str("/jobs")),
			a("http.response.status_code", model.Int(202)), a("cloud.platform", model.Str("aws_ecs")),
			a("job_kind", model.Str("thumbnail")), a("telemetry.sdk.language", model.Str("go")), a("process.pid", model.Int(42))},
	})
	for i := range 10 {
		child, _ := model.ParseSpanID(sid("c01", i))
		ev := model.Event{
			Dataset: "worker", Source: model.SourceOTLP, Time: t0.Add(time.Duration(i+1) * time.Millisecond), TraceID: id,
			SpanID: child, ParentID: root, Name: "step " + strconv.Itoa(i), ServiceName: "worker", DurationMs: 1.5,
			SpanKind: "internal", SampleRate: 1, Attrs: []model.Attr{a("step", model.Int(int64(i))), a("code.function", model.Str("work"))},
		}
		switch i % 4 {
		case 1:
			ev.SpanKind = "client"
			ev.Attrs = append(ev.Attrs, a("peer.service", model.Str("images")), a("http.request.method", model.Str("GET")),
				a("url.full", model.Str("http://images/x")), a("http.response.status_code", model.Int(200)))
		case 2:
			ev.SpanKind = "client"
			ev.Attrs = append(ev.Attrs, a("db.system", model.Str("postgresql")), a("db.name", model.Str("jobs")),
				a("db.statement", model.Str("UPDATE jobs SET done = true")))
		case 3:
			ev.SpanKind = "client"
			ev.StatusCode = 2
			ev.Attrs = append(ev.Attrs, a("rpc.system", model.Str("aws-api")), a("rpc.service", model.Str("S3")),
				a("rpc.method", model.Str("PutObject")), a("aws.request_id", model.Str("R2")))
			events = append(events, model.Event{
				Dataset: "worker", Source: model.SourceOTLP, Time: ev.Time, TraceID: id, ParentID: child, Name: "exception",
				ServiceName: "worker", AnnotationType: model.AnnotationSpanEvent, SampleRate: 1,
				Attrs: []model.Attr{a("exception.type", model.Str("AccessDenied")), a("exception.message", model.Str("no"))},
			})
		}
		events = append(events, ev)
	}
	return id, events
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

func join(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ","
		}
		out += p
	}
	return out
}

// BenchmarkTraceEntities converts one stored trace to its X-Ray entities:
// full (documents and the filter view, as summaries and BatchGetTraces
// need) and graph (the service graph's cheap view).
func BenchmarkTraceEntities(b *testing.B) {
	id, events := benchTrace(b)
	for _, bc := range []struct {
		name   string
		detail xrayview.Detail
	}{{"full", xrayview.Full}, {"graph", xrayview.GraphOnly}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v := xrayview.Convert(id, events, bc.detail)
				if len(v.Trace.Segments) != 28 {
					b.Fatalf("%d segments", len(v.Trace.Segments))
				}
			}
		})
	}
}
