package xrayfilter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SyntaxError reports a filter expression that cannot be parsed or that uses
// a keyword, operator or value where it is not allowed.
type SyntaxError struct {
	Pos  int    // byte offset into the expression (len(expr) at its end)
	Line int    // 1-based line
	Col  int    // 1-based column, in characters
	Msg  string // what is wrong, e.g. `unexpected ")"`
	// Want says what was expected or how to fix it, e.g.
	// `expected a value after ">"`; it may be empty.
	Want string
}

// Error returns the message with its place, e.g.
// `unexpected ")" at column 14: expected a value after ">"`. The line is
// named only for expressions of more than one line.
func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Line > 1 {
		fmt.Fprintf(&b, " at line %d, column %d", e.Line, e.Col)
	} else {
		fmt.Fprintf(&b, " at column %d", e.Col)
	}
	if e.Want != "" {
		b.WriteString(": ")
		b.WriteString(e.Want)
	}
	return b.String()
}

// newError builds a positioned error for the byte offset pos of src.
func newError(src string, pos int, msg, want string) *SyntaxError {
	if pos < 0 {
		pos = 0
	}
	if pos > len(src) {
		pos = len(src)
	}
	line, col := lineCol(src, pos)
	return &SyntaxError{Pos: pos, Line: line, Col: col, Msg: msg, Want: want}
}

// lineCol converts a byte offset to a 1-based line and character column.
func lineCol(src string, pos int) (line, col int) {
	before := src[:pos]
	line = 1 + strings.Count(before, "\n")
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, 1 + utf8.RuneCountInString(before)
}
