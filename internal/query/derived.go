package query

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Calculated fields use Honeycomb's derived-column language:
//
//	IF(LT($duration_ms, 500), "fast", "slow")
//	DIV($bytes, 1024)    CONCAT($service.name, " ", $name)    $"column with spaces"
//	REG_VALUE($http.url, `^/api/(v[0-9]+)/`)    FORMAT_TIME("%Y-%m-%d", EVENT_TIMESTAMP())
//
// Strings are "quoted" (backslash escapes) or `raw` (no escapes). Infix
// operators stand for functions: ! (NOT), then * / % (MUL, DIV, MOD), + -
// (SUM, SUB), < <= > >= = != (LT, LTE, GT, GTE, EQUALS, NOT EQUALS), AND,
// OR, from the tightest to the loosest; parentheses group. A bare column
// name may contain - and /, so $a-1 is a column: write $a - 1. The functions
// supported, with their argument counts:
//
//   - conditional: IF (condition, value pairs, then an optional default),
//     SWITCH (a value, case, value pairs, then an optional default), COALESCE
//   - comparison: EQUALS, IN, EXISTS, LT, LTE, GT, GTE
//   - boolean: NOT, AND, OR
//   - math: SUM, SUB, MUL, DIV, MOD, MIN, MAX, LOG10, BUCKET
//   - cast: INT, FLOAT, STRING, BOOL
//   - string: CONCAT, STARTS_WITH, ENDS_WITH, CONTAINS, TO_LOWER, TO_UPPER,
//     LENGTH, REG_MATCH, REG_VALUE, REG_COUNT (the regular expression is a
//     string literal in RE2 syntax)
//   - time: EVENT_TIMESTAMP, UNIX_TIMESTAMP (an RFC 3339 string to Unix
//     seconds), FORMAT_TIME (a string literal of strftime conversions, then
//     Unix seconds; UTC)
//
// INGEST_TIMESTAMP is rejected: tracecomb keeps no time of receipt.
var derivedFuncs = map[string][2]int{ // min, max (-1: any)
	"IF": {2, -1}, "SWITCH": {3, -1}, "COALESCE": {1, -1}, "EQUALS": {2, 2}, "IN": {2, -1}, "EXISTS": {1, 1},
	"NOT": {1, 1}, "AND": {1, -1}, "OR": {1, -1},
	"LT": {2, 2}, "LTE": {2, 2}, "GT": {2, 2}, "GTE": {2, 2},
	"SUM": {1, -1}, "SUB": {2, 2}, "MUL": {1, -1}, "DIV": {2, 2}, "MOD": {2, 2},
	"MIN": {1, -1}, "MAX": {1, -1}, "LOG10": {1, 1}, "BUCKET": {2, 2},
	"INT": {1, 1}, "FLOAT": {1, 1}, "STRING": {1, 1}, "BOOL": {1, 1},
	"CONCAT": {1, -1}, "STARTS_WITH": {2, 2}, "ENDS_WITH": {2, 2}, "CONTAINS": {2, 2},
	"TO_LOWER": {1, 1}, "TO_UPPER": {1, 1}, "LENGTH": {1, 1},
	"REG_MATCH": {2, 2}, "REG_VALUE": {2, 2}, "REG_COUNT": {2, 2},
	"EVENT_TIMESTAMP": {0, 0}, "UNIX_TIMESTAMP": {1, 1}, "FORMAT_TIME": {2, 2},
}

// unsupportedFuncs are functions of Honeycomb's language that tracecomb
// cannot compute, with the reason.
var unsupportedFuncs = map[string]string{
	"INGEST_TIMESTAMP": "tracecomb does not record when it received an event; EVENT_TIMESTAMP() is the event's own time",
}

// literalArgs names, per function, the arguments that must be string
// literals, and checks them.
var literalArgs = map[string]struct {
	arg   int
	what  string
	check func(string) error
}{
	"REG_MATCH":   {1, "regular expression", checkRegexp},
	"REG_VALUE":   {1, "regular expression", checkRegexp},
	"REG_COUNT":   {1, "regular expression", checkRegexp},
	"FORMAT_TIME": {0, "time format", checkTimeFormat},
}

func checkRegexp(s string) error {
	_, err := regexp.Compile(s)
	return err
}

// timeFormatDirectives are the strftime conversions FORMAT_TIME accepts:
// POSIX's (without the E and O modifiers) and %k, %l, as the C locale
// formats UTC times.
const timeFormatDirectives = "aAbBcCdDeFgGhHIjklmMnprRStTuUVwWxXyYzZ%"

// checkTimeFormat reports the first conversion of a FORMAT_TIME format
// that FORMAT_TIME does not support.
func checkTimeFormat(f string) error {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i == len(f) {
			return fmt.Errorf("the format ends in a lone %%")
		}
		if !strings.ContainsRune(timeFormatDirectives, rune(f[i])) {
			r, _ := utf8.DecodeRuneInString(f[i:])
			return fmt.Errorf("unsupported conversion %%%c (supported: %%%s)", r, strings.Join(strings.Split(timeFormatDirectives, ""), " %"))
		}
	}
	return nil
}

// maxExprDepth bounds nesting so hostile expressions cannot exhaust the
// stack.
const maxExprDepth = 64

// ParseExpr parses a derived-column expression. Errors carry a 1-based
// column.
func ParseExpr(src string) (store.Expr, error) {
	p := &exprParser{src: src}
	e, err := p.expr(0)
	if err != nil {
		return e, err
	}
	p.space()
	if p.i < len(p.src) {
		return e, p.err("unexpected %q after the expression", p.rest())
	}
	return e, nil
}

type exprParser struct {
	src string
	i   int
}

func (p *exprParser) err(format string, args ...any) error {
	return &SyntaxError{Col: utf8.RuneCountInString(p.src[:p.i]) + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *exprParser) rest() string {
	r := p.src[p.i:]
	if len(r) > 20 {
		r = r[:20] + "…"
	}
	return r
}

func (p *exprParser) space() {
	for p.i < len(p.src) {
		r, w := utf8.DecodeRuneInString(p.src[p.i:])
		if !unicode.IsSpace(r) {
			return
		}
		p.i += w
	}
}

func (p *exprParser) quoted() (string, error) {
	start := p.i
	p.i++ // the opening quote
	if p.src[start] == '`' {
		if n := strings.IndexByte(p.src[p.i:], '`'); n >= 0 {
			p.i += n + 1
			return p.src[start+1 : p.i-1], nil
		}
		p.i = start
		return "", p.err("unterminated raw string")
	}
	var sb strings.Builder
	for p.i < len(p.src) {
		c := p.src[p.i]
		if c == '\\' && p.i+1 < len(p.src) {
			sb.WriteByte(p.src[p.i+1])
			p.i += 2
			continue
		}
		p.i++
		if c == '"' {
			return sb.String(), nil
		}
		sb.WriteByte(c)
	}
	p.i = start
	return "", p.err("unterminated string")
}

// infixOps are the infix operators, loosest first; each level's
// operators share a precedence and associate to the left. Longer
// spellings come before their prefixes.
var infixOps = [][]struct{ op, fn string }{
	{{"OR", "OR"}},
	{{"AND", "AND"}},
	{{"<=", "LTE"}, {">=", "GTE"}, {"!=", "!="}, {"<", "LT"}, {">", "GT"}, {"=", "EQUALS"}},
	{{"+", "SUM"}, {"-", "SUB"}},
	{{"*", "MUL"}, {"/", "DIV"}, {"%", "MOD"}},
}

// expr parses an expression with infix operators.
func (p *exprParser) expr(depth int) (store.Expr, error) { return p.infix(depth, 0) }

// infix parses operands joined by the operators of infixOps[level:].
func (p *exprParser) infix(depth, level int) (store.Expr, error) {
	if level == len(infixOps) {
		return p.unary(depth)
	}
	left, err := p.infix(depth, level+1)
	if err != nil {
		return left, err
	}
	for {
		p.space()
		fn, n := p.infixOp(level)
		if n == 0 {
			return left, nil
		}
		if depth++; depth > maxExprDepth {
			return store.Expr{}, p.err("expression nested too deeply")
		}
		p.i += n
		right, err := p.infix(depth, level+1)
		if err != nil {
			return right, err
		}
		if fn == "!=" {
			left = store.Expr{Func: "NOT", Args: []store.Expr{{Func: "EQUALS", Args: []store.Expr{left, right}}}}
			continue
		}
		left = store.Expr{Func: fn, Args: []store.Expr{left, right}}
	}
}

// infixOp returns the function of the operator of the level at the
// current position and its length, 0 when there is none.
func (p *exprParser) infixOp(level int) (string, int) {
	rest := p.src[p.i:]
	for _, o := range infixOps[level] {
		if len(rest) < len(o.op) || !strings.EqualFold(rest[:len(o.op)], o.op) {
			continue
		}
		if isWordByte(o.op[0]) && len(rest) > len(o.op) && isWordByte(rest[len(o.op)]) {
			continue // AND or OR starting a longer word
		}
		return o.fn, len(o.op)
	}
	return "", 0
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// unary parses an operand: ! (NOT) before an operand, an expression in
// parentheses, or a primary expression.
func (p *exprParser) unary(depth int) (store.Expr, error) {
	if depth > maxExprDepth {
		return store.Expr{}, p.err("expression nested too deeply")
	}
	p.space()
	if p.i < len(p.src) && p.src[p.i] == '!' {
		p.i++
		a, err := p.unary(depth + 1)
		if err != nil {
			return a, err
		}
		return store.Expr{Func: "NOT", Args: []store.Expr{a}}, nil
	}
	if p.i < len(p.src) && p.src[p.i] == '(' {
		open := p.i
		p.i++
		e, err := p.expr(depth + 1)
		if err != nil {
			return e, err
		}
		p.space()
		if p.i >= len(p.src) || p.src[p.i] != ')' {
			if p.i >= len(p.src) {
				p.i = open
				return e, p.err("unclosed (")
			}
			return e, p.err("expected ) or an operator, found %q", p.rest())
		}
		p.i++
		return e, nil
	}
	return p.primary(depth)
}

// primary parses a column, a literal or a function call.
func (p *exprParser) primary(depth int) (store.Expr, error) {
	if p.i >= len(p.src) {
		return store.Expr{}, p.err("expected an expression, found the end")
	}
	c := p.src[p.i]
	switch {
	case c == '$':
		p.i++
		if p.i < len(p.src) && p.src[p.i] == '"' {
			s, err := p.quoted()
			if err != nil {
				return store.Expr{}, err
			}
			if s == "" {
				return store.Expr{}, p.err("empty column name")
			}
			return store.Expr{Column: s}, nil
		}
		start := p.i
		for p.i < len(p.src) {
			r, w := utf8.DecodeRuneInString(p.src[p.i:])
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.-/:@#", r)) {
				break
			}
			p.i += w
		}
		if p.i == start {
			return store.Expr{}, p.err("expected a column name after $")
		}
		return store.Expr{Column: p.src[start:p.i]}, nil
	case c == '"' || c == '`':
		s, err := p.quoted()
		if err != nil {
			return store.Expr{}, err
		}
		v := model.Str(s)
		return store.Expr{Lit: &v}, nil
	case c == '-' || c == '.' || (c >= '0' && c <= '9'):
		start := p.i
		p.i++
		for p.i < len(p.src) && strings.IndexByte("0123456789.eE+-", p.src[p.i]) >= 0 {
			if (p.src[p.i] == '+' || p.src[p.i] == '-') && p.src[p.i-1] != 'e' && p.src[p.i-1] != 'E' {
				break
			}
			p.i++
		}
		text := p.src[start:p.i]
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			v := model.Int(n)
			return store.Expr{Lit: &v}, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			p.i = start
			return store.Expr{}, p.err("bad number %q", text)
		}
		v := model.Float(f)
		return store.Expr{Lit: &v}, nil
	}
	start := p.i
	for p.i < len(p.src) && isWordByte(p.src[p.i]) {
		p.i++
	}
	word := p.src[start:p.i]
	switch strings.ToLower(word) {
	case "":
		return store.Expr{}, p.err("unexpected %q", p.rest())
	case "true", "false":
		v := model.Bool(strings.EqualFold(word, "true"))
		return store.Expr{Lit: &v}, nil
	case "null":
		return store.Expr{}, nil
	}
	name := strings.ToUpper(word)
	if why, ok := unsupportedFuncs[name]; ok {
		p.i = start
		return store.Expr{}, p.err("%s is not supported: %s", name, why)
	}
	arity, ok := derivedFuncs[name]
	if !ok {
		p.i = start
		return store.Expr{}, p.err("unknown function %s", word)
	}
	p.space()
	if p.i >= len(p.src) || p.src[p.i] != '(' {
		return store.Expr{}, p.err("expected ( after %s", name)
	}
	p.i++
	e := store.Expr{Func: name}
	var argAt []int // where each argument starts
	p.space()
	if p.i < len(p.src) && p.src[p.i] == ')' {
		p.i++
	} else {
		for {
			p.space()
			argAt = append(argAt, p.i)
			a, err := p.expr(depth + 1)
			if err != nil {
				return e, err
			}
			e.Args = append(e.Args, a)
			p.space()
			if p.i < len(p.src) && p.src[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.src) && p.src[p.i] == ')' {
				p.i++
				break
			}
			return e, p.err("expected , or ) in %s(…)", name)
		}
	}
	if len(e.Args) < arity[0] || (arity[1] >= 0 && len(e.Args) > arity[1]) {
		p.i = start
		want := strconv.Itoa(arity[0])
		switch {
		case arity[1] < 0:
			want = "at least " + want
		case arity[1] != arity[0]:
			want += " to " + strconv.Itoa(arity[1])
		}
		return e, p.err("%s takes %s arguments, got %d", name, want, len(e.Args))
	}
	if la, ok := literalArgs[name]; ok {
		a := e.Args[la.arg]
		if a.Func != "" || a.Column != "" || a.Lit == nil || a.Lit.Kind != model.KindString {
			p.i = argAt[la.arg]
			return e, p.err("%s's %s must be a string literal", name, la.what)
		}
		if err := la.check(a.Lit.Str); err != nil {
			p.i = argAt[la.arg]
			return e, p.err("%s: bad %s: %v", name, la.what, err)
		}
	}
	return e, nil
}
