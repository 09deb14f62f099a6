package xrayfilter

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a
// *SyntaxError with a position inside the input, and that every success
// prints to an expression that parses to the same tree (and prints the same).
// Matching the result against a trace must not panic either.
func FuzzParse(f *testing.F) {
	for _, ex := range specExamples {
		f.Add(ex.expr)
	}
	for _, c := range readCorpus(f) {
		f.Add(c.expr)
	}
	tr := richTrace()
	tr.RootCauses = &RootCauses{Fault: []Cause{{Services: []CauseService{{Name: "a", EntityPath: []CauseEntity{{Name: "b"}}}}}}}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): error %T is not a *SyntaxError", src, err)
			}
			checkErrorPos(t, src, se)
			return
		}
		printed := e.String()
		again, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which fails: %v", src, printed, err)
		}
		if p2 := again.String(); p2 != printed {
			t.Fatalf("Parse(%q): printing is not a fixed point: %q then %q", src, printed, p2)
		}
		self := func(string, string) (*Expr, bool) { return e, true }
		e.Match(tr, self)
		e.Match(&Trace{}, nil)
		e.Hints()
		if !sameAST(e, again) {
			t.Fatalf("Parse(%q): tree changed when printed as %q", src, printed)
		}
	})
}
