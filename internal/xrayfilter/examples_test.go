package xrayfilter

import (
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

// groupsForTests resolves the groups the examples name.
func groupsForTests(t testing.TB) GroupResolver {
	slow := mustParse(t, "responsetime > 5")
	return func(name, arn string) (*Expr, bool) {
		switch {
		case name == "high_response_time",
			arn == "arn:aws:xray:us-east-1:123456789012:group/high_response_time/ABC":
			return slow, true
		case name == "everything":
			return nil, true
		}
		return nil, false
	}
}

// Every documented example of spec §5, each with traces it must and must
// not match.
var specExamples = []struct {
	expr  string
	match []*Trace
	miss  []*Trace
}{
	{
		expr:  `responsetime > 5`,
		match: []*Trace{trace(segment(1, "api", 100, 106))},
		miss: []*Trace{
			trace(segment(1, "api", 100, 103)),
			trace(segment(1, "api", 100, 0, inProgress)), // no response time yet
			trace(), // no root segment
		},
	},
	{
		expr:  `duration >= 5 AND duration <= 8`,
		match: []*Trace{trace(segment(1, "api", 100, 103), segment(2, "db", 102, 107, parent(1)))},
		miss: []*Trace{
			trace(segment(1, "api", 100, 103)),
			trace(segment(1, "api", 100, 103), segment(2, "db", 102, 110, parent(1))),
		},
	},
	{
		expr:  `ok !partial duration <3`,
		match: []*Trace{trace(segment(1, "api", 100, 102, status(200)))},
		miss: []*Trace{
			trace(segment(1, "api", 100, 102, fault)),
			trace(segment(1, "api", 100, 102), segment(2, "db", 100.5, 0, parent(1), inProgress)),
			trace(segment(1, "api", 100, 104)),
		},
	},
	{
		expr:  `http.status != 200`,
		match: []*Trace{trace(segment(1, "api", 1, 2, status(500)))},
		miss: []*Trace{
			trace(segment(1, "api", 1, 2, status(200))),
			trace(segment(1, "api", 1, 2)), // no status
		},
	},
	{
		expr:  `http.url CONTAINS "/api/game/"`,
		match: []*Trace{trace(segment(1, "api", 1, 2, url("https://example.com/api/game/42")))},
		miss: []*Trace{
			trace(segment(1, "api", 1, 2, url("https://example.com/api/user/42"))),
			// Only the root segment's URL counts.
			trace(segment(1, "api", 1, 2, url("https://example.com/")),
				segment(2, "game", 1, 2, parent(1), url("https://example.com/api/game/42"))),
		},
	},
	{
		expr: `user CONTAINS ""`,
		match: []*Trace{
			trace(segment(1, "api", 1, 2, user("alice"))),
			trace(segment(1, "api", 1, 2), segment(2, "auth", 1, 2, parent(1), user("bob"))),
		},
		miss: []*Trace{trace(segment(1, "api", 1, 2))},
	},
	{
		expr:  `http.url AND responseTime > 2`,
		match: []*Trace{trace(segment(1, "api", 1, 4, url("http://x/")))},
		miss: []*Trace{
			trace(segment(1, "api", 1, 4)),
			trace(segment(1, "api", 1, 2, url("http://x/"))),
		},
	},
	{
		expr: `service("api.example.com") { fault }`,
		match: []*Trace{trace(
			segment(1, "www", 1, 5),
			sub(2, 1, "api.example.com", 2, 4, ns("remote")),
			segment(3, "api.example.com", 2, 4, parent(2), fault),
		)},
		miss: []*Trace{
			trace(segment(1, "www", 1, 5, fault), sub(2, 1, "api.example.com", 2, 4, ns("remote")),
				segment(3, "api.example.com", 2, 4, parent(2))),
			trace(segment(1, "www", 1, 5, fault)),
		},
	},
	{
		expr: `service() { fault }`,
		match: []*Trace{
			trace(segment(1, "www", 1, 5), segment(3, "api", 2, 4, parent(1), fault)),
			// An inferred node's fault comes from the calling subsegment.
			trace(segment(1, "www", 1, 5), sub(2, 1, "DynamoDB", 2, 3, ns("aws"), fault)),
		},
		miss: []*Trace{trace(segment(1, "www", 1, 5, errorFlag), segment(3, "api", 2, 4, parent(1)))},
	},
	{
		expr: `edge("api.example.com", "backend.example.com") { error }`,
		match: []*Trace{trace(
			segment(1, "api.example.com", 1, 5),
			sub(2, 1, "backend.example.com", 2, 4, ns("remote"), errorFlag),
			segment(3, "backend.example.com", 2, 4, parent(2)),
		)},
		miss: []*Trace{
			// The callee's error is not the caller's.
			trace(segment(1, "api.example.com", 1, 5),
				sub(2, 1, "backend.example.com", 2, 4, ns("remote")),
				segment(3, "backend.example.com", 2, 4, parent(2), errorFlag)),
			// Wrong direction.
			trace(segment(1, "backend.example.com", 1, 5),
				sub(2, 1, "api.example.com", 2, 4, ns("remote"), errorFlag),
				segment(3, "api.example.com", 2, 4, parent(2))),
		},
	},
	{
		expr: `http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")`,
		match: []*Trace{trace(
			segment(1, "frontend", 1, 2, url("http://api.example.com/v2/users")),
		)},
		miss: []*Trace{
			trace(segment(1, "api.example.com", 1, 2, url("http://api.example.com/v2/users"))),
			trace(segment(1, "frontend", 1, 2, url("http://api.example.com/v1/users"))),
			// An inferred node is a node too.
			trace(segment(1, "frontend", 1, 2, url("http://api.example.com/v2/users")),
				sub(2, 1, "api.example.com", 1, 2, ns("remote"))),
		},
	},
	{
		expr:  `service("data-plane") {root = true and fault = true}`,
		match: []*Trace{trace(segment(1, "data-plane", 1, 2, fault))},
		miss: []*Trace{
			trace(segment(1, "edge", 1, 3), segment(2, "data-plane", 1, 2, parent(1), fault)),
			trace(segment(1, "data-plane", 1, 2)),
		},
	},
	{
		expr: `annotation.gameid = "817DL6VO"`,
		match: []*Trace{trace(segment(1, "api", 1, 2),
			sub(2, 1, "handler", 1, 2, ann("gameid", model.Str("817DL6VO"))))},
		miss: []*Trace{
			trace(segment(1, "api", 1, 2, ann("gameid", model.Str("817dl6vo")))),
			trace(segment(1, "api", 1, 2, ann("gameid", model.Int(817)))),
			trace(segment(1, "api", 1, 2)),
		},
	},
	{
		expr:  `annotation.age`,
		match: []*Trace{trace(segment(1, "api", 1, 2, ann("age", model.Int(3))))},
		miss:  []*Trace{trace(segment(1, "api", 1, 2, ann("Age", model.Int(3))))},
	},
	{
		expr:  `!annotation.age`,
		match: []*Trace{trace(segment(1, "api", 1, 2))},
		miss:  []*Trace{trace(segment(1, "api", 1, 2, ann("age", model.Int(3))))},
	},
	{
		expr: `annotation.age > 29`,
		match: []*Trace{
			trace(segment(1, "api", 1, 2, ann("age", model.Int(30)))),
			trace(segment(1, "api", 1, 2, ann("age", model.Float(29.5)))),
		},
		miss: []*Trace{
			trace(segment(1, "api", 1, 2, ann("age", model.Int(29)))),
			trace(segment(1, "api", 1, 2, ann("age", model.Str("30")))), // type mismatch
		},
	},
	{
		expr:  `group.name = "high_response_time" AND user = "alice"`,
		match: []*Trace{trace(segment(1, "api", 1, 7, user("alice")))},
		miss: []*Trace{
			trace(segment(1, "api", 1, 2, user("alice"))),
			trace(segment(1, "api", 1, 7, user("bob"))),
		},
	},
	{
		expr:  `service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }`,
		match: []*Trace{trace(segment(1, "random-name", 1, 2, origin("AWS::Lambda::Function"), errorFlag))},
		miss: []*Trace{
			trace(segment(1, "random-name", 1, 2, origin("AWS::Lambda"), errorFlag)),
			trace(segment(1, "random-name", 1, 2, origin("AWS::Lambda::Function"))),
		},
	},
	{
		expr: `service(id(type: "AWS::Lambda::Function")) { error }`,
		match: []*Trace{trace(segment(1, "gw", 1, 3),
			segment(2, "any-name", 1, 2, parent(1), origin("AWS::Lambda::Function"), errorFlag))},
		miss: []*Trace{trace(segment(1, "gw", 1, 3, errorFlag),
			segment(2, "any-name", 1, 2, parent(1), origin("AWS::Lambda::Function")))},
	},
	{
		expr:  `service(id(account.id: "account-id"))`,
		match: []*Trace{trace(segment(1, "api", 1, 2, account("account-id")))},
		miss:  []*Trace{trace(segment(1, "api", 1, 2, account("other")))},
	},
	{
		expr: `rootcause.fault.service { name = "Auth" }`,
		match: []*Trace{{Segments: []Segment{segment(1, "api", 1, 2)}, RootCauses: &RootCauses{
			Fault: []Cause{{Services: []CauseService{{Name: "api"}, {Name: "Auth"}}}}}}},
		miss: []*Trace{
			{RootCauses: &RootCauses{Error: []Cause{{Services: []CauseService{{Name: "Auth"}}}}}},
			{Segments: []Segment{segment(1, "Auth", 1, 2, fault)}}, // no root causes known
		},
	},
	{
		expr: `rootcause.responsetime.service { last and type = "AWS::DynamoDB" }`,
		match: []*Trace{{RootCauses: &RootCauses{ResponseTime: []Cause{{Services: []CauseService{
			{Name: "api", Type: "AWS::EC2::Instance"}, {Name: "DynamoDB", Type: "AWS::DynamoDB"}}}}}}},
		miss: []*Trace{{RootCauses: &RootCauses{ResponseTime: []Cause{{Services: []CauseService{
			{Name: "DynamoDB", Type: "AWS::DynamoDB"}, {Name: "api", Type: "AWS::EC2::Instance"}}}}}}},
	},
	{
		expr: `rootcause.responsetime.entity { remote and coverage > 0.7 and name = "traces" }`,
		match: []*Trace{{RootCauses: &RootCauses{ResponseTime: []Cause{{Services: []CauseService{
			{Name: "api", EntityPath: []CauseEntity{{Name: "api", Coverage: 1}, {Name: "traces", Remote: true, Coverage: 0.8}}}}}}}}},
		miss: []*Trace{{RootCauses: &RootCauses{ResponseTime: []Cause{{Services: []CauseService{
			{Name: "api", EntityPath: []CauseEntity{{Name: "api", Coverage: 1}, {Name: "traces", Remote: true, Coverage: 0.5}}}}}}}}},
	},
	{
		expr: `rootcause.fault.entity { last and name = "deserialize" }`,
		match: []*Trace{{RootCauses: &RootCauses{Fault: []Cause{{Services: []CauseService{
			{Name: "api", EntityPath: []CauseEntity{{Name: "api"}, {Name: "deserialize"}}}}}}}}},
		miss: []*Trace{{RootCauses: &RootCauses{Fault: []Cause{{Services: []CauseService{
			{Name: "api", EntityPath: []CauseEntity{{Name: "deserialize"}, {Name: "parse"}}}}}}}}},
	},
	{
		// The command of the lesson.
		expr:  `service("backend-flask")`,
		match: []*Trace{trace(segment(1, "frontend", 1, 3), segment(2, "backend-flask", 1, 2, parent(1)))},
		miss:  []*Trace{trace(segment(1, "frontend", 1, 3))},
	},
}

func TestSpecExamples(t *testing.T) {
	groups := groupsForTests(t)
	for _, ex := range specExamples {
		t.Run(ex.expr, func(t *testing.T) {
			e := mustParse(t, ex.expr)
			if len(ex.match) == 0 || len(ex.miss) == 0 {
				t.Fatal("each example needs a matching and a non-matching trace")
			}
			for i, tr := range ex.match {
				if !e.Match(tr, groups) {
					t.Errorf("match[%d]: want true", i)
				}
				h := e.Hints()
				if !satisfiesHints(tr, h) {
					t.Errorf("match[%d]: hints %+v exclude a matching trace", i, h)
				}
			}
			for i, tr := range ex.miss {
				if e.Match(tr, groups) {
					t.Errorf("miss[%d]: want false", i)
				}
			}
		})
	}
}

// satisfiesHints checks a trace against Hints the way a store would.
func satisfiesHints(t *Trace, h Hints) bool {
	for _, n := range h.Names {
		found := false
		for _, s := range t.Segments {
			found = found || s.Name == n || s.TableName == n
		}
		if !found {
			return false
		}
	}
	for _, k := range h.AnnotationKeys {
		found := false
		for _, s := range t.Segments {
			_, ok := s.Annotations[k]
			found = found || ok
		}
		if !found {
			return false
		}
	}
	ev := evaluator{t: t, root: -2}
	if r := ev.rootSeg(); r != nil {
		if rt, ok := segNum(KwResponseTime, r); ok && !h.ResponseTime.Contains(rt) {
			return false
		}
	}
	if d, ok := traceDuration(t.Segments); ok && !h.Duration.Contains(d) {
		return false
	}
	return true
}
