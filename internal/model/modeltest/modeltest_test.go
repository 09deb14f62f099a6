package modeltest

import (
	"reflect"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

func TestGenerateTraces(t *testing.T) {
	evs := GenerateTraces(7, 200)
	if len(evs) != 200*SpansPerTrace {
		t.Fatalf("got %d spans", len(evs))
	}
	if !reflect.DeepEqual(evs, GenerateTraces(7, 200)) {
		t.Fatal("same seed gave different spans")
	}
	if reflect.DeepEqual(evs[:10], GenerateTraces(8, 1)) {
		t.Fatal("different seeds gave the same spans")
	}
	services := map[string]bool{}
	keys := map[string]model.Kind{}
	values := map[string]bool{}
	errors := 0
	for i, e := range evs {
		if len(e.Attrs) != AttrsPerSpan {
			t.Fatalf("span %d has %d attributes", i, len(e.Attrs))
		}
		seen := map[string]bool{}
		for _, a := range e.Attrs {
			if seen[a.Key] {
				t.Fatalf("span %d repeats key %s", i, a.Key)
			}
			seen[a.Key] = true
			if k, ok := keys[a.Key]; ok && k != a.Value.Kind {
				t.Fatalf("key %s has kinds %v and %v", a.Key, k, a.Value.Kind)
			}
			keys[a.Key] = a.Value.Kind
			values[a.Value.String()] = true
		}
		services[e.ServiceName] = true
		if e.Error {
			errors++
		}
		if i%SpansPerTrace == 0 {
			if !e.ParentID.IsZero() || e.SpanKind != "server" {
				t.Fatalf("span %d should be a root", i)
			}
		} else if e.ParentID.IsZero() || e.TraceID != evs[i-i%SpansPerTrace].TraceID {
			t.Fatalf("span %d is not in its trace", i)
		}
		if e.DurationMs <= 0 {
			t.Fatalf("span %d lasts %v", i, e.DurationMs)
		}
	}
	if len(services) != Services || len(keys) != AttrKeys {
		t.Fatalf("%d services, %d keys", len(services), len(keys))
	}
	if errors == 0 || errors > len(evs)/10 {
		t.Fatalf("%d errors", errors)
	}
	if len(values) < 900 {
		t.Fatalf("only %d distinct values", len(values))
	}
}

func BenchmarkTrace(b *testing.B) {
	g := NewGenerator(1, Epoch, 1)
	buf := make([]model.Event, 0, SpansPerTrace)
	b.ReportAllocs()
	for b.Loop() {
		buf = g.Trace(buf[:0])
	}
}
