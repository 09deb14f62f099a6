package sampling

import (
	"context"
	"errors"
	"fmt"
	"github.com/tracecomb/tracecomb/internal/state"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newManager returns a Manager kept in memory, or, with dir, in an
// embedded state store in dir (a new handle on it each call, as a restart
// or another process would have).
func newManager(t *testing.T, dir string) (*Manager, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0}
	cfg := Config{Now: clk.Now}
	if dir != "" {
		st, err := state.OpenFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cfg.State = st
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, clk
}

func ptr[T any](v T) *T { return &v }

// cruddur is the lesson's rule.
func cruddur() RuleSpec {
	return RuleSpec{
		RuleName: ptr("Cruddur"), ResourceARN: ptr("*"), Priority: ptr[int64](9000),
		FixedRate: ptr(0.1), ReservoirSize: ptr[int64](5), ServiceName: ptr("backend-flask"),
		ServiceType: ptr("*"), Host: ptr("*"), HTTPMethod: ptr("*"), URLPath: ptr("*"), Version: ptr[int64](1),
	}
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestDefaultRuleSeeded(t *testing.T) {
	m, _ := newManager(t, "")
	recs, err := m.Rules(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("got %d rules, want only Default", len(recs))
	}
	r := recs[0]
	want := Rule{RuleName: "Default", RuleARN: "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default", ResourceARN: "*",
		Priority: 10000, FixedRate: 0.05, ReservoirSize: 1, ServiceName: "*", ServiceType: "*", Host: "*",
		HTTPMethod: "*", URLPath: "*", Version: 1}
	r.Rule.Attributes = nil
	if fmt.Sprint(r.Rule) != fmt.Sprint(want) || r.CreatedAt.Unix() != 0 || r.ModifiedAt.Unix() != 0 {
		t.Fatalf("Default = %+v (created %v), want %+v at epoch 0", r.Rule, r.CreatedAt, want)
	}
}

func TestCreateRuleValidation(t *testing.T) {
	long := func(n int) *string { return ptr(strings.Repeat("x", n)) }
	tests := []struct {
		name   string
		mod    func(s *RuleSpec)
		kind   Kind
		substr string
	}{
		{"ok", func(s *RuleSpec) {}, 0, ""},
		{"no name", func(s *RuleSpec) { s.RuleName = nil }, InvalidRequest, "'samplingRule.ruleName' failed to satisfy constraint: Member must not be null"},
		{"empty name", func(s *RuleSpec) { s.RuleName = ptr("") }, InvalidRequest, "length greater than or equal to 1"},
		{"name 33", func(s *RuleSpec) { s.RuleName = long(33) }, InvalidRequest, "'samplingRule.ruleName' failed to satisfy constraint: Member must have length less than or equal to 32"},
		{"name 32", func(s *RuleSpec) { s.RuleName = long(32) }, 0, ""},
		{"resource arn 501", func(s *RuleSpec) { s.ResourceARN = long(501) }, InvalidRequest, "'samplingRule.resourceARN' failed to satisfy constraint: Member must have length less than or equal to 500"},
		{"priority 0", func(s *RuleSpec) { s.Priority = ptr[int64](0) }, InvalidRequest, "Value '0' at 'samplingRule.priority' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"priority 10000", func(s *RuleSpec) { s.Priority = ptr[int64](10000) }, InvalidRequest, "less than or equal to 9999"},
		{"priority 9999", func(s *RuleSpec) { s.Priority = ptr[int64](9999) }, 0, ""},
		{"rate 1.5", func(s *RuleSpec) { s.FixedRate = ptr(1.5) }, InvalidRequest, "'samplingRule.fixedRate' failed to satisfy constraint: Member must have value between 0 and 1"},
		{"rate -0.1", func(s *RuleSpec) { s.FixedRate = ptr(-0.1) }, InvalidRequest, "fixedRate"},
		{"rate 1", func(s *RuleSpec) { s.FixedRate = ptr(1.0) }, 0, ""},
		{"reservoir -1", func(s *RuleSpec) { s.ReservoirSize = ptr[int64](-1) }, InvalidRequest, "'samplingRule.reservoirSize' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"service name 65", func(s *RuleSpec) { s.ServiceName = long(65) }, InvalidRequest, "'samplingRule.serviceName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"service type 65", func(s *RuleSpec) { s.ServiceType = long(65) }, InvalidRequest, "serviceType"},
		{"host 65", func(s *RuleSpec) { s.Host = long(65) }, InvalidRequest, "'samplingRule.host'"},
		{"method 11", func(s *RuleSpec) { s.HTTPMethod = long(11) }, InvalidRequest, "less than or equal to 10"},
		{"path 129", func(s *RuleSpec) { s.URLPath = long(129) }, InvalidRequest, "less than or equal to 128"},
		{"no url path", func(s *RuleSpec) { s.URLPath = nil }, InvalidRequest, "'samplingRule.uRLPath' failed to satisfy constraint: Member must not be null"},
		{"version 2", func(s *RuleSpec) { s.Version = ptr[int64](2) }, InvalidRequest, "Value '2' at 'samplingRule.version'"},
		{"no version", func(s *RuleSpec) { s.Version = nil }, InvalidRequest, "samplingRule.version"},
		{"6 attributes", func(s *RuleSpec) {
			s.Attributes = map[string]string{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1"}
		}, InvalidRequest, "at most 5 entries"},
		{"attribute value 33", func(s *RuleSpec) { s.Attributes = map[string]string{"k": strings.Repeat("v", 33)} }, InvalidRequest, "samplingRule.attributes.k"},
		{"attribute empty value", func(s *RuleSpec) { s.Attributes = map[string]string{"k": ""} }, InvalidRequest, "length greater than or equal to 1"},
		{"attribute key 33", func(s *RuleSpec) { s.Attributes = map[string]string{strings.Repeat("k", 33): "v"} }, InvalidRequest, "samplingRule.attributes key"},
		{"default reserved", func(s *RuleSpec) { s.RuleName = ptr("Default") }, InvalidRequest, "reserved"},
		{"two errors", func(s *RuleSpec) { s.Priority = ptr[int64](0); s.FixedRate = ptr(2.0) }, InvalidRequest, "2 validation errors detected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newManager(t, "")
			s := cruddur()
			tt.mod(&s)
			_, err := m.CreateRule(context.Background(), "test", s, nil)
			if kindOf(err) != tt.kind || (err == nil) != (tt.kind == 0) {
				t.Fatalf("err = %v, want kind %d", err, tt.kind)
			}
			if err != nil && !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.substr)
			}
		})
	}
}

func TestRuleLifecycle(t *testing.T) {
	ctx := context.Background()
	m, clk := newManager(t, "")
	rec, err := m.CreateRule(ctx, "test", cruddur(), []Tag{{Key: "team", Value: "cruddur"}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Rule.RuleARN != "arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur" || !rec.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", rec)
	}
	if _, err := m.CreateRule(ctx, "test", cruddur(), nil); kindOf(err) != InvalidRequest || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	// Another environment does not see it.
	if recs, _ := m.Rules(ctx, "prod"); len(recs) != 1 {
		t.Fatalf("prod sees %d rules", len(recs))
	}
	clk.Add(time.Minute)
	up, err := m.UpdateRule(ctx, "test", RuleSpec{RuleName: ptr("Cruddur"), FixedRate: ptr(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	if up.Rule.FixedRate != 0.5 || up.Rule.ReservoirSize != 5 || !up.ModifiedAt.Equal(t0.Add(time.Minute)) || !up.CreatedAt.Equal(t0) {
		t.Fatalf("updated %+v", up)
	}
	if _, err := m.UpdateRule(ctx, "test", RuleSpec{RuleName: ptr("Nope"), FixedRate: ptr(0.5)}); kindOf(err) != InvalidRequest {
		t.Fatalf("update unknown: %v", err)
	}
	if _, err := m.UpdateRule(ctx, "test", RuleSpec{FixedRate: ptr(0.5)}); kindOf(err) != InvalidRequest {
		t.Fatalf("update without name: %v", err)
	}
	if _, err := m.UpdateRule(ctx, "test", RuleSpec{RuleName: ptr("Cruddur"), Priority: ptr[int64](0)}); kindOf(err) != InvalidRequest || !strings.Contains(err.Error(), "samplingRuleUpdate.priority") {
		t.Fatalf("update bad priority: %v", err)
	}
	// Default: rate and reservoir only.
	d, err := m.UpdateRule(ctx, "test", RuleSpec{RuleName: ptr("Default"), FixedRate: ptr(0.2), ReservoirSize: ptr[int64](3)})
	if err != nil || d.Rule.FixedRate != 0.2 || d.Rule.ReservoirSize != 3 || d.Rule.Priority != 10000 {
		t.Fatalf("update Default: %+v %v", d, err)
	}
	if _, err := m.UpdateRule(ctx, "test", RuleSpec{RuleName: ptr("Default"), Priority: ptr[int64](5)}); kindOf(err) != InvalidRequest || !strings.Contains(err.Error(), "default sampling rule") {
		t.Fatalf("update Default priority: %v", err)
	}
	if _, err := m.DeleteRule(ctx, "test", ptr("Default"), nil); kindOf(err) != InvalidRequest {
		t.Fatalf("delete Default: %v", err)
	}
	if _, err := m.DeleteRule(ctx, "test", ptr("Cruddur"), ptr(rec.Rule.RuleARN)); kindOf(err) != InvalidRequest {
		t.Fatalf("delete with both: %v", err)
	}
	del, err := m.DeleteRule(ctx, "test", nil, ptr(rec.Rule.RuleARN))
	if err != nil || del.Rule.RuleName != "Cruddur" {
		t.Fatalf("delete by ARN: %+v %v", del, err)
	}
	if _, err := m.DeleteRule(ctx, "test", ptr("Cruddur"), nil); kindOf(err) != InvalidRequest {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestRuleLimit(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, "")
	for i := range 25 {
		s := cruddur()
		s.RuleName = ptr(fmt.Sprintf("r%02d", i))
		if _, err := m.CreateRule(ctx, "test", s, nil); err != nil {
			t.Fatal(err)
		}
	}
	s := cruddur()
	if _, err := m.CreateRule(ctx, "test", s, nil); kindOf(err) != RuleLimitExceeded {
		t.Fatalf("26th rule: %v", err)
	}
}

func TestMatchOrder(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, "")
	mk := func(name string, prio int64, svc, path string) {
		s := cruddur()
		s.RuleName, s.Priority, s.ServiceName, s.URLPath = ptr(name), ptr(prio), ptr(svc), ptr(path)
		if _, err := m.CreateRule(ctx, "test", s, nil); err != nil {
			t.Fatal(err)
		}
	}
	mk("health", 100, "*", "/api/health*")
	mk("b-flask", 9000, "backend-*", "*")
	mk("a-flask", 9000, "BACKEND-FLASK", "*")
	tests := []struct {
		req  Request
		want string
	}{
		{Request{ServiceName: "backend-flask", URLPath: "/api/health-check"}, "health"},
		{Request{ServiceName: "backend-flask", URLPath: "/api/activities/home"}, "a-flask"},
		{Request{ServiceName: "backend-node", URLPath: "/"}, "b-flask"},
		{Request{ServiceName: "frontend", URLPath: "/"}, "Default"},
		{Request{}, "health"},
	}
	for _, tt := range tests {
		r, err := m.MatchRule(ctx, "test", tt.req)
		if err != nil || r.RuleName != tt.want {
			t.Errorf("MatchRule(%+v) = %s, %v; want %s", tt.req, r.RuleName, err, tt.want)
		}
	}
	attr := Rule{ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", ResourceARN: "*", Attributes: map[string]string{"tier": "gold*"}}
	if attr.Matches(Request{}) || !attr.Matches(Request{Attributes: map[string]string{"tier": "Golden"}}) {
		t.Error("attribute matching")
	}
}

func TestReservoirShares(t *testing.T) {
	tests := []struct {
		size  int64
		rates map[string]float64
		want  map[string]int64
	}{
		{5, map[string]float64{"a": 10}, map[string]int64{"a": 5}},
		{5, map[string]float64{"a": 10, "b": 10}, map[string]int64{"a": 3, "b": 2}},
		{10, map[string]float64{"a": 30, "b": 10}, map[string]int64{"a": 8, "b": 2}},
		{5, map[string]float64{"a": 1, "b": 1, "c": 1}, map[string]int64{"a": 2, "b": 2, "c": 1}},
		{5, map[string]float64{"a": 0, "b": 0}, map[string]int64{"a": 3, "b": 2}},
		{0, map[string]float64{"a": 5}, map[string]int64{"a": 0}},
		{1, map[string]float64{"a": 1, "b": 100}, map[string]int64{"a": 0, "b": 1}},
	}
	for _, tt := range tests {
		got := ReservoirShares(tt.size, tt.rates)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("ReservoirShares(%d, %v) = %v, want %v", tt.size, tt.rates, got, tt.want)
		}
		var sum int64
		for _, v := range got {
			sum += v
		}
		if sum != tt.size {
			t.Errorf("shares sum to %d, want %d", sum, tt.size)
		}
	}
}

func statDoc(rule, client string, ts float64, req, sampled, borrowed int64) StatisticsDocument {
	return StatisticsDocument{RuleName: &rule, ClientID: &client, Timestamp: &ts, RequestCount: &req, SampledCount: &sampled, BorrowCount: &borrowed}
}

const (
	clientA = "aaaaaaaaaaaaaaaaaaaaaaaa"
	clientB = "bbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestTargets(t *testing.T) {
	ctx := context.Background()
	m, clk := newManager(t, "")
	if _, err := m.CreateRule(ctx, "test", cruddur(), nil); err != nil {
		t.Fatal(err)
	}
	now := float64(t0.Unix())
	res, err := m.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientA, now, 300, 35, 0)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 1 {
		t.Fatalf("targets %+v", res)
	}
	tg := res.Targets[0]
	if tg.ReservoirQuota != 5 || tg.FixedRate != 0.1 || tg.Interval != 10 || !tg.ReservoirQuotaTTL.Equal(t0.Add(300*time.Second)) {
		t.Fatalf("lone client target %+v", tg)
	}
	if !res.LastRuleModification.Equal(t0) {
		t.Fatalf("LastRuleModification %v, want %v", res.LastRuleModification, t0)
	}
	// A second instance with a third of the traffic: 5 split 3.75/1.25 → 4/1.
	clk.Add(5 * time.Second)
	res, _ = m.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientB, now*1000+5000, 100, 10, 0)}, nil) // Java ms
	if q := res.Targets[0].ReservoirQuota; q != 1 {
		t.Fatalf("B quota %d, want 1 (targets %+v, unprocessed %+v)", q, res.Targets, res.Unprocessed)
	}
	res, _ = m.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientA, now+5, 300, 35, 0)}, nil)
	if q := res.Targets[0].ReservoirQuota; q != 4 {
		t.Fatalf("A quota %d, want 4", q)
	}
	// A goes silent for more than two intervals: B gets everything.
	clk.Add(25 * time.Second)
	res, _ = m.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientB, now+30, 100, 10, 0)}, nil)
	if q := res.Targets[0].ReservoirQuota; q != 5 {
		t.Fatalf("B alone quota %d, want 5", q)
	}
	// Unknown rule and stale timestamp are unprocessed with 400.
	res, err = m.Targets(ctx, "test", []StatisticsDocument{
		statDoc("Nope", clientA, now+30, 1, 0, 0),
		statDoc("Cruddur", clientA, now-7200, 1, 0, 0),
	}, nil)
	if err != nil || len(res.Targets) != 0 || len(res.Unprocessed) != 2 || res.Unprocessed[0].ErrorCode != "400" || res.Unprocessed[1].ErrorCode != "400" {
		t.Fatalf("unprocessed: %+v %v", res, err)
	}
	// Validation.
	bad := statDoc("Cruddur", "short", now, -1, 0, 0)
	if _, err := m.Targets(ctx, "test", []StatisticsDocument{bad}, nil); kindOf(err) != InvalidRequest || !strings.Contains(err.Error(), "clientID") || !strings.Contains(err.Error(), "requestCount") {
		t.Fatalf("bad doc: %v", err)
	}
	many := make([]StatisticsDocument, 26)
	for i := range many {
		many[i] = statDoc("Cruddur", clientA, now, 1, 0, 0)
	}
	if _, err := m.Targets(ctx, "test", many, nil); kindOf(err) != InvalidRequest {
		t.Fatalf("26 docs: %v", err)
	}
	// Summaries per window.
	sums, _ := m.StatisticSummaries(ctx, "test")
	var reqs, sampled int64
	for _, s := range sums {
		if s.RuleName != "Cruddur" {
			t.Fatalf("summary for %s", s.RuleName)
		}
		reqs += s.RequestCount
		sampled += s.SampledCount
	}
	if reqs != 800 || sampled != 90 {
		t.Fatalf("summaries %+v: requests %d sampled %d", sums, reqs, sampled)
	}
	// Rule changes move LastRuleModification.
	clk.Add(time.Minute)
	if _, err := m.UpdateRule(ctx, "test", RuleSpec{RuleName: ptr("Cruddur"), FixedRate: ptr(0.3)}); err != nil {
		t.Fatal(err)
	}
	res, _ = m.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientA, float64(clk.Now().Unix()), 1, 0, 0)}, nil)
	if !res.LastRuleModification.Equal(clk.Now()) || res.Targets[0].FixedRate != 0.3 {
		t.Fatalf("after update: %+v", res)
	}
}

// TestSamplingDecisions simulates SDK instances running the X-Ray client
// algorithm (spec §4.2) against the server's targets with the injected
// clock: the lesson's rule gives about 5 traces/s plus 10% of the rest, a
// FixedRate 0.5 rule without reservoir about half.
func TestSamplingDecisions(t *testing.T) {
	tests := []struct {
		name       string
		rate       float64
		reservoir  int64
		instances  int
		perSecond  int // requests per second per instance
		wantPerSec float64
		tolerance  float64
	}{
		{"half", 0.5, 0, 1, 100, 50, 5},
		{"lesson rule, one instance", 0.1, 5, 1, 100, 5 + 0.1*95, 1.5},
		{"lesson rule, three instances", 0.1, 5, 3, 40, 5 + 0.1*115, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m, clk := newManager(t, "")
			s := cruddur()
			s.FixedRate, s.ReservoirSize = ptr(tt.rate), ptr(tt.reservoir)
			if _, err := m.CreateRule(ctx, "test", s, nil); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			type inst struct {
				id                         string
				quota                      int64
				ttl                        time.Time
				req, sampled, borrowed     int64
				usedThisSecond, lastSecond int64
			}
			insts := make([]*inst, tt.instances)
			for i := range insts {
				insts[i] = &inst{id: fmt.Sprintf("%024x", i+1), lastSecond: -1}
			}
			const seconds = 120
			var total int64
			for sec := range int64(seconds) {
				now := clk.Now()
				for _, in := range insts {
					for range tt.perSecond {
						in.req++
						if in.lastSecond != sec {
							in.lastSecond, in.usedThisSecond = sec, 0
						}
						sample := false
						switch {
						case !in.ttl.IsZero() && !now.After(in.ttl):
							if in.usedThisSecond < in.quota {
								in.usedThisSecond++
								in.sampled++
								sample = true
							} else if rng.Float64() < tt.rate {
								in.sampled++
								sample = true
							}
						case tt.reservoir > 0 && in.usedThisSecond < 1: // borrow 1/s
							in.usedThisSecond++
							in.borrowed++
							sample = true
						case rng.Float64() < tt.rate:
							in.sampled++
							sample = true
						}
						if sample && sec >= 20 { // measure after warm-up
							total++
						}
					}
				}
				if sec%10 == 9 {
					for _, in := range insts {
						res, err := m.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", in.id, float64(now.Unix()), in.req, in.sampled, in.borrowed)}, nil)
						if err != nil || len(res.Targets) != 1 {
							t.Fatalf("targets: %+v %v", res, err)
						}
						in.quota, in.ttl = res.Targets[0].ReservoirQuota, res.Targets[0].ReservoirQuotaTTL
						in.req, in.sampled, in.borrowed = 0, 0, 0
					}
				}
				clk.Add(time.Second)
			}
			got := float64(total) / (seconds - 20)
			if got < tt.wantPerSec-tt.tolerance || got > tt.wantPerSec+tt.tolerance {
				t.Fatalf("sampled %.2f/s, want %.2f ± %.1f", got, tt.wantPerSec, tt.tolerance)
			}
		})
	}
}

func TestPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m, _ := newManager(t, dir)
	if _, err := m.CreateRule(ctx, "test", cruddur(), []Tag{{Key: "k", Value: "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.UpdateRule(ctx, "test", RuleSpec{RuleName: ptr("Default"), FixedRate: ptr(0.2)}); err != nil {
		t.Fatal(err)
	}
	g, err := m.CreateGroup(ctx, "test", GroupSpec{GroupName: ptr("Cruddur"), FilterExpression: ptr(`service("backend-flask")`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.PutEncryptionConfig(ctx, "test", ptr("KMS"), ptr("alias/x")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PutResourcePolicy(ctx, "test", ptr("p1"), ptr(`{"Statement":[]}`), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateGroup(ctx, "odd/env name", GroupSpec{GroupName: ptr("Other")}); err != nil {
		t.Fatal(err)
	}
	m2, _ := newManager(t, dir)
	recs, _ := m2.Rules(ctx, "test")
	if len(recs) != 2 || recs[0].Rule.RuleName != "Cruddur" || recs[1].Rule.FixedRate != 0.2 || len(recs[0].Tags) != 1 {
		t.Fatalf("reloaded rules %+v", recs)
	}
	g2, err := m2.Group(ctx, "test", ptr("Cruddur"), nil)
	if err != nil || g2.GroupARN != g.GroupARN || g2.FilterExpression != g.FilterExpression {
		t.Fatalf("reloaded group %+v %v", g2, err)
	}
	e, _ := m2.EncryptionConfig(ctx, "test")
	if e.Type != "KMS" || e.KeyID != "alias/x" {
		t.Fatalf("reloaded encryption %+v", e)
	}
	if pols, _ := m2.ResourcePolicies(ctx, "test"); len(pols) != 1 || pols[0].PolicyRevisionID != "1" {
		t.Fatalf("reloaded policies %+v", pols)
	}
	if gs, _ := m2.Groups(ctx, "odd/env name"); len(gs) != 2 {
		t.Fatalf("odd env groups %+v", gs)
	}
	res, _ := m2.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientA, float64(t0.Unix()), 1, 0, 0)}, nil)
	if !res.LastRuleModification.Equal(t0) {
		t.Fatalf("LastRuleModification after restart %v", res.LastRuleModification)
	}
}

// TestStoreFailureRollsBack: when the configuration cannot be stored, the
// change is not kept in memory either.
func TestStoreFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	st, err := state.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{State: st, Now: (&fakeClock{t: t0}).Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rules(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	st.Close() // every write fails now
	if _, err := m.CreateRule(ctx, "test", cruddur(), nil); err == nil {
		t.Fatal("create succeeded although the state could not be written")
	}
	if recs, _ := m.Rules(ctx, "test"); len(recs) != 1 {
		t.Fatalf("rule kept after failed write: %+v", recs)
	}
}

// TestTwoManagersOneStore: two processes (or nodes) on one state store: a
// rule one creates is seen by the other after Watch, and writes made from
// stale copies are not lost.
func TestTwoManagersOneStore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	a, _ := newManager(t, dir)
	b, _ := newManager(t, dir)
	go b.Watch(ctx)
	if _, err := b.Rules(ctx, "test"); err != nil { // b caches the environment
		t.Fatal(err)
	}
	if _, err := a.CreateRule(ctx, "test", cruddur(), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, _ := b.Rules(ctx, "test")
		if len(recs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b never saw a's rule: %+v", recs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Both change the environment: neither change is lost.
	if _, err := a.CreateGroup(ctx, "test", GroupSpec{GroupName: ptr("ga")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateGroup(ctx, "test", GroupSpec{GroupName: ptr("gb")}); err != nil {
		t.Fatal(err)
	}
	c, _ := newManager(t, dir)
	if gs, _ := c.Groups(ctx, "test"); len(gs) != 3 { // Default, ga, gb
		t.Fatalf("groups %+v, want Default, ga and gb", gs)
	}
}

// TestReservoirSharedAcrossNodes: two servers over one state store split
// a rule's reservoir among all the instances that report to either, as
// X-Ray splits it across a fleet, and both count every report.
func TestReservoirSharedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, clkA := newManager(t, dir)
	b, clkB := newManager(t, dir)
	if _, err := a.CreateRule(ctx, "test", cruddur(), nil); err != nil {
		t.Fatal(err)
	}
	now := float64(t0.Unix())
	res, err := a.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientA, now, 300, 35, 0)}, nil)
	if err != nil || len(res.Targets) != 1 || res.Targets[0].ReservoirQuota != 5 {
		t.Fatalf("A alone on node a: %+v %v", res, err)
	}
	// B reports to the other node with a third of A's traffic: 5 split
	// 3.75/1.25 gives 4/1, wherever each reports.
	clkA.Add(5 * time.Second)
	clkB.Add(5 * time.Second)
	res, err = b.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientB, now+5, 100, 10, 0)}, nil)
	if err != nil || len(res.Targets) != 1 || res.Targets[0].ReservoirQuota != 1 {
		t.Fatalf("B on node b: %+v %v (node b must see A's rate)", res, err)
	}
	res, _ = a.Targets(ctx, "test", []StatisticsDocument{statDoc("Cruddur", clientA, now+5, 300, 35, 0)}, nil)
	if q := res.Targets[0].ReservoirQuota; q != 4 {
		t.Fatalf("A quota %d, want 4", q)
	}
	var total int64
	sums, err := b.StatisticSummaries(ctx, "test")
	for _, s := range sums {
		total += s.RequestCount
	}
	if err != nil || total != 700 {
		t.Fatalf("node b's summaries count %d requests (%+v, %v), want 700 from both nodes", total, sums, err)
	}
}

// TestImport: the per-environment files of an older tracecomb move into
// the state store once.
func TestImport(t *testing.T) {
	ctx := context.Background()
	old := t.TempDir()
	doc := `{"FormatVersion":1,"Rules":[{"SamplingRule":{"RuleName":"Cruddur","RuleARN":"arn:aws:xray:us-east-1:000000000000:sampling-rule/Cruddur","ResourceARN":"*","Priority":9000,"FixedRate":0.1,"ReservoirSize":5,"ServiceName":"backend-flask","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1,"Attributes":{}},"CreatedAt":"2026-11-25T12:00:00Z","ModifiedAt":"2026-11-25T12:00:00Z"}],"Groups":[],"Encryption":{"Type":"NONE"},"LastRuleModification":"2026-11-25T12:00:00Z"}`
	if err := os.WriteFile(filepath.Join(old, "test.xray.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := state.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := Import(ctx, st, old); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{State: st})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := m.Rules(ctx, "test")
	if err != nil || len(recs) != 2 || recs[0].Rule.RuleName != "Cruddur" {
		t.Fatalf("imported rules %+v, %v", recs, err)
	}
	if _, err := os.Stat(filepath.Join(old, "test.xray.json.imported")); err != nil {
		t.Fatalf("the imported file was not set aside: %v", err)
	}
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	valid := func(expr string) error {
		if strings.Count(expr, "(") != strings.Count(expr, ")") {
			return errors.New("unbalanced parentheses")
		}
		return nil
	}
	clk := &fakeClock{t: t0}
	m, err := New(Config{Now: clk.Now, ValidateFilter: valid})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		spec   GroupSpec
		substr string
	}{
		{"no name", GroupSpec{}, "'groupName' failed to satisfy constraint: Member must not be null"},
		{"long", GroupSpec{GroupName: ptr(strings.Repeat("g", 33))}, "less than or equal to 32"},
		{"bad chars", GroupSpec{GroupName: ptr("a b")}, "only letters, digits and '-'"},
		{"reserved", GroupSpec{GroupName: ptr("Default")}, "reserved"},
		{"bad filter", GroupSpec{GroupName: ptr("x"), FilterExpression: ptr(`service("a"`)}, "Invalid filter expression: unbalanced parentheses"},
		{"notifications without insights", GroupSpec{GroupName: ptr("x"), InsightsConfiguration: &InsightsConfiguration{NotificationsEnabled: ptr(true)}}, "insights enabled"},
		{"aws tag", GroupSpec{GroupName: ptr("x"), Tags: []Tag{{Key: "aws:x", Value: "1"}}}, "reserved prefix"},
	}
	for _, tt := range tests {
		if _, err := m.CreateGroup(ctx, "test", tt.spec); kindOf(err) != InvalidRequest || !strings.Contains(err.Error(), tt.substr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.substr)
		}
	}
	g, err := m.CreateGroup(ctx, "test", GroupSpec{GroupName: ptr("Cruddur"), FilterExpression: ptr(`service("backend-flask")`)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g.GroupARN, "arn:aws:xray:us-east-1:000000000000:group/Cruddur/") || len(g.GroupARN) != len("arn:aws:xray:us-east-1:000000000000:group/Cruddur/")+26 {
		t.Fatalf("ARN %s", g.GroupARN)
	}
	if _, err := m.CreateGroup(ctx, "test", GroupSpec{GroupName: ptr("Cruddur")}); kindOf(err) != InvalidRequest {
		t.Fatalf("duplicate: %v", err)
	}
	gs, _ := m.Groups(ctx, "test")
	if len(gs) != 2 || gs[0].GroupName != "Default" || gs[0].GroupARN != "arn:aws:xray:us-east-1:000000000000:group/Default" {
		t.Fatalf("groups %+v", gs)
	}
	byARN, err := m.Group(ctx, "test", nil, &g.GroupARN)
	if err != nil || byARN.GroupName != "Cruddur" {
		t.Fatalf("by ARN: %+v %v", byARN, err)
	}
	up, err := m.UpdateGroup(ctx, "test", GroupSpec{GroupName: ptr("Cruddur"), InsightsConfiguration: &InsightsConfiguration{InsightsEnabled: ptr(true), NotificationsEnabled: ptr(true)}})
	if err != nil || !up.InsightsEnabled || !up.NotificationsEnabled || up.FilterExpression != `service("backend-flask")` {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := m.UpdateGroup(ctx, "test", GroupSpec{GroupName: ptr("Default"), FilterExpression: ptr("x")}); kindOf(err) != InvalidRequest {
		t.Fatalf("update Default: %v", err)
	}
	if err := m.DeleteGroup(ctx, "test", ptr("Default"), nil); kindOf(err) != InvalidRequest {
		t.Fatalf("delete Default: %v", err)
	}
	if err := m.DeleteGroup(ctx, "test", ptr("Cruddur"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Group(ctx, "test", ptr("Cruddur"), nil); kindOf(err) != InvalidRequest {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestTagsAndEncryption(t *testing.T) {
	ctx := context.Background()
	m, clk := newManager(t, "")
	rec, _ := m.CreateRule(ctx, "test", cruddur(), nil)
	arn := rec.Rule.RuleARN
	if err := m.TagResource(ctx, "test", arn, []Tag{{Key: "a", Value: "1"}, {Key: "b", Value: ""}}); err != nil {
		t.Fatal(err)
	}
	if err := m.TagResource(ctx, "test", arn, []Tag{{Key: "a", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	tags, _ := m.Tags(ctx, "test", arn)
	if fmt.Sprint(tags) != "[{a 2} {b }]" {
		t.Fatalf("tags %v", tags)
	}
	if err := m.UntagResource(ctx, "test", arn, []string{"a", "zzz"}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := m.Tags(ctx, "test", arn); fmt.Sprint(tags) != "[{b }]" {
		t.Fatalf("after untag %v", tags)
	}
	if err := m.TagResource(ctx, "test", "arn:aws:xray:us-east-1:000000000000:sampling-rule/none", []Tag{{Key: "a", Value: "1"}}); kindOf(err) != NotFound {
		t.Fatalf("unknown ARN: %v", err)
	}
	var many []Tag
	for i := range 50 {
		many = append(many, Tag{Key: fmt.Sprintf("k%d", i), Value: "v"})
	}
	if err := m.TagResource(ctx, "test", arn, many); kindOf(err) != TooManyTags {
		t.Fatalf("51 tags: %v", err)
	}
	if err := m.TagResource(ctx, "test", arn, []Tag{{Key: "bad*char", Value: "v"}}); kindOf(err) != InvalidRequest {
		t.Fatalf("bad char: %v", err)
	}

	e, _ := m.EncryptionConfig(ctx, "test")
	if e.Type != "NONE" || e.Status != "ACTIVE" {
		t.Fatalf("default encryption %+v", e)
	}
	if _, err := m.PutEncryptionConfig(ctx, "test", ptr("KMS"), nil); kindOf(err) != InvalidRequest {
		t.Fatalf("KMS without key: %v", err)
	}
	if _, err := m.PutEncryptionConfig(ctx, "test", ptr("AES"), nil); kindOf(err) != InvalidRequest {
		t.Fatalf("bad type: %v", err)
	}
	e, err := m.PutEncryptionConfig(ctx, "test", ptr("KMS"), ptr("alias/aws/xray"))
	if err != nil || e.Status != "UPDATING" {
		t.Fatalf("put: %+v %v", e, err)
	}
	clk.Add(10 * time.Second)
	if e, _ := m.EncryptionConfig(ctx, "test"); e.Status != "ACTIVE" || e.KeyID != "alias/aws/xray" {
		t.Fatalf("after settle %+v", e)
	}
}

func BenchmarkTargets(b *testing.B) {
	ctx := context.Background()
	clk := &fakeClock{t: t0}
	m, _ := New(Config{Now: clk.Now})
	if _, err := m.CreateRule(ctx, "test", cruddur(), nil); err != nil {
		b.Fatal(err)
	}
	docs := []StatisticsDocument{statDoc("Cruddur", clientA, float64(t0.Unix()), 100, 10, 0), statDoc("Default", clientA, float64(t0.Unix()), 10, 1, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Targets(ctx, "test", docs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchRule(b *testing.B) {
	ctx := context.Background()
	m, _ := New(Config{Now: func() time.Time { return t0 }})
	for i := range 20 {
		s := cruddur()
		s.RuleName = ptr(fmt.Sprintf("r%02d", i))
		s.URLPath = ptr(fmt.Sprintf("/api/r%02d/*", i))
		if _, err := m.CreateRule(ctx, "test", s, nil); err != nil {
			b.Fatal(err)
		}
	}
	req := Request{ServiceName: "backend-flask", URLPath: "/api/activities/home", Host: "localhost:4567", HTTPMethod: "GET"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.MatchRule(ctx, "test", req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPolicyLimit(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, "")
	for i := range 5 {
		if _, err := m.PutResourcePolicy(ctx, "test", ptr(fmt.Sprintf("p%d", i)), ptr(`{}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.PutResourcePolicy(ctx, "test", ptr("p5"), ptr(`{}`), nil); kindOf(err) != PolicyCountLimit {
		t.Fatalf("sixth policy: %v", err)
	}
	if _, err := m.PutResourcePolicy(ctx, "test", ptr("p0"), ptr(`{}`), nil); err != nil {
		t.Fatalf("replacing an existing policy at the limit: %v", err)
	}
}
