package query

import (
	"fmt"
	"math"
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
//
// The functions supported, with their argument counts.
var derivedFuncs = map[string][2]int{ // min, max (-1: any)
	"IF": {2, 3}, "COALESCE": {1, -1}, "EQUALS": {2, 2}, "IN": {2, -1}, "EXISTS": {1, 1},
	"NOT": {1, 1}, "AND": {1, -1}, "OR": {1, -1},
	"LT": {2, 2}, "LTE": {2, 2}, "GT": {2, 2}, "GTE": {2, 2},
	"SUM": {1, -1}, "SUB": {2, 2}, "MUL": {1, -1}, "DIV": {2, 2}, "MOD": {2, 2},
	"MIN": {1, -1}, "MAX": {1, -1}, "LOG10": {1, 1}, "BUCKET": {2, 2},
	"INT": {1, 1}, "FLOAT": {1, 1}, "STRING": {1, 1}, "BOOL": {1, 1},
	"CONCAT": {1, -1}, "STARTS_WITH": {2, 2}, "ENDS_WITH": {2, 2}, "CONTAINS": {2, 2},
	"TO_LOWER": {1, 1}, "TO_UPPER": {1, 1}, "LENGTH": {1, 1}, "EVENT_TIMESTAMP": {0, 0},
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

func (p *exprParser) expr(depth int) (store.Expr, error) {
	if depth > maxExprDepth {
		return store.Expr{}, p.err("expression nested too deeply")
	}
	p.space()
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
	case c == '"':
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
	for p.i < len(p.src) && (p.src[p.i] == '_' || p.src[p.i] >= 'A' && p.src[p.i] <= 'Z' || p.src[p.i] >= 'a' && p.src[p.i] <= 'z' || p.src[p.i] >= '0' && p.src[p.i] <= '9') {
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
	p.space()
	if p.i < len(p.src) && p.src[p.i] == ')' {
		p.i++
	} else {
		for {
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
	return e, nil
}
