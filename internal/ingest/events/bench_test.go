package events

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/honeycombio/libhoney-go/transmission"
)

// benchBatch is a libhoney batch of 50 events (its default batch size) as
// a beeline's spans look: ids, name, service, duration and a dozen fields.
func benchBatch(b *testing.B, msgpack bool) []byte {
	at := time.Date(2026, 5, 25, 11, 0, 0, 0, time.UTC)
	var body []byte
	if msgpack {
		body = []byte{0xdc, 0, 50}
	} else {
		body = []byte{'['}
	}
	for i := range 50 {
		ev := &transmission.Event{Timestamp: at.Add(time.Duration(i) * time.Millisecond), SampleRate: uint(1 + i%2), Data: map[string]any{
			"trace.trace_id": fmt.Sprintf("5759e988bd862e3fe1be46a9942727%02x", i), "trace.span_id": fmt.Sprintf("53995c3f42cd8a%02x", i),
			"trace.parent_id": "53995c3f42cd8ad8", "name": "GET /api/activities/home", "service.name": "backend-flask",
			"duration_ms": 12.25 + float64(i), "http.method": "GET", "http.route": "/api/activities/home", "http.status_code": 200,
			"user.id": fmt.Sprint("user-", i%7), "db.rows": i * 3, "cache.hit": i%3 == 0, "meta.beeline_version": "1.14.0",
			"request.header.user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
		}}
		var enc []byte
		var err error
		if msgpack {
			enc, err = ev.MarshalMsgpack()
		} else {
			if i > 0 {
				body = append(body, ',')
			}
			enc, err = ev.MarshalJSON()
		}
		if err != nil {
			b.Fatal(err)
		}
		body = append(body, enc...)
	}
	if !msgpack {
		body = append(body, ']')
	}
	return body
}

// benchFieldNames are dataset definitions naming columns of their own for
// four hot fields, and renameFields sends a batch's hot fields under them.
var benchFieldNames = map[string]string{"my_trace": "trace.trace_id", "my_span": "trace.span_id", "my_parent": "trace.parent_id", "took": "duration_ms"}

func renameFields(body []byte) []byte {
	for col, field := range benchFieldNames {
		body = bytes.ReplaceAll(body, []byte(`"`+field+`"`), []byte(`"`+col+`"`))
	}
	return body
}

// BenchmarkDecodeBatch decodes and converts libhoney batches to
// model.Events; events/s and allocs/op (per batch of 50) are reported.
// The definitions cases decode a dataset with dataset definitions
// (Options.FieldNames): "unused" sends the fields' own names, "used" the
// defined columns.
func BenchmarkDecodeBatch(b *testing.B) {
	for _, tc := range []struct {
		name    string
		format  Format
		names   map[string]string
		renamed bool
	}{
		{"json", FormatJSON, nil, false}, {"msgpack", FormatMsgpack, nil, false},
		{"json-definitions-unused", FormatJSON, benchFieldNames, false},
		{"json-definitions-used", FormatJSON, benchFieldNames, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body := benchBatch(b, tc.format == FormatMsgpack)
			if tc.renamed {
				body = renameFields(body)
			}
			opt := Options{Dataset: "backend-flask", Now: now, FieldNames: tc.names}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				batch, err := DecodeBatch(body, tc.format, opt)
				if err != nil || len(batch.Events) != 50 {
					b.Fatalf("%v %d", err, len(batch.Events))
				}
			}
			b.ReportMetric(float64(50*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
