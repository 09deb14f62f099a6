package query

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The terminal query syntax, a short readable form of a Spec:
//
//	query    = [calcs] { clause }
//	calcs    = calc { "," calc }
//	calc     = OP | OP "(" column ")"            COUNT, P99(duration_ms), HEATMAP(duration_ms) …
//	clause   = WHERE filter { (AND | OR) filter } (one kind of joiner per query)
//	         | GROUP BY column { "," column }
//	         | ORDER BY term [ASC | DESC] { "," term [ASC | DESC] }   term = calc | column
//	         | HAVING calc cmp number { AND calc cmp number }
//	         | LIMIT integer
//	         | LAST duration                      time_range, e.g. 1h, 30m, 7d, 1h30m
//	         | SINCE time [UNTIL time]            RFC 3339 or Unix seconds
//	         | EVERY duration                     granularity
//	filter   = column cmp value | column (EXISTS | DOES-NOT-EXIST)
//	         | column (IN | NOT-IN | NOT IN) "(" value { "," value } ")"
//	cmp      = = | != | > | >= | < | <= | starts-with | does-not-start-with | ends-with
//	         | does-not-end-with | contains | does-not-contain
//	value    = number | true | false | 'text' | "text" | bareword
//
// Keywords are case-insensitive. A column is a bare word (letters, digits
// and _ . - / : @ $ #) or `back-quoted`.

// SyntaxError is a parse error at a 1-based column of the input.
type SyntaxError struct {
	Col int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at column %d: %s", e.Col, e.Msg) }

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tQuoted // 'text' or "text": always a string value
	tIdent  // `column`
	tPunct  // , ( )
	tOp     // = != > >= < <=
)

type token struct {
	kind tokKind
	text string
	pos  int // 0-based byte offset
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.-/:@$#+*", r)
}

func lex(src string) ([]token, error) {
	var out []token
	i := 0
	col := func(off int) int { return utf8.RuneCountInString(src[:off]) + 1 }
	for i < len(src) {
		r, w := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == ',' || r == '(' || r == ')':
			out = append(out, token{tPunct, string(r), i})
			i++
		case r == '=':
			out = append(out, token{tOp, "=", i})
			i++
		case r == '!' || r == '<' || r == '>':
			if i+1 < len(src) && src[i+1] == '=' {
				out = append(out, token{tOp, src[i : i+2], i})
				i += 2
			} else if r == '!' {
				return nil, &SyntaxError{col(i), "'!' must be followed by '='"}
			} else {
				out = append(out, token{tOp, string(r), i})
				i++
			}
		case r == '\'' || r == '"' || r == '`':
			start := i
			i += w
			var sb strings.Builder
			closed := false
			for i < len(src) {
				c, cw := utf8.DecodeRuneInString(src[i:])
				if c == '\\' && i+cw < len(src) {
					n, nw := utf8.DecodeRuneInString(src[i+cw:])
					sb.WriteRune(n)
					i += cw + nw
					continue
				}
				i += cw
				if c == r {
					closed = true
					break
				}
				sb.WriteRune(c)
			}
			if !closed {
				return nil, &SyntaxError{col(start), fmt.Sprintf("unterminated %c", r)}
			}
			k := tQuoted
			if r == '`' {
				k = tIdent
			}
			out = append(out, token{k, sb.String(), start})
		case isWordRune(r):
			start := i
			for i < len(src) {
				c, cw := utf8.DecodeRuneInString(src[i:])
				if !isWordRune(c) {
					break
				}
				i += cw
			}
			out = append(out, token{tWord, src[start:i], start})
		default:
			return nil, &SyntaxError{col(i), fmt.Sprintf("unexpected character %q", r)}
		}
	}
	out = append(out, token{kind: tEOF, pos: len(src)})
	return out, nil
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &SyntaxError{utf8.RuneCountInString(p.src[:t.pos]) + 1, fmt.Sprintf(format, args...)}
}

func describe(t token) string {
	if t.kind == tEOF {
		return "the end of the query"
	}
	return strconv.Quote(t.text)
}

// isKW reports whether t is the keyword kw (case-insensitive bare word).
func isKW(t token, kw string) bool { return t.kind == tWord && strings.EqualFold(t.text, kw) }

func (p *parser) acceptKW(kw string) bool {
	if isKW(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectKW(kw string) error {
	if !p.acceptKW(kw) {
		return p.errAt(p.peek(), "expected %s, found %s", kw, describe(p.peek()))
	}
	return nil
}

func (p *parser) acceptPunct(s string) bool {
	if t := p.peek(); t.kind == tPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

var clauseKWs = []string{"WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "LAST", "SINCE", "UNTIL", "EVERY"}

func isClause(t token) bool {
	for _, k := range clauseKWs {
		if isKW(t, k) {
			return true
		}
	}
	return false
}

// Parse parses the terminal query syntax into a Spec. The Spec still needs
// Validate; Parse checks only the syntax and the names of operators.
func Parse(src string) (Spec, error) {
	toks, err := lex(src)
	if err != nil {
		return Spec{}, err
	}
	p := &parser{src: src, toks: toks}
	var s Spec
	if t := p.peek(); t.kind != tEOF && !isClause(t) {
		for {
			c, err := p.calc()
			if err != nil {
				return Spec{}, err
			}
			s.Calculations = append(s.Calculations, c)
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	seen := map[string]bool{}
	for p.peek().kind != tEOF {
		t := p.next()
		kw := strings.ToUpper(t.text)
		if !isClause(t) || kw == "UNTIL" {
			return Spec{}, p.errAt(t, "expected WHERE, GROUP BY, ORDER BY, HAVING, LIMIT, LAST, SINCE or EVERY, found %s", describe(t))
		}
		if seen[kw] {
			return Spec{}, p.errAt(t, "%s given twice", kw)
		}
		seen[kw] = true
		switch kw {
		case "WHERE":
			err = p.where(&s)
		case "GROUP":
			if err = p.expectKW("BY"); err == nil {
				err = p.groupBy(&s)
			}
		case "ORDER":
			if err = p.expectKW("BY"); err == nil {
				err = p.orderBy(&s)
			}
		case "HAVING":
			err = p.having(&s)
		case "LIMIT":
			n := p.next()
			v, perr := strconv.Atoi(n.text)
			if n.kind != tWord || perr != nil {
				return Spec{}, p.errAt(n, "LIMIT needs a whole number, found %s", describe(n))
			}
			s.Limit = &v
		case "LAST":
			if seen["SINCE"] {
				return Spec{}, p.errAt(t, "LAST cannot be combined with SINCE … UNTIL")
			}
			var d int64
			if d, err = p.duration(); err == nil {
				s.TimeRange = &d
			}
		case "SINCE":
			var ts int64
			if ts, err = p.timestamp(); err != nil {
				break
			}
			s.StartTime = &ts
			if p.acceptKW("UNTIL") {
				var te int64
				if te, err = p.timestamp(); err == nil {
					s.EndTime = &te
				}
			}
			if s.TimeRange != nil && s.EndTime != nil {
				return Spec{}, p.errAt(t, "LAST cannot be combined with SINCE … UNTIL")
			}
		case "EVERY":
			var d int64
			if d, err = p.duration(); err == nil {
				s.Granularity = &d
			}
		}
		if err != nil {
			return Spec{}, err
		}
	}
	return s, nil
}

// column reads a column name.
func (p *parser) column(what string) (string, error) {
	t := p.next()
	switch {
	case t.kind == tIdent && t.text != "":
		return t.text, nil
	case t.kind == tWord && !isClause(t):
		return t.text, nil
	}
	return "", p.errAt(t, "expected %s, found %s", what, describe(t))
}

func isCalcOp(s string) bool {
	_, ok := calcOp(strings.ToUpper(s))
	return ok
}

// calc reads OP or OP(column).
func (p *parser) calc() (CalcSpec, error) {
	t := p.next()
	if t.kind != tWord || !isCalcOp(t.text) {
		return CalcSpec{}, p.errAt(t, "expected a calculation (%s), found %s", strings.Join(CalcOps, ", "), describe(t))
	}
	c := CalcSpec{Op: strings.ToUpper(t.text)}
	if p.acceptPunct("(") {
		col, err := p.column("a column name")
		if err != nil {
			return c, err
		}
		if !p.acceptPunct(")") {
			return c, p.errAt(p.peek(), "expected ')', found %s", describe(p.peek()))
		}
		c.Column = &col
	}
	return c, nil
}

var wordOps = map[string]string{
	"starts-with": "starts-with", "does-not-start-with": "does-not-start-with",
	"ends-with": "ends-with", "does-not-end-with": "does-not-end-with",
	"contains": "contains", "does-not-contain": "does-not-contain",
	"exists": "exists", "does-not-exist": "does-not-exist",
	"in": "in", "not-in": "not-in",
}

func (p *parser) where(s *Spec) error {
	comb := ""
	for {
		f, err := p.filter()
		if err != nil {
			return err
		}
		s.Filters = append(s.Filters, f)
		t := p.peek()
		var j string
		switch {
		case isKW(t, "AND"):
			j = "AND"
		case isKW(t, "OR"):
			j = "OR"
		default:
			if comb == "OR" {
				s.FilterCombination = "OR"
			}
			return nil
		}
		if comb != "" && comb != j {
			return p.errAt(t, "cannot mix AND and OR in one WHERE")
		}
		comb = j
		p.next()
	}
}

func (p *parser) filter() (FilterSpec, error) {
	col, err := p.column("a column name")
	if err != nil {
		return FilterSpec{}, err
	}
	f := FilterSpec{Column: col}
	t := p.next()
	switch {
	case t.kind == tOp:
		f.Op = t.text
	case t.kind == tWord && isKW(t, "NOT") && isKW(p.peek(), "IN"):
		p.next()
		f.Op = "not-in"
	case t.kind == tWord && wordOps[strings.ToLower(t.text)] != "":
		f.Op = wordOps[strings.ToLower(t.text)]
	default:
		return f, p.errAt(t, "expected an operator (%s) after %q, found %s", strings.Join(FilterOps, ", "), col, describe(t))
	}
	switch f.Op {
	case "exists", "does-not-exist":
		return f, nil
	case "in", "not-in":
		if !p.acceptPunct("(") {
			return f, p.errAt(p.peek(), "expected '(' after %s, found %s", f.Op, describe(p.peek()))
		}
		var vals []any
		for {
			v, err := p.value()
			if err != nil {
				return f, err
			}
			vals = append(vals, v)
			if p.acceptPunct(")") {
				break
			}
			if !p.acceptPunct(",") {
				return f, p.errAt(p.peek(), "expected ',' or ')', found %s", describe(p.peek()))
			}
		}
		f.Value = vals
		return f, nil
	}
	v, err := p.value()
	if err != nil {
		return f, err
	}
	f.Value = v
	return f, nil
}

// value reads a filter value: a JSON number, a boolean or a string.
func (p *parser) value() (any, error) {
	t := p.next()
	switch t.kind {
	case tQuoted:
		return t.text, nil
	case tWord:
		if isClause(t) || isKW(t, "AND") || isKW(t, "OR") {
			break
		}
		if strings.EqualFold(t.text, "true") {
			return true, nil
		}
		if strings.EqualFold(t.text, "false") {
			return false, nil
		}
		if _, err := strconv.ParseFloat(t.text, 64); err == nil && !strings.ContainsAny(t.text, "xXpP_") && !strings.EqualFold(t.text, "inf") &&
			!strings.EqualFold(t.text, "infinity") && !strings.EqualFold(t.text, "nan") && !strings.HasPrefix(t.text, "+") {
			// Canonical JSON spelling: 0007 is 7, .5 is 0.5.
			if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
				return json.Number(strconv.FormatInt(n, 10)), nil
			}
			f, _ := strconv.ParseFloat(t.text, 64)
			if !math.IsInf(f, 0) {
				return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
			}
		}
		return t.text, nil
	}
	return nil, p.errAt(t, "expected a value, found %s", describe(t))
}

func (p *parser) groupBy(s *Spec) error {
	for {
		col, err := p.column("a column to group by")
		if err != nil {
			return err
		}
		s.Breakdowns = append(s.Breakdowns, col)
		if !p.acceptPunct(",") {
			return nil
		}
	}
}

func (p *parser) orderBy(s *Spec) error {
	for {
		var o OrderSpec
		t := p.peek()
		next := p.toks[min(p.i+1, len(p.toks)-1)]
		if t.kind == tWord && isCalcOp(t.text) && (next.kind == tPunct && next.text == "(" ||
			strings.EqualFold(t.text, "COUNT") || strings.EqualFold(t.text, "CONCURRENCY")) {
			c, err := p.calc()
			if err != nil {
				return err
			}
			o.Op = c.Op
			if c.Column != nil {
				o.Column = *c.Column
			}
		} else {
			col, err := p.column("a calculation or column to order by")
			if err != nil {
				return err
			}
			o.Column = col
		}
		if p.acceptKW("DESC") {
			o.Order = "descending"
		} else if p.acceptKW("ASC") {
			o.Order = "ascending"
		}
		s.Orders = append(s.Orders, o)
		if !p.acceptPunct(",") {
			return nil
		}
	}
}

func (p *parser) having(s *Spec) error {
	for {
		c, err := p.calc()
		if err != nil {
			return err
		}
		op := p.next()
		if op.kind != tOp {
			return p.errAt(op, "expected a comparison (=, !=, >, >=, <, <=), found %s", describe(op))
		}
		n := p.next()
		v, err := strconv.ParseFloat(n.text, 64)
		if n.kind != tWord || err != nil {
			return p.errAt(n, "expected a number, found %s", describe(n))
		}
		s.Havings = append(s.Havings, HavingSpec{CalculateOp: c.Op, Column: c.Column, Op: op.text, Value: &v})
		if !p.acceptKW("AND") {
			return nil
		}
	}
}

// duration reads 90s, 30m, 1h30m, 7d or 2w as whole seconds.
func (p *parser) duration() (int64, error) {
	t := p.next()
	d, ok := parseDuration(t.text)
	if t.kind != tWord || !ok {
		return 0, p.errAt(t, "expected a duration such as 90s, 30m, 1h or 7d, found %s", describe(t))
	}
	return d, nil
}

func parseDuration(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 || i == len(s) {
			return 0, false
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		var unit int64
		switch s[i] {
		case 's':
			unit = 1
		case 'm':
			unit = 60
		case 'h':
			unit = 3600
		case 'd':
			unit = 86400
		case 'w':
			unit = 7 * 86400
		default:
			return 0, false
		}
		total += n * unit
		if total > maxRangeSeconds*10 {
			return 0, false
		}
		s = s[i+1:]
	}
	return total, total > 0
}

// timestamp reads RFC 3339 or Unix seconds.
func (p *parser) timestamp() (int64, error) {
	t := p.next()
	if t.kind == tWord || t.kind == tQuoted {
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil && n >= 0 {
			return n, nil
		}
		if tm, err := time.Parse(time.RFC3339, t.text); err == nil && tm.Unix() >= 0 {
			return tm.Unix(), nil
		}
	}
	return 0, p.errAt(t, "expected a time (RFC 3339 such as 2026-01-02T15:04:05Z, or Unix seconds), found %s", describe(t))
}
