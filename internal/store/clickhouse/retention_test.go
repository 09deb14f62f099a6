package clickhouse

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// TestRetentionByAge: days past an environment's MaxAge are dropped as
// partitions, its door's part follows it, other environments keep
// theirs, and the rows of the straddling day past the limit go too.
func TestRetentionByAge(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	s := openTest(t, Config{Now: func() time.Time { return now }, RetentionInterval: time.Hour})
	ev := func(n int, at time.Time) model.Event {
		return model.Event{Dataset: "svc", Time: at, TraceID: model.TraceID{15: byte(n)}, SpanID: model.SpanID{7: byte(n)},
			Name: "op", ServiceName: "svc", SampleRate: 1}
	}
	times := []time.Time{now.Add(-5 * 24 * time.Hour), now.Add(-3 * 24 * time.Hour), now.Add(-30 * time.Hour), now.Add(-13 * time.Hour), now.Add(-time.Hour)}
	for _, env := range []string{"prod", store.DoorEnv("prod", model.DoorXRay), "dev"} {
		var evs []model.Event
		for i, at := range times {
			evs = append(evs, ev(i+1, at))
		}
		if err := s.Write(ctx, []store.Batch{{Env: env, Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetRetention(ctx, "prod", &store.Retention{MaxAge: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	parts := func(env string) int {
		rows, err := s.c.rows(ctx, "SELECT count(DISTINCT partition) FROM system.parts WHERE database = ? AND table = 'events' AND active AND partition LIKE ?",
			s.cfg.Database, "('"+env+"',%")
		if err != nil {
			t.Fatal(err)
		}
		return int(rows[0][0].(int64))
	}
	if n := parts("prod"); n != 4 {
		t.Fatalf("prod has %d day partitions before retention, want 4", n)
	}
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	// Days 03-05 and 03-07 are gone whole; 03-09 straddles the limit (its
	// event at 06:00 goes by a mutation, the one at 23:00 stays); 03-10
	// stays.
	if n := parts("prod"); n != 2 {
		t.Errorf("prod has %d day partitions after retention, want 2", n)
	}
	if n := parts("prod/xray"); n != 2 {
		t.Errorf("prod/xray has %d day partitions after retention, want 2", n)
	}
	if n := parts("dev"); n != 4 {
		t.Errorf("dev has %d day partitions, want all 4", n)
	}
	for i, at := range times {
		want := 0
		if now.Sub(at) < 24*time.Hour {
			want = 1
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := s.Trace(ctx, "prod", model.TraceID{15: byte(i + 1)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == want {
				break
			}
			if time.Now().After(deadline) { // the straddling day's mutation
				t.Fatalf("event %v old: %d events in prod, want %d", now.Sub(at), len(got), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got, _ := s.Trace(ctx, "dev", model.TraceID{15: byte(i + 1)}); len(got) != 1 {
			t.Errorf("dev lost its event %v old", now.Sub(at))
		}
	}
}

// TestRetentionBySize: past MaxBytes, an environment's oldest days go
// (its door's part counted with it), never its newest day; other
// environments keep theirs.
func TestRetentionBySize(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	s := openTest(t, Config{Now: func() time.Time { return now }, RetentionInterval: time.Hour})
	for _, env := range []string{"prod", store.DoorEnv("prod", model.DoorXRay), "dev"} {
		var evs []model.Event
		for d := range 3 {
			for i := range 200 {
				evs = append(evs, model.Event{Dataset: "svc", Time: now.Add(-time.Duration(d)*24*time.Hour + time.Duration(i)*time.Millisecond),
					TraceID: model.TraceID{14: byte(d), 15: byte(i)}, SpanID: model.SpanID{7: byte(i)}, Name: "op", ServiceName: "svc", SampleRate: 1,
					Attrs: []model.Attr{{Key: "payload", Value: model.Str(strings.Repeat(string(rune('a'+i%26)), 200+i))}}})
			}
		}
		if err := s.Write(ctx, []store.Batch{{Env: env, Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	days := func(env string) int {
		rows, err := s.c.rows(ctx, "SELECT count(DISTINCT partition) FROM system.parts WHERE database = ? AND table = 'events' AND active AND partition LIKE ?",
			s.cfg.Database, "('"+env+"',%")
		if err != nil {
			t.Fatal(err)
		}
		return int(rows[0][0].(int64))
	}
	if err := s.SetRetention(ctx, "prod", &store.Retention{MaxBytes: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if n, x := days("prod"), days("prod/xray"); n+x != 2 || n > 1 || x > 1 {
		t.Errorf("prod keeps %d days and prod/xray %d, want only the newest day of each", n, x)
	}
	if n := days("dev"); n != 3 {
		t.Errorf("dev keeps %d days, want 3", n)
	}
	if got, _ := s.Trace(ctx, "prod", model.TraceID{14: 0, 15: 1}); len(got) != 1 {
		t.Errorf("prod's newest day lost an event")
	}
	if got, _ := s.Trace(ctx, "prod", model.TraceID{14: 2, 15: 1}); len(got) != 0 {
		t.Errorf("prod's oldest day kept an event")
	}
}

func TestTTLRules(t *testing.T) {
	for _, c := range []struct {
		name      string
		def       store.Retention
		overrides map[string]store.Retention
		want      string
	}{
		{"none", store.Retention{}, nil, ""},
		{"sizes only", store.Retention{MaxBytes: 1 << 30}, map[string]store.Retention{"a": {MaxBytes: 5}}, ""},
		{"default", store.Retention{MaxAge: time.Hour}, nil,
			"toDateTime(intDiv(ts, 1000000000)) + INTERVAL 3600 SECOND DELETE"},
		{"overrides", store.Retention{MaxAge: 48 * time.Hour}, map[string]store.Retention{"p'x": {MaxAge: 90 * time.Minute}, "keep": {}},
			"toDateTime(intDiv(ts, 1000000000)) + INTERVAL 5400 SECOND DELETE WHERE (env = 'p\\'x' OR startsWith(env, 'p\\'x/')), " +
				"toDateTime(intDiv(ts, 1000000000)) + INTERVAL 172800 SECOND DELETE WHERE NOT ((env = 'keep' OR startsWith(env, 'keep/')) OR (env = 'p\\'x' OR startsWith(env, 'p\\'x/')))"},
		{"override without default", store.Retention{}, map[string]store.Retention{"a": {MaxAge: time.Millisecond}},
			"toDateTime(intDiv(ts, 1000000000)) + INTERVAL 1 SECOND DELETE WHERE (env = 'a' OR startsWith(env, 'a/'))"},
	} {
		if got := ttlRules(c.def, c.overrides); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
	}
}
