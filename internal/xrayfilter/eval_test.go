package xrayfilter

import (
	"slices"
	"sync"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

// richTrace is a front end calling an API, which calls DynamoDB, SNS, a SQL
// database, an uninstrumented remote host and an instrumented backend.
func richTrace() *Trace {
	return &Trace{
		ID: model.TraceID{9},
		Segments: []Segment{
			segment(1, "frontend", 100, 103, origin("AWS::EC2::Instance"), account("111"), url("https://shop.example.com/cart"),
				method("GET"), status(200), user("alice"), func(s *Segment) { s.HTTP.UserAgent = "curl/8"; s.HTTP.ClientIP = "10.0.0.7" }),
			sub(2, 1, "api", 100.1, 102.9, ns("remote"), errorFlag, status(404)),
			segment(3, "api", 100.2, 102.8, parent(2), origin("AWS::ECS::Container"), account("222"), status(404), errorFlag,
				ann("cart_id", model.Str("C-17")), ann("items", model.Int(3)), ann("vip", model.Bool(true)),
				func(s *Segment) { s.InstanceID = "i-0abc"; s.AvailabilityZone = "us-east-1a" }),
			sub(4, 3, "handler", 100.3, 102.7),
			sub(5, 4, "DynamoDB", 100.4, 101.4, ns("aws"), table("carts"), fault,
				func(s *Segment) { s.ResourceARN = "arn:aws:dynamodb:us-east-1:222:table/carts" }),
			sub(6, 4, "SNS", 101.5, 101.6, ns("aws"), throttle),
			sub(7, 4, "orders@db.example.com", 101.6, 101.9, sqlFlag, ann("rows", model.Float(2.5))),
			sub(8, 4, "geo.example.com", 101.9, 102.0, ns("remote")),
			sub(9, 4, "local-work", 102.0, 102.1),
			sub(10, 4, "backend", 102.1, 102.6, ns("remote")),
			segment(11, "backend", 102.15, 102.55, parent(10), origin("AWS::Lambda::Function"), account("222")),
		},
	}
}

func TestMatchGraph(t *testing.T) {
	tr := richTrace()
	tests := []struct {
		expr string
		want bool
	}{
		// Instrumented nodes.
		{`service("frontend")`, true},
		{`service("api") { error AND http.status = 404 }`, true},
		{`service("api") { fault }`, false},
		{`service("frontend") { root }`, true},
		{`service("api") { root }`, false},
		{`service("api") { responsetime > 2.5 AND responsetime < 2.7 }`, true},
		{`service("api") { user }`, false},
		{`service("api") { instance.id = "i-0abc" AND availabilityzone BEGINSWITH "us-east" }`, true},
		{`service(id(name: "api", account.id: "222"))`, true},
		{`service(id(name: "api", account.id: "111"))`, false},
		{`service(id(type: "AWS::Lambda::Function")) { name = "backend" }`, true},
		{`service() { type = "AWS::ECS::Container" AND !inferred }`, true},
		// Inferred nodes.
		{`service("carts") { fault }`, true},
		{`service(id(type: "AWS::DynamoDB::Table")) { inferred }`, true},
		{`service("DynamoDB")`, false}, // named by its table
		{`service(id(name: "SNS", type: "AWS::SNS")) { throttle }`, true},
		{`service(id(type: "Database::SQL")) { name = "orders@db.example.com" }`, true},
		{`service(id(name: "geo.example.com", type: "remote"))`, true},
		{`service("local-work")`, false},
		{`service("handler")`, false},
		{`service(id(name: "backend", type: "remote"))`, false}, // replaced by the real segment
		{`inferred`, true},
		// Edges.
		{`edge("frontend", "api")`, true},
		{`edge("frontend", "api") { error AND http.status = 404 }`, true},
		{`edge("api", "frontend")`, false},
		{`edge("api", "carts") { fault AND responsetime = 1 }`, true},
		{`edge("api", "SNS") { throttle }`, true},
		{`edge("api", "backend") { responsetime > 0.45 }`, true},
		{`edge("api", "backend") { responsetime > 0.55 }`, false},
		{`edge("frontend", "backend")`, false},
		{`edge(id(type: "AWS::ECS::Container"), id(type: "AWS::Lambda::Function"))`, true},
		// The client node calls the root.
		{`service(id(name: "frontend", type: "client"))`, true},
		{`service(id(type: "client")) { ok }`, false}, // it has no segments
		{`edge(id(type: "client"), "frontend") { ok AND responsetime = 3 }`, true},
		{`edge(id(type: "client"), "api")`, false},
		// Trace-level keywords.
		{`ok`, true},
		{`error`, false},
		{`responsetime = 3`, true},
		{`duration = 3`, true},
		{`http.method = "GET" AND http.status = 200 AND http.useragent BEGINSWITH "curl" AND http.clientip = "10.0.0.7"`, true},
		{`http.status = 404`, false}, // only the root's
		{`user = "alice"`, true},
		{`user != "alice"`, false},
		{`instance.id = "i-0abc"`, true},
		{`resource.arn ENDSWITH ":table/carts"`, true},
		{`availabilityzone = "us-east-1b"`, false},
		{`annotation.cart_id BEGINSWITH "C-" AND annotation.items = 3 AND annotation.vip = true`, true},
		{`annotation.rows > 2`, true},
		{`annotation.vip = "true"`, false},
		{`annotation.items CONTAINS "3"`, false},
		{`annotation.items != 4`, true},
		{`annotation.missing != 4`, false},
		{`partial`, false},
		{`rootcause.fault.service { name = "x" }`, false},
		{`rootcause.json = #[{}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e := mustParse(t, tt.expr)
			if got := e.Match(tr, nil); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			if tt.want && !satisfiesHints(tr, e.Hints()) {
				t.Errorf("hints %+v exclude a matching trace", e.Hints())
			}
		})
	}
}

func TestMatchRoot(t *testing.T) {
	tests := []struct {
		name string
		tr   *Trace
		want bool // responsetime = 2
	}{
		{"earliest of several roots", trace(segment(2, "late", 105, 110), segment(1, "early", 100, 102)), true},
		{"parent outside the trace", trace(segment(1, "api", 100, 102, parent(99)), segment(2, "db", 100, 109, parent(1))), true},
		{"subsegments only", trace(sub(2, 1, "x", 100, 102)), false},
		{"inferred segments are not roots", trace(segment(1, "api", 100, 102, inferredFlag)), false},
		{"empty", &Trace{}, false},
		{"nil", nil, false},
	}
	e := mustParse(t, "responsetime = 2")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Match(tt.tr, nil); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchPartial(t *testing.T) {
	tests := []struct {
		name string
		tr   *Trace
		want bool
	}{
		{"complete", trace(segment(1, "api", 1, 2), sub(2, 1, "h", 1, 2)), false},
		{"segment in progress", trace(segment(1, "api", 1, 0, inProgress)), true},
		{"subsegment in progress", trace(segment(1, "api", 1, 2), sub(2, 1, "h", 1, 0, inProgress)), true},
		{"subsegment without its parent", trace(segment(1, "api", 1, 2), sub(3, 2, "h", 1, 2)), true},
		{"marked by the caller", &Trace{Partial: true, Segments: []Segment{segment(1, "api", 1, 2)}}, true},
	}
	e := mustParse(t, "partial")
	for _, tt := range tests {
		if got := e.Match(tt.tr, nil); got != tt.want {
			t.Errorf("%s: partial = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMatchCycles(t *testing.T) {
	// Parent links that loop must not hang the graph construction.
	tr := trace(
		segment(1, "api", 1, 2),
		sub(2, 3, "a", 1, 2, ns("remote")),
		sub(3, 2, "b", 1, 2, ns("aws")),
		segment(4, "self", 1, 2, parent(4)),
	)
	for _, src := range []string{`service("a")`, `edge("api", "a")`, `service("self") { root }`, `inferred`} {
		mustParse(t, src).Match(tr, nil)
	}
	if !mustParse(t, `service("a") AND !edge("api", "a")`).Match(tr, nil) {
		t.Error("a detached remote subsegment is a node without a caller")
	}
}

func TestMatchGroups(t *testing.T) {
	self := mustParse(t, `group.name = "loop" OR fault`)
	groups := func(name, arn string) (*Expr, bool) {
		switch {
		case name == "slow":
			return mustParse(t, "responsetime > 5"), true
		case name == "all":
			return nil, true
		case name == "loop":
			return self, true
		case arn == "arn:aws:xray:us-east-1:1:group/slow/X":
			return mustParse(t, "responsetime > 5"), true
		}
		return nil, false
	}
	slow := trace(segment(1, "api", 0, 9))
	fast := trace(segment(1, "api", 0, 1))
	faulty := trace(segment(1, "api", 0, 1, fault))
	tests := []struct {
		expr   string
		tr     *Trace
		groups GroupResolver
		want   bool
	}{
		{`group.name = "slow"`, slow, groups, true},
		{`group.name = "slow"`, fast, groups, false},
		{`group.arn = "arn:aws:xray:us-east-1:1:group/slow/X"`, slow, groups, true},
		{`group.name = "all"`, fast, groups, true},
		{`group.name = "missing"`, slow, groups, false},
		{`group.name = "slow"`, slow, nil, false},
		{`group.name = "loop"`, fast, groups, false},
		{`group.name = "loop"`, faulty, groups, true},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.expr).Match(tt.tr, tt.groups); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestMatchRootCauses(t *testing.T) {
	tr := &Trace{RootCauses: &RootCauses{
		Fault: []Cause{{ClientImpacting: true, Services: []CauseService{
			{Name: "GetWeatherData", Names: []string{"GetWeatherData"}, Type: "AWS::Lambda::Function", AccountID: "1",
				EntityPath: []CauseEntity{{Name: "GetWeatherData"}, {Name: "get_temperature",
					Exceptions: []CauseException{{Name: "KeyError", Message: "'temp' missing"}}}}},
			{Name: "GetTemperature", Inferred: true, EntityPath: []CauseEntity{{Name: "GetTemperature", Remote: true}}},
		}}},
		Error: []Cause{{Services: []CauseService{{Name: "auth", EntityPath: []CauseEntity{{Name: "auth",
			Exceptions: []CauseException{{Name: "Unauthorized", Message: "token expired"}}}}}}}},
		ResponseTime: []Cause{{Services: []CauseService{{Name: "db", EntityPath: []CauseEntity{{Name: "query", Coverage: 0.9, Remote: true}}}}}},
	}}
	tests := []struct {
		expr string
		want bool
	}{
		{`rootcause.fault.service { name = "GetTemperature" AND inferred AND last AND index = 1 }`, true},
		{`rootcause.fault.service { first AND inferred }`, false},
		{`rootcause.fault.entity { name = "get_temperature" AND last AND !remote }`, true},
		{`rootcause.fault.entity { remote AND first }`, true},
		{`rootcause.fault.exception { name = "KeyError" AND message CONTAINS "temp" }`, true},
		{`rootcause.fault.exception { name = "Unauthorized" }`, false},
		{`rootcause.error.exception { message BEGINSWITH "token" }`, true},
		{`rootcause.responsetime.entity { coverage >= 0.9 AND name = "query" }`, true},
		{`rootcause.responsetime.service { name = "auth" }`, false},
		{`rootcause.json = #[{"Services": [{"Name": "GetWeatherData", "EntityPath": [{"Name": "GetWeatherData"}, {"Name": "get_temperature"}]}, {"Name": "GetTemperature", "EntityPath": [{"Name": "GetTemperature"}]}]}]`, true},
		{`rootcause.json = #[{"ClientImpacting": true, "Services": [{"type": "AWS::Lambda::Function", "Inferred": false}]}]`, true},
		{`rootcause.json = #[{"Services": [{"Name": "GetWeatherData", "AccountId": "2"}]}]`, false},
		{`rootcause.json = #[{"Services": [{"EntityPath": [{"Coverage": 0.9}]}]}, {"Services": [{"Name": "auth"}]}]`, true},
		{`rootcause.json = #[{"Services": [{"Name": "nope"}]}, {"Services": [{"Name": "auth"}]}]`, false},
		{`rootcause.json = #[{"Services": null}]`, true},
		{`rootcause.json = #[{"Services": "x"}]`, false},
		{`rootcause.json = #[]`, true},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.expr).Match(tr, nil); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func TestMatchNilExpr(t *testing.T) {
	var e *Expr
	if !e.Match(richTrace(), nil) || e.String() != "" {
		t.Error("a nil expression matches everything and prints as empty")
	}
	if h := e.Hints(); h.Names != nil || h.ResponseTime.HasMin {
		t.Errorf("nil expression hints = %+v, want none", h)
	}
}

func TestHints(t *testing.T) {
	tests := []struct {
		expr string
		want Hints
	}{
		{`service("a") AND edge("b", id(type: "t")) AND annotation.k = 1`,
			Hints{Names: []string{"a", "b"}, AnnotationKeys: []string{"k"}}},
		{`service("a") OR service("b")`, Hints{}},
		{`(service("a") AND service("b")) OR (service("b") AND annotation.x)`, Hints{Names: []string{"b"}}},
		{`!service("a") AND !annotation.k`, Hints{}},
		{`responsetime > 5 AND responsetime < 9 AND duration = 2`,
			Hints{ResponseTime: Range{Min: 5, Max: 9, HasMin: true, HasMax: true}, Duration: Range{Min: 2, Max: 2, HasMin: true, HasMax: true}}},
		{`responsetime > 5 OR responsetime > 3`, Hints{ResponseTime: Range{Min: 3, HasMin: true}}},
		{`responsetime > 5 OR duration > 3`, Hints{}},
		{`responsetime != 5 AND service("x") { responsetime > 3 }`, Hints{Names: []string{"x"}}},
		{`group.name = "g" AND rootcause.fault.service { name = "x" }`, Hints{}},
		{`service(id(name: "n", type: "t")) service("n")`, Hints{Names: []string{"n"}}},
	}
	for _, tt := range tests {
		got := mustParse(t, tt.expr).Hints()
		if !slices.Equal(got.Names, tt.want.Names) || !slices.Equal(got.AnnotationKeys, tt.want.AnnotationKeys) ||
			got.ResponseTime != tt.want.ResponseTime || got.Duration != tt.want.Duration {
			t.Errorf("%s: Hints = %+v, want %+v", tt.expr, got, tt.want)
		}
	}
}

// TestHintsNeverExclude checks the hints' contract on every valid corpus
// expression and every trace of the tests: a matching trace satisfies them.
func TestHintsNeverExclude(t *testing.T) {
	traces := []*Trace{richTrace()}
	for _, ex := range specExamples {
		traces = append(traces, ex.match...)
		traces = append(traces, ex.miss...)
	}
	groups := groupsForTests(t)
	checked := 0
	for _, c := range readCorpus(t) {
		if !c.valid {
			continue
		}
		e := mustParse(t, c.expr)
		h := e.Hints()
		for _, tr := range traces {
			if e.Match(tr, groups) {
				checked++
				if !satisfiesHints(tr, h) {
					t.Errorf("%q: hints %+v exclude matching trace %v", c.expr, h, tr.Segments)
				}
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d matching (expression, trace) pairs; the check is too weak", checked)
	}
}

func TestMatchConcurrent(t *testing.T) {
	e := mustParse(t, `service("api") { error } AND edge("api", "carts") AND group.name = "g"`)
	ok := mustParse(t, "ok")
	groups := func(string, string) (*Expr, bool) { return ok, true }
	tr := richTrace()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if !e.Match(tr, groups) {
					t.Error("Match = false, want true")
					return
				}
			}
		})
	}
	wg.Wait()
}
