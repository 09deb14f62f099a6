package ingest

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRejectLog: one line per interval and kind; the next line counts
// those of its kind left out in between.
func TestRejectLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l := RejectLog{Interval: time.Hour}
	for i := range 4 {
		l.Warn(log, "401", "rejected", "n", i)
	}
	if got := strings.Count(buf.String(), "msg=rejected"); got != 1 {
		t.Fatalf("%d lines within one interval, want 1:\n%s", got, buf.String())
	}
	l.Warn(log, "404", "rejected", "n", 9) // another kind has its own interval
	v, _ := l.kinds.Load("401")
	v.(*rejectKind).next.Store(0) // the interval has passed
	l.Warn(log, "401", "rejected", "n", 4)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "n=0 not_logged_since_last=0") ||
		!strings.Contains(lines[1], "n=9 not_logged_since_last=0") || !strings.Contains(lines[2], "n=4 not_logged_since_last=3") {
		t.Fatalf("lines:\n%s", buf.String())
	}
}
