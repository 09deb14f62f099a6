package xrayfilter

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/model"
)

func TestParseAST(t *testing.T) {
	tests := []struct {
		src  string
		want Node
	}{
		{`responsetime > 5`, &NumCmp{Pos: 0, Keyword: KwResponseTime, Op: OpGt, Value: 5}},
		{`ok !partial`, &And{Pos: 0,
			Left:  &BoolCmp{Pos: 0, Keyword: KwOK, Op: OpEq, Value: true},
			Right: &Not{Pos: 3, X: &BoolCmp{Pos: 4, Keyword: KwPartial, Op: OpEq, Value: true}}}},
		{`fault OR error AND throttle`, &Or{Pos: 0,
			Left: &BoolCmp{Pos: 0, Keyword: KwFault, Op: OpEq, Value: true},
			Right: &And{Pos: 9,
				Left:  &BoolCmp{Pos: 9, Keyword: KwError, Op: OpEq, Value: true},
				Right: &BoolCmp{Pos: 19, Keyword: KwThrottle, Op: OpEq, Value: true}}}},
		{`NOT fault = false`, &Not{Pos: 0, X: &BoolCmp{Pos: 4, Keyword: KwFault, Op: OpEq, Value: false}}},
		{`user`, &StrCmp{Pos: 0, Keyword: KwUser, Op: OpExists}},
		{`http.METHOD = get`, &StrCmp{Pos: 0, Keyword: KwHTTPMethod, Op: OpEq, Value: "get"}},
		{`annotation.n <= -2.5`, &AnnotationCmp{Pos: 0, Key: "n", Op: OpLe, Value: model.Float(-2.5)}},
		{`annotation.b != FALSE`, &AnnotationCmp{Pos: 0, Key: "b", Op: OpNe, Value: model.Bool(false)}},
		{`annotation[k.x] = "v"`, &AnnotationCmp{Pos: 0, Key: "k.x", Op: OpEq, Value: model.Str("v")}},
		{`service()`, &Service{Pos: 0}},
		{`service(api) {fault}`, &Service{Pos: 0, Target: &Target{Pos: 8, Name: "api", HasName: true},
			Filter: &BoolCmp{Pos: 14, Keyword: KwFault, Op: OpEq, Value: true}}},
		{`edge(id(type: "t"), "b")`, &Edge{Pos: 0,
			From: &Target{Pos: 5, IsID: true, Type: "t", HasType: true},
			To:   &Target{Pos: 20, Name: "b", HasName: true}}},
		{`group.ARN = "x"`, &Group{Pos: 0, ByARN: true, Value: "x"}},
		{`rootcause.Fault.Exception { message }`, &RootCause{Pos: 0, Kind: RootCauseFault, Level: LevelException,
			Filter: &StrCmp{Pos: 28, Keyword: KwMessage, Op: OpExists}}},
		{`rootcause.json = #[{"Services":[]}]`, &RootCauseJSON{Pos: 0,
			Patterns: []any{map[string]any{"Services": []any{}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e := mustParse(t, tt.src)
			if !reflect.DeepEqual(e.Root, tt.want) {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.src, e.Root, tt.want)
			}
		})
	}
}

func TestSyntaxError(t *testing.T) {
	tests := []struct {
		src       string
		pos, line int
		col       int
		text      string
	}{
		{`ok AND (fault > )`, 14, 1, 15, `operator > cannot be used with boolean keyword fault at column 15: use = or != with true or false`},
		{`(duration > )`, 12, 1, 13, `unexpected ")" at column 13: expected a value after ">"`},
		{"fault AND\n  duration > \"x\"", 23, 2, 14, `duration is a numeric keyword; string "x" is not a number at line 2, column 14: expected a number after ">"`},
		{`user = "é" AND ¿`, 16, 1, 16, `unexpected character "¿" at column 16: expected a keyword, a value, an operator or a parenthesis`},
		{`service("a") { annotation.k }`, 15, 1, 16, `annotation.k is not allowed inside service(...) braces at column 16: annotations can be used only at the top level`},
		{`responsetime = "slow"`, 15, 1, 16, `responsetime is a numeric keyword; string "slow" is not a number at column 16: expected a number after "="`},
		{`responsetme > 1`, 0, 1, 1, `unknown keyword "responsetme" at column 1: did you mean responsetime?`},
		{`annotation.a$b`, 12, 1, 13, `unexpected character "$" at column 13: expected a keyword, a value, an operator or a parenthesis`},
		{`annotation.a-b`, 0, 1, 1, `invalid annotation key "a-b" at column 1: annotation keys contain only letters, digits and underscores (write annotation[KEY] for others)`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tt.src, err)
			}
			if se.Pos != tt.pos || se.Line != tt.line || se.Col != tt.col {
				t.Errorf("position = %d (line %d col %d), want %d (line %d col %d)", se.Pos, se.Line, se.Col, tt.pos, tt.line, tt.col)
			}
			if se.Error() != tt.text {
				t.Errorf("Error() =\n %s\nwant\n %s", se.Error(), tt.text)
			}
		})
	}
}

// TestPrintPrecedence prints hand-built trees whose shapes the parser never
// produces by itself and checks that the parentheses keep their meaning.
func TestPrintPrecedence(t *testing.T) {
	a := &BoolCmp{Keyword: KwFault, Op: OpEq, Value: true}
	b := &BoolCmp{Keyword: KwError, Op: OpEq, Value: true}
	c := &BoolCmp{Keyword: KwThrottle, Op: OpEq, Value: true}
	tests := []struct {
		n    Node
		want string
	}{
		{&And{Left: a, Right: &And{Left: b, Right: c}}, "fault AND (error AND throttle)"},
		{&And{Left: &Or{Left: a, Right: b}, Right: c}, "(fault OR error) AND throttle"},
		{&Or{Left: a, Right: &Or{Left: b, Right: c}}, "fault OR (error OR throttle)"},
		{&Or{Left: a, Right: &And{Left: b, Right: c}}, "fault OR error AND throttle"},
		{&Not{X: &Or{Left: a, Right: b}}, "!(fault OR error)"},
		{&Not{X: &Not{X: a}}, "!!fault"},
		{&Service{Filter: &Or{Left: a, Right: b}}, "service() { fault OR error }"},
		{&AnnotationCmp{Key: "n", Op: OpGe, Value: model.Int(3)}, "annotation.n >= 3"},
		{&AnnotationCmp{Key: "a b", Op: OpExists}, "annotation[a b]"},
		{&NumCmp{Keyword: KwDuration, Op: OpLt, Value: 1e-7}, "duration < 1e-07"},
		{&StrCmp{Keyword: KwUser, Op: OpEq, Value: `a"b\c`}, `user = "a\"b\\c"`},
	}
	for _, tt := range tests {
		got := (&Expr{Root: tt.n}).String()
		if got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
			continue
		}
		again := mustParse(t, got)
		if again.String() != got {
			t.Errorf("%q reprints as %q", got, again.String())
		}
	}
	// Structure survives printing for the binary-tree shapes.
	for _, n := range []Node{tests[0].n, tests[1].n, tests[2].n, tests[3].n, tests[4].n} {
		want := &Expr{Root: n}
		got := mustParse(t, want.String())
		if !sameAST(want, got) {
			t.Errorf("%q: tree changed through printing", want.String())
		}
	}
}

func TestWalk(t *testing.T) {
	e := mustParse(t, `service("a") { fault } OR (group.name = "g" AND !annotation.k)`)
	var kinds []string
	Walk(e.Root, func(n Node) bool {
		kinds = append(kinds, strings.TrimPrefix(reflect.TypeOf(n).String(), "*xrayfilter."))
		return true
	})
	want := "Or Service BoolCmp And Group Not AnnotationCmp"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("Walk order = %s, want %s", got, want)
	}
}

func TestNestingLimit(t *testing.T) {
	deep := strings.Repeat("(", maxDepth+1) + "fault" + strings.Repeat(")", maxDepth+1)
	_, err := Parse(deep)
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "nested too deeply") {
		t.Fatalf("Parse(deep) = %v, want a nesting error", err)
	}
	ok := strings.Repeat("(", maxDepth) + "fault" + strings.Repeat(")", maxDepth)
	mustParse(t, ok)
	mustParse(t, strings.Repeat("!", maxDepth)+"fault")
}
