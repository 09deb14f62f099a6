package sampling

import (
	"context"
	"crypto/rand"
	"math"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

func TestIndexingDefaults(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, "")
	d, err := m.TraceSegmentDestination(ctx, "test")
	if err != nil || d != (Destination{DestinationXRay, "ACTIVE"}) {
		t.Fatalf("destination %+v %v", d, err)
	}
	rules, err := m.IndexingRules(ctx, "test")
	if err != nil || len(rules) != 1 || rules[0].Name != "Default" || rules[0].DesiredSamplingPercentage != 1 {
		t.Fatalf("rules %+v %v", rules, err)
	}
	ix, err := m.Indexing(ctx, "test")
	if err != nil || !ix.All {
		t.Fatalf("indexing with the XRay destination = %+v %v, want all", ix, err)
	}
}

func TestIndexingRuleUpdates(t *testing.T) {
	ctx := context.Background()
	m, clk := newManager(t, "")
	tests := []struct {
		name    string
		pct     *float64
		kind    Kind
		message string
	}{
		{"Default", nil, InvalidRequest, "1 validation error detected: Value null at 'rule.probabilistic.desiredSamplingPercentage' failed to satisfy constraint: Member must not be null"},
		{"Default", ptr(-1.0), InvalidRequest, "1 validation error detected: Value '-1' at 'rule.probabilistic.desiredSamplingPercentage' failed to satisfy constraint: Member must be between 0 and 100"},
		{"Default", ptr(100.5), InvalidRequest, ""},
		{"Default", ptr(math.NaN()), InvalidRequest, ""},
		{"Other", ptr(5.0), NotFound, "Indexing rule not found: Other"},
	}
	for _, tc := range tests {
		_, err := m.UpdateIndexingRule(ctx, "test", tc.name, tc.pct)
		if kindOf(err) != tc.kind || (tc.message != "" && err.Error() != tc.message) {
			t.Errorf("UpdateIndexingRule(%q, %v) = %v, want kind %d %q", tc.name, tc.pct, err, tc.kind, tc.message)
		}
	}
	clk.Add(time.Minute)
	r, err := m.UpdateIndexingRule(ctx, "test", "Default", ptr(25.0))
	if err != nil || r.DesiredSamplingPercentage != 25 || !r.ModifiedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("update = %+v %v", r, err)
	}
	// The rule governs nothing until the destination is CloudWatchLogs.
	if ix, _ := m.Indexing(ctx, "test"); !ix.All {
		t.Fatalf("indexing %+v, want all with the XRay destination", ix)
	}
	d, err := m.UpdateTraceSegmentDestination(ctx, "test", ptr(DestinationCloudWatchLogs))
	if err != nil || d != (Destination{DestinationCloudWatchLogs, "PENDING"}) {
		t.Fatalf("update destination = %+v %v", d, err)
	}
	clk.Add(destinationSettle)
	if d, _ := m.TraceSegmentDestination(ctx, "test"); d != (Destination{DestinationCloudWatchLogs, "ACTIVE"}) {
		t.Fatalf("destination after settling = %+v", d)
	}
	if ix, _ := m.Indexing(ctx, "test"); ix.All || ix.Percent != 25 {
		t.Fatalf("indexing %+v, want 25%%", ix)
	}
	if _, err := m.UpdateTraceSegmentDestination(ctx, "test", ptr("S3")); kindOf(err) != InvalidRequest {
		t.Fatalf("destination S3: %v", err)
	}
	// Unchanged by a nil destination; other environments untouched.
	if d, _ := m.UpdateTraceSegmentDestination(ctx, "test", nil); d.Destination != DestinationCloudWatchLogs || d.Status != "ACTIVE" {
		t.Fatalf("nil destination = %+v", d)
	}
	if ix, _ := m.Indexing(ctx, "other"); !ix.All {
		t.Fatalf("other environment %+v", ix)
	}
}

func TestIndexingPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, _ := newManager(t, dir)
	if _, err := m.UpdateIndexingRule(ctx, "test", "Default", ptr(40.0)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.UpdateTraceSegmentDestination(ctx, "test", ptr(DestinationCloudWatchLogs)); err != nil {
		t.Fatal(err)
	}
	m2, _ := newManager(t, dir)
	if ix, err := m2.Indexing(ctx, "test"); err != nil || ix.All || ix.Percent != 40 {
		t.Fatalf("reloaded indexing %+v %v", ix, err)
	}
}

func TestIndexedShare(t *testing.T) {
	for _, pct := range []float64{0, 1, 25, 100} {
		ix := Indexing{Percent: pct}
		n, in := 20000, 0
		for range n {
			var id model.TraceID
			rand.Read(id[:])
			if ix.Indexed(id) {
				in++
			}
		}
		got := 100 * float64(in) / float64(n)
		// 20,000 draws: the share is within ±0.8 points of pct with
		// probability far above 99.99% (5 standard deviations at 25%).
		if math.Abs(got-pct) > 0.8 || (pct == 0 && in != 0) || (pct == 100 && in != n) {
			t.Errorf("%v%%: indexed %.2f%%", pct, got)
		}
	}
	var id model.TraceID
	id[8] = 0x02 // 0x02… / 2^64 ≈ 0.78%: indexed at 1%, not at 0.5%
	if !(Indexing{Percent: 1}).Indexed(id) || (Indexing{Percent: 0.5}).Indexed(id) {
		t.Fatal("the decision is not the id's last eight bytes against the share")
	}
}
