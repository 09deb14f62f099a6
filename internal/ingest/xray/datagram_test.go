package xray

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

const segDoc = `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"6b55dcc497934f1a","name":"svc","start_time":1.5e9,"end_time":1.6e9}`

func TestSplitDatagram(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		doc    string
		reason string
	}{
		{"go sdk header", `{"format": "json", "version": 1}` + "\n" + segDoc, segDoc, ""},
		{"python sdk header", `{"format":"json","version":1}` + "\n" + segDoc, segDoc, ""},
		{"format in capitals", `{"format":"JSON","version":1}` + "\n" + segDoc, segDoc, ""},
		{"keys reordered, extra key", `{ "version" : 1 , "format" : "Json", "x": 2 }` + "\n" + segDoc, segDoc, ""},
		{"header with CR", `{"format":"json","version":1}` + "\r\n" + segDoc, segDoc, ""},
		{"trailing newline kept in body", `{"format":"json","version":1}` + "\n" + segDoc + "\n", segDoc + "\n", ""},
		{"no newline", segDoc, "", ReasonNoHeader},
		{"empty", "", "", ReasonNoHeader},
		{"version 2", `{"format":"json","version":2}` + "\n" + segDoc, "", ReasonBadHeader},
		{"version as string", `{"format":"json","version":"1"}` + "\n" + segDoc, "", ReasonBadHeader},
		{"version 1.0", `{"format":"json","version":1.0}` + "\n" + segDoc, "", ReasonBadHeader},
		{"no version", `{"format":"json"}` + "\n" + segDoc, "", ReasonBadHeader},
		{"format xml", `{"format":"xml","version":1}` + "\n" + segDoc, "", ReasonBadHeader},
		{"header not JSON", `format=json` + "\n" + segDoc, "", ReasonBadHeader},
		{"header is an array", `[{"format":"json","version":1}]` + "\n" + segDoc, "", ReasonBadHeader},
		{"empty header", "\n" + segDoc, "", ReasonBadHeader},
		{"empty body", `{"format":"json","version":1}` + "\n", "", ReasonEmptyBody},
		{"blank body", `{"format":"json","version":1}` + "\n \n\t", "", ReasonEmptyBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := SplitDatagram([]byte(tt.in))
			if tt.reason == "" {
				if err != nil || string(doc) != tt.doc {
					t.Fatalf("got %q, %v; want %q", doc, err, tt.doc)
				}
				return
			}
			var de *DatagramError
			if !errors.As(err, &de) || de.Reason != tt.reason {
				t.Fatalf("err = %v, want reason %s", err, tt.reason)
			}
		})
	}
}

// A captured-style datagram, header line included, decodes end to end.
func TestDatagramFixture(t *testing.T) {
	p, err := os.ReadFile("testdata/datagram_go_sdk.txt")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := SplitDatagram(p)
	if err != nil {
		t.Fatal(err)
	}
	events, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, doc, events)
	if len(events) != 3 || events[0].SpanKind != "server" || events[2].SpanKind != "client" {
		t.Fatalf("got %d events", len(events))
	}
}

// FuzzDatagram feeds one datagram to a daemon's handler: it must never
// panic, and every datagram is counted once, as either rejected, queued or
// dropped.
func FuzzDatagram(f *testing.F) {
	for _, s := range []string{
		`{"format": "json", "version": 1}` + "\n" + segDoc,
		`{"format":"json","version":1}` + "\n" + segDoc,
		`{"format":"json","version":1}` + "\n",
		"\n\n",
		`{"format":"json","version":1}` + "\n" + `{"type":"subsegment","trace_id":"1-5759e988-bd862e3fe1be46a994272793","parent_id":"6b55dcc497934f1a","id":"1111111111111111","name":"x","start_time":1.5e9,"in_progress":true}`,
	} {
		f.Add([]byte(s))
	}
	if p, err := os.ReadFile("testdata/datagram_go_sdk.txt"); err == nil {
		f.Add(p)
	}
	d, err := NewDaemon(Config{}, nopConsumer, Settings{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		rejected := sumVec(t, d.m.rejected)
		dropped := sumVec(t, d.m.dropped)
		d.handle(context.Background(), p, 0)
		taken, _ := d.queue.take(nil, 1<<30, queuedEvents)
		queued := len(taken)
		for _, q := range taken {
			q.release()
			if len(q.events) == 0 {
				t.Fatal("queued a document with no spans")
			}
		}
		counted := (sumVec(t, d.m.rejected) - rejected) + (sumVec(t, d.m.dropped) - dropped) + float64(queued)
		if counted != 1 {
			t.Fatalf("datagram counted %v times", counted)
		}
		if sumVec(t, d.m.rejected)-rejected == 1 {
			if n := testutil.ToFloat64(d.m.rejected.WithLabelValues(reasonInternal)); n != 0 {
				t.Fatalf("decoder panicked")
			}
		}
	})
}
