package app

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/state/postgres/pgtest"
)

// TestSharedReservoir: two nodes on one PostgreSQL state hand out one
// rule's reservoir together. A rule of 10 traces a second is created on
// node A; four SDK instances, two asking each node for targets (the X-Ray
// SDKs' GetSamplingTargets through the daemon door), get quotas that sum
// to 10, not 10 per node.
func TestSharedReservoir(t *testing.T) {
	t.Parallel() // its own PostgreSQL server; mostly waits on it
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	url := pg.NewDatabase(t)
	shared := func(c *Config) { c.StateURL = url }
	a, _ := testAppWith(t, t.TempDir(), shared)
	b, _ := testAppWith(t, t.TempDir(), shared)
	post := func(n *App, op, body string) map[string]any {
		t.Helper()
		code, got, out := call(t, "POST", "http://"+n.Addrs().XRay+op, "", body, false)
		if code != 200 {
			t.Fatalf("%s: %d %s", op, code, got)
		}
		return out
	}
	post(a, "/CreateSamplingRule", `{"SamplingRule":{"RuleName":"checkout","ResourceARN":"*","Priority":1,"FixedRate":0.05,
		"ReservoirSize":10,"ServiceName":"*","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}}`)
	// Node B hears of the rule within a second (10 s bounds a loaded machine).
	deadline := time.Now().Add(10 * time.Second)
	for {
		rules, _ := json.Marshal(post(b, "/GetSamplingRules", `{}`))
		if json.Valid(rules) && containsRule(rules, "checkout") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node B does not know the rule: %s", rules)
		}
		time.Sleep(50 * time.Millisecond)
	}
	clients := []struct {
		node *App
		id   string
	}{{a, "aaaaaaaaaaaaaaaaaaaaaaa1"}, {a, "aaaaaaaaaaaaaaaaaaaaaaa2"}, {b, "bbbbbbbbbbbbbbbbbbbbbbb1"}, {b, "bbbbbbbbbbbbbbbbbbbbbbb2"}}
	quota := map[string]float64{}
	// Two rounds: in the second every instance is known to both nodes.
	for round := range 2 {
		for _, c := range clients {
			body := fmt.Sprintf(`{"SamplingStatisticsDocuments":[{"RuleName":"checkout","ClientID":%q,"Timestamp":%d,"RequestCount":100,"SampledCount":10,"BorrowCount":0}]}`,
				c.id, time.Now().Unix())
			out := post(c.node, "/SamplingTargets", body)
			docs, _ := out["SamplingTargetDocuments"].([]any)
			if len(docs) != 1 {
				t.Fatalf("round %d, %s: targets %v", round, c.id, out)
			}
			quota[c.id], _ = docs[0].(map[string]any)["ReservoirQuota"].(float64)
		}
	}
	var sum float64
	for _, q := range quota {
		sum += q
	}
	if sum != 10 {
		t.Fatalf("the four instances' quotas %v sum to %v, want the rule's 10 across both nodes", quota, sum)
	}
	for id, q := range quota {
		if q < 2 || q > 3 {
			t.Errorf("%s: quota %v, want its share of 10 among four equal instances (2 or 3)", id, q)
		}
	}
}

func containsRule(rules []byte, name string) bool {
	var out struct {
		SamplingRuleRecords []struct{ SamplingRule struct{ RuleName string } }
	}
	if json.Unmarshal(rules, &out) != nil {
		return false
	}
	for _, r := range out.SamplingRuleRecords {
		if r.SamplingRule.RuleName == name {
			return true
		}
	}
	return false
}
