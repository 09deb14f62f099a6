package xrayfilter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
)

// maxDepth bounds nesting (parentheses, negations, braces).
const maxDepth = 100

// Parse parses a filter expression. Errors are *SyntaxError.
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	return &Expr{Root: root}, nil
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// bail carries a *SyntaxError out of the recursive descent.
type bail struct{ err *SyntaxError }

func (p *parser) parse() (root Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			root, err = nil, b.err
		}
	}()
	if p.peek().kind == tEOF {
		p.fail(p.peek(), "empty filter expression", "expected a keyword such as responsetime, service(...) or annotation.KEY")
	}
	root = p.parseOr(scTrace)
	if t := p.peek(); t.kind != tEOF {
		switch t.kind {
		case tRParen:
			p.fail(t, `unexpected ")"`, `there is no matching "("`)
		case tRBrace:
			p.fail(t, `unexpected "}"`, `there is no matching "{"`)
		}
		p.fail(t, "unexpected "+t.describe(), "expected AND, OR or the end of the expression")
	}
	return root, nil
}

func (p *parser) fail(t token, msg, want string) {
	panic(bail{newError(p.src, t.pos, msg, want)})
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) expect(k tokKind, after string) token {
	t := p.peek()
	if t.kind != k {
		p.fail(t, "unexpected "+t.describe(), fmt.Sprintf("expected %q after %s", punctText[k], after))
	}
	return p.next()
}

func (p *parser) enter(t token) {
	p.depth++
	if p.depth > maxDepth {
		p.fail(t, "expression is nested too deeply", fmt.Sprintf("at most %d levels of parentheses, braces and negations are allowed", maxDepth))
	}
}

func isWord(t token, w string) bool { return t.kind == tIdent && strings.EqualFold(t.text, w) }

func (p *parser) parseOr(sc scope) Node {
	left := p.parseAnd(sc)
	for {
		t := p.peek()
		if t.kind != tOr && !isWord(t, "or") {
			return left
		}
		p.next()
		if p.peek().kind == tEOF {
			p.fail(p.peek(), "unexpected end of expression", fmt.Sprintf("expected a condition after %s", t.text))
		}
		right := p.parseAnd(sc)
		left = &Or{Pos: left.Position(), Left: left, Right: right}
	}
}

// startsAtom reports whether t can begin a predicate, so that two
// predicates side by side are joined by AND.
func startsAtom(t token) bool {
	switch t.kind {
	case tLParen, tNot:
		return true
	case tIdent:
		return !isWord(t, "and") && !isWord(t, "or")
	}
	return false
}

func (p *parser) parseAnd(sc scope) Node {
	left := p.parseNot(sc)
	for {
		t := p.peek()
		switch {
		case t.kind == tAnd || isWord(t, "and"):
			p.next()
			if p.peek().kind == tEOF {
				p.fail(p.peek(), "unexpected end of expression", fmt.Sprintf("expected a condition after %s", t.text))
			}
		case startsAtom(t):
		default:
			return left
		}
		right := p.parseNot(sc)
		left = &And{Pos: left.Position(), Left: left, Right: right}
	}
}

func (p *parser) parseNot(sc scope) Node {
	t := p.peek()
	if t.kind == tNot || isWord(t, "not") {
		p.next()
		p.enter(t)
		x := p.parseNot(sc)
		p.depth--
		return &Not{Pos: t.pos, X: x}
	}
	return p.parseAtom(sc)
}

func (p *parser) parseAtom(sc scope) Node {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		p.enter(t)
		if p.peek().kind == tRParen {
			p.fail(p.peek(), `unexpected ")"`, `expected a condition inside "()"`)
		}
		x := p.parseOr(sc)
		if c := p.peek(); c.kind != tRParen {
			p.fail(c, "unexpected "+c.describe(), fmt.Sprintf(`expected ")" closing the "(" at column %d`, p.col(t.pos)))
		}
		p.next()
		p.depth--
		return x
	case tIdent:
		if isWord(t, "and") || isWord(t, "or") {
			w := strings.ToUpper(t.text)
			p.fail(t, "unexpected "+w, "expected a condition before "+w)
		}
		return p.parsePred(sc)
	case tEOF:
		p.fail(t, "unexpected end of expression", "expected a condition")
	case tAnd, tOr:
		p.fail(t, "unexpected "+t.describe(), "expected a condition before "+t.text)
	case tString:
		p.fail(t, "unexpected "+t.describe(), "expected a keyword; a string can only follow an operator")
	case tNumber:
		p.fail(t, "unexpected "+t.describe(), "expected a keyword; a number can only follow an operator")
	}
	p.fail(t, "unexpected "+t.describe(), `expected a condition (a keyword, "(" or "!")`)
	return nil
}

func (p *parser) col(pos int) int {
	_, c := lineCol(p.src, pos)
	return c
}

func (p *parser) parsePred(sc scope) Node {
	t := p.next()
	lower := strings.ToLower(t.text)
	switch {
	case lower == "service":
		p.onlyTop(sc, t, "service(...)")
		return p.parseService(t)
	case lower == "edge":
		p.onlyTop(sc, t, "edge(...)")
		return p.parseEdge(t)
	case lower == "group.name" || lower == "group.arn":
		p.onlyTop(sc, t, lower)
		op := p.peek()
		if op.kind != tEq {
			p.fail(op, "unexpected "+op.describe(), fmt.Sprintf(`expected "=" after %s (groups are compared only with =)`, lower))
		}
		p.next()
		v := p.stringValue(op, lower)
		return &Group{Pos: t.pos, ByARN: lower == "group.arn", Value: v}
	case strings.HasPrefix(lower, "annotation.") || strings.HasPrefix(lower, "annotation["):
		return p.parseAnnotation(sc, t)
	case lower == "annotation":
		p.fail(t, `incomplete annotation "annotation"`, "expected annotation.KEY")
	case lower == "rootcause.json":
		p.onlyTop(sc, t, "rootcause.json")
		op := p.peek()
		if op.kind != tEq {
			p.fail(op, "unexpected "+op.describe(), `expected "=" after rootcause.json`)
		}
		p.next()
		v := p.peek()
		if v.kind != tJSON {
			p.fail(v, "unexpected "+v.describe(), `expected a JSON array written #[…] after "="`)
		}
		p.next()
		for _, el := range v.json {
			if _, ok := el.(map[string]any); !ok {
				p.fail(v, "invalid rootcause.json pattern", "each element of the array must be a JSON object")
			}
		}
		pats := v.json
		if pats == nil {
			pats = []any{}
		}
		return &RootCauseJSON{Pos: t.pos, Patterns: pats}
	case strings.HasPrefix(lower, "rootcause"):
		return p.parseRootCause(sc, t, lower)
	}
	kw := lookupKeyword(t.text)
	if kw == KwInvalid {
		if isWord(t, "true") || isWord(t, "false") {
			p.fail(t, "unexpected "+t.describe(), "true and false can only follow = or != after a boolean keyword")
		}
		want := "expected a keyword such as responsetime, http.url, service(...) or annotation.KEY"
		if s := suggest(t.text); s != "" {
			want = fmt.Sprintf("did you mean %s?", s)
		}
		p.fail(t, fmt.Sprintf("unknown keyword %q", clip(t.text)), want)
	}
	info := keywords[kw]
	if info.where&sc == 0 {
		p.fail(t, fmt.Sprintf("keyword %s is not allowed %s", info.name, sc.describe()),
			fmt.Sprintf("it can be used %s", info.where.describe()))
	}
	switch info.typ {
	case typeBool:
		return p.parseBool(t, kw)
	case typeNum:
		return p.parseNum(t, kw)
	default:
		return p.parseStr(t, kw)
	}
}

func (p *parser) onlyTop(sc scope, t token, what string) {
	if sc != scTrace {
		p.fail(t, fmt.Sprintf("%s is not allowed %s", what, sc.describe()), "it can be used only at the top level")
	}
}

// parseOp reads an operator if one follows; ok is false when none does.
func (p *parser) parseOp() (Op, token, bool) {
	t := p.peek()
	var op Op
	switch t.kind {
	case tEq:
		op = OpEq
	case tNe:
		op = OpNe
	case tLt:
		op = OpLt
	case tLe:
		op = OpLe
	case tGt:
		op = OpGt
	case tGe:
		op = OpGe
	case tIdent:
		switch strings.ToLower(t.text) {
		case "contains":
			op = OpContains
		case "beginswith":
			op = OpBeginsWith
		case "endswith":
			op = OpEndsWith
		default:
			return 0, t, false
		}
	default:
		return 0, t, false
	}
	p.next()
	return op, t, true
}

func opText(t token) string {
	if t.kind == tIdent {
		return strings.ToUpper(t.text)
	}
	return t.text
}

// needValue fails unless the next token can be a value.
func (p *parser) needValue(op token) token {
	v := p.peek()
	switch v.kind {
	case tString, tNumber, tIdent:
		return v
	}
	p.fail(v, "unexpected "+v.describe(), fmt.Sprintf("expected a value after %q", opText(op)))
	return v
}

func (p *parser) parseBool(t token, kw Keyword) Node {
	n := &BoolCmp{Pos: t.pos, Keyword: kw, Op: OpEq, Value: true}
	op, ot, ok := p.parseOp()
	if !ok {
		return n
	}
	if op != OpEq && op != OpNe {
		p.fail(ot, fmt.Sprintf("operator %s cannot be used with boolean keyword %s", opText(ot), kw), "use = or != with true or false")
	}
	v := p.needValue(ot)
	switch {
	case isWord(v, "true"):
		n.Value = true
	case isWord(v, "false"):
		n.Value = false
	default:
		p.fail(v, fmt.Sprintf("%s is a boolean keyword; %s is not true or false", kw, v.describe()), fmt.Sprintf("expected true or false after %q", opText(ot)))
	}
	p.next()
	n.Op = op
	return n
}

func (p *parser) parseNum(t token, kw Keyword) Node {
	op, ot, ok := p.parseOp()
	if !ok {
		p.fail(ot, "unexpected "+ot.describe(), fmt.Sprintf("expected a comparison operator (=, !=, <, <=, >, >=) after %s", kw))
	}
	if !op.numeric() {
		p.fail(ot, fmt.Sprintf("operator %s cannot be used with numeric keyword %s", opText(ot), kw), "use =, !=, <, <=, > or >=")
	}
	v := p.needValue(ot)
	if v.kind != tNumber {
		p.fail(v, fmt.Sprintf("%s is a numeric keyword; %s is not a number", kw, v.describe()), fmt.Sprintf("expected a number after %q", opText(ot)))
	}
	p.next()
	return &NumCmp{Pos: t.pos, Keyword: kw, Op: op, Value: v.num}
}

func (p *parser) parseStr(t token, kw Keyword) Node {
	op, ot, ok := p.parseOp()
	if !ok {
		return &StrCmp{Pos: t.pos, Keyword: kw, Op: OpExists}
	}
	if !op.stringy() {
		p.fail(ot, fmt.Sprintf("operator %s cannot be used with string keyword %s", opText(ot), kw), "use =, !=, CONTAINS, BEGINSWITH or ENDSWITH")
	}
	v := p.stringValue(ot, kw.String())
	return &StrCmp{Pos: t.pos, Keyword: kw, Op: op, Value: v}
}

// stringValue reads a quoted string or a bare identifier after op.
func (p *parser) stringValue(op token, what string) string {
	v := p.needValue(op)
	if v.kind == tNumber {
		p.fail(v, fmt.Sprintf("%s compares strings; %s is not a string", what, v.describe()), fmt.Sprintf(`write it in double quotes: "%s"`, clip(v.text)))
	}
	p.next()
	return v.val
}

func (p *parser) parseAnnotation(sc scope, t token) Node {
	var key string
	if strings.HasPrefix(strings.ToLower(t.text), "annotation[") {
		key = t.text[len("annotation[") : len(t.text)-1]
		if key == "" {
			p.fail(t, "empty annotation key", "expected annotation[KEY]")
		}
	} else {
		key = t.text[len("annotation."):]
		if key == "" {
			p.fail(t, "missing annotation key", "expected annotation.KEY")
		}
		if !validAnnotationKey(key) {
			p.fail(t, fmt.Sprintf("invalid annotation key %q", clip(key)),
				"annotation keys contain only letters, digits and underscores (write annotation[KEY] for others)")
		}
	}
	if sc != scTrace {
		p.fail(t, fmt.Sprintf("annotation.%s is not allowed %s", clip(key), sc.describe()), "annotations can be used only at the top level")
	}
	n := &AnnotationCmp{Pos: t.pos, Key: key}
	op, ot, ok := p.parseOp()
	if !ok {
		return n
	}
	v := p.needValue(ot)
	n.Op = op
	switch {
	case v.kind == tNumber:
		if !op.numeric() {
			p.fail(ot, fmt.Sprintf("operator %s cannot compare a number", opText(ot)), "use =, !=, <, <=, > or >= with a number")
		}
		n.Value = model.Float(v.num)
	case isWord(v, "true") || isWord(v, "false"):
		if op != OpEq && op != OpNe {
			p.fail(ot, fmt.Sprintf("operator %s cannot compare a boolean", opText(ot)), "use = or != with true or false")
		}
		n.Value = model.Bool(isWord(v, "true"))
	default:
		if !op.stringy() {
			p.fail(v, fmt.Sprintf("operator %s needs a number; %s is not a number", opText(ot), v.describe()), fmt.Sprintf("expected a number after %q", opText(ot)))
		}
		n.Value = model.Str(v.val)
	}
	p.next()
	return n
}

func (p *parser) parseService(t token) Node {
	lp := p.expect(tLParen, "service")
	n := &Service{Pos: t.pos}
	if p.peek().kind != tRParen {
		n.Target = p.parseTarget(lp)
	}
	p.expect(tRParen, "the service name")
	n.Filter = p.parseBraces(scService, "service(...)")
	return n
}

func (p *parser) parseEdge(t token) Node {
	lp := p.expect(tLParen, "edge")
	n := &Edge{Pos: t.pos}
	n.From = p.parseTarget(lp)
	comma := p.expect(tComma, "the first service of edge(...)")
	n.To = p.parseTarget(comma)
	p.expect(tRParen, "the second service of edge(...)")
	n.Filter = p.parseBraces(scEdge, "edge(...)")
	return n
}

// parseBraces reads an optional "{ expr }".
func (p *parser) parseBraces(sc scope, what string) Node {
	lb := p.peek()
	if lb.kind != tLBrace {
		return nil
	}
	p.next()
	p.enter(lb)
	if p.peek().kind == tRBrace {
		p.fail(p.peek(), `unexpected "}"`, fmt.Sprintf("expected a condition inside the braces of %s", what))
	}
	f := p.parseOr(sc)
	if c := p.peek(); c.kind != tRBrace {
		p.fail(c, "unexpected "+c.describe(), fmt.Sprintf(`expected "}" closing the "{" at column %d`, p.col(lb.pos)))
	}
	p.next()
	p.depth--
	return f
}

func (p *parser) parseTarget(after token) *Target {
	t := p.peek()
	switch {
	case t.kind == tString:
		p.next()
		return &Target{Pos: t.pos, Name: t.val, HasName: true}
	case isWord(t, "id") && p.toks[p.i+1].kind == tLParen:
		p.next()
		p.next()
		n := &Target{Pos: t.pos, IsID: true}
		for {
			k := p.peek()
			if k.kind != tIdent {
				p.fail(k, "unexpected "+k.describe(), "expected name, type or account.id inside id(...)")
			}
			p.next()
			colon := p.expect(tColon, strconv.Quote(k.text))
			var dup bool
			switch strings.ToLower(k.text) {
			case "name":
				dup = n.HasName
				n.Name, n.HasName = p.stringValue(colon, "id(name: …)"), true
			case "type":
				dup = n.HasType
				n.Type, n.HasType = p.stringValue(colon, "id(type: …)"), true
			case "account.id":
				dup = n.HasAccountID
				n.AccountID, n.HasAccountID = p.stringValue(colon, "id(account.id: …)"), true
			default:
				p.fail(k, fmt.Sprintf("unknown id(...) key %q", clip(k.text)), "expected name, type or account.id")
			}
			if dup {
				p.fail(k, fmt.Sprintf("duplicate id(...) key %s", strings.ToLower(k.text)), "give each key once")
			}
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
		if c := p.peek(); c.kind != tRParen {
			p.fail(c, "unexpected "+c.describe(), `expected "," or ")" inside id(...)`)
		}
		p.next()
		return n
	case t.kind == tIdent:
		p.next()
		return &Target{Pos: t.pos, Name: t.val, HasName: true}
	}
	p.fail(t, "unexpected "+t.describe(), fmt.Sprintf("expected a service name (a string) or id(...) after %q", after.text))
	return nil
}

func (p *parser) parseRootCause(sc scope, t token, lower string) Node {
	parts := strings.Split(lower, ".")
	var kind RootCauseKind
	var level RootCauseLevel
	if len(parts) == 3 && parts[0] == "rootcause" {
		switch parts[1] {
		case "fault":
			kind = RootCauseFault
		case "error":
			kind = RootCauseError
		case "responsetime":
			kind = RootCauseResponseTime
		}
		switch parts[2] {
		case "service":
			level = LevelService
		case "entity":
			level = LevelEntity
		case "exception":
			if kind != RootCauseResponseTime {
				level = LevelException
			}
		}
	}
	if kind == 0 || level == 0 {
		want := "expected rootcause.fault|error.service|entity|exception, rootcause.responsetime.service|entity or rootcause.json"
		if s := suggest(lower); s != "" && s != lower {
			want = fmt.Sprintf("did you mean %s?", s)
		}
		p.fail(t, fmt.Sprintf("unknown keyword %q", clip(t.text)), want)
	}
	p.onlyTop(sc, t, lower)
	var inner scope
	switch {
	case level == LevelService && kind == RootCauseResponseTime:
		inner = scRCServiceRT
	case level == LevelService:
		inner = scRCService
	case level == LevelEntity && kind == RootCauseResponseTime:
		inner = scRCEntityRT
	case level == LevelEntity:
		inner = scRCEntity
	default:
		inner = scRCException
	}
	if lb := p.peek(); lb.kind != tLBrace {
		p.fail(lb, "unexpected "+lb.describe(), fmt.Sprintf(`expected "{" after %s`, lower))
	}
	f := p.parseBraces(inner, lower)
	return &RootCause{Pos: t.pos, Kind: kind, Level: level, Filter: f}
}
