package xrayfilter

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Expr is a parsed filter expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	Root Node
}

// Node is one node of the AST: *And, *Or, *Not, *BoolCmp, *NumCmp, *StrCmp,
// *AnnotationCmp, *Service, *Edge, *Group, *RootCause or *RootCauseJSON.
type Node interface {
	// Position is the byte offset in the source where the node starts.
	Position() int
	node()
}

// And holds when both sides hold (AND, &&, or two predicates side by side).
type And struct {
	Pos         int
	Left, Right Node
}

// Or holds when either side holds (OR, ||).
type Or struct {
	Pos         int
	Left, Right Node
}

// Not holds when X does not (!, NOT).
type Not struct {
	Pos int
	X   Node
}

// BoolCmp compares a boolean keyword: fault, fault = true, fault != false.
// A bare keyword is stored as Op OpEq, Value true.
type BoolCmp struct {
	Pos     int
	Keyword Keyword
	Op      Op // OpEq or OpNe
	Value   bool
}

// NumCmp compares a numeric keyword with a number: responsetime > 5.
type NumCmp struct {
	Pos     int
	Keyword Keyword
	Op      Op // OpEq, OpNe, OpLt, OpLe, OpGt or OpGe
	Value   float64
}

// StrCmp compares a string keyword: http.url CONTAINS "/api/". A bare
// keyword (Op OpExists) holds when the field is present and not empty.
type StrCmp struct {
	Pos     int
	Keyword Keyword
	Op      Op // OpExists, OpEq, OpNe, OpContains, OpBeginsWith or OpEndsWith
	Value   string
}

// AnnotationCmp tests annotation Key: present (Op OpExists) or compared with
// a typed Value (a model.Value of kind string, float or bool).
type AnnotationCmp struct {
	Pos   int
	Key   string
	Op    Op
	Value model.Value
}

// Service is service(Target){Filter}. A nil Target matches any node; a nil
// Filter is no condition on the node's segments.
type Service struct {
	Pos    int
	Target *Target
	Filter Node
}

// Edge is edge(From, To){Filter}; Filter (nil for none) is evaluated on the
// caller's subsegment.
type Edge struct {
	Pos      int
	From, To *Target
	Filter   Node
}

// Target selects service-graph nodes: a name, or id(name: …, type: …,
// account.id: …) where only the given keys are compared.
type Target struct {
	Pos          int
	IsID         bool // written as id(...)
	Name         string
	Type         string
	AccountID    string
	HasName      bool
	HasType      bool
	HasAccountID bool
}

// Group is group.name = "g" or group.arn = "arn": the trace matches that
// group's own filter expression.
type Group struct {
	Pos   int
	ByARN bool
	Value string
}

// RootCauseKind names a root-cause list of a trace summary.
type RootCauseKind uint8

// Root-cause lists.
const (
	RootCauseFault RootCauseKind = iota + 1
	RootCauseError
	RootCauseResponseTime
)

func (k RootCauseKind) String() string {
	switch k {
	case RootCauseFault:
		return "fault"
	case RootCauseError:
		return "error"
	case RootCauseResponseTime:
		return "responsetime"
	}
	return "?"
}

// RootCauseLevel names what a rootcause predicate iterates over.
type RootCauseLevel uint8

// Root-cause levels.
const (
	LevelService RootCauseLevel = iota + 1
	LevelEntity
	LevelException
)

func (l RootCauseLevel) String() string {
	switch l {
	case LevelService:
		return "service"
	case LevelEntity:
		return "entity"
	case LevelException:
		return "exception"
	}
	return "?"
}

// RootCause is rootcause.<Kind>.<Level> { Filter }: some item of that level
// in the trace's Kind root causes satisfies Filter.
type RootCause struct {
	Pos    int
	Kind   RootCauseKind
	Level  RootCauseLevel
	Filter Node
}

// RootCauseJSON is rootcause.json = #[…]: every pattern (a JSON object)
// partially matches some root cause of any kind. Fields present in a pattern
// must be equal, absent ones are wildcards; a pattern array matches when each
// of its elements matches some element of the actual array.
type RootCauseJSON struct {
	Pos      int
	Patterns []any
}

func (n *And) Position() int           { return n.Pos }
func (n *Or) Position() int            { return n.Pos }
func (n *Not) Position() int           { return n.Pos }
func (n *BoolCmp) Position() int       { return n.Pos }
func (n *NumCmp) Position() int        { return n.Pos }
func (n *StrCmp) Position() int        { return n.Pos }
func (n *AnnotationCmp) Position() int { return n.Pos }
func (n *Service) Position() int       { return n.Pos }
func (n *Edge) Position() int          { return n.Pos }
func (n *Group) Position() int         { return n.Pos }
func (n *RootCause) Position() int     { return n.Pos }
func (n *RootCauseJSON) Position() int { return n.Pos }

func (*And) node()           {}
func (*Or) node()            {}
func (*Not) node()           {}
func (*BoolCmp) node()       {}
func (*NumCmp) node()        {}
func (*StrCmp) node()        {}
func (*AnnotationCmp) node() {}
func (*Service) node()       {}
func (*Edge) node()          {}
func (*Group) node()         {}
func (*RootCause) node()     {}
func (*RootCauseJSON) node() {}

// Op is a comparison operator.
type Op uint8

// Operators.
const (
	OpExists Op = iota // a bare keyword or annotation
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpContains
	OpBeginsWith
	OpEndsWith
)

var opNames = [...]string{
	OpExists: "", OpEq: "=", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=",
	OpContains: "CONTAINS", OpBeginsWith: "BEGINSWITH", OpEndsWith: "ENDSWITH",
}

// String returns the operator as written in an expression.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "?"
}

func (o Op) numeric() bool { return o >= OpEq && o <= OpGe }

func (o Op) stringy() bool { return o == OpEq || o == OpNe || o >= OpContains }

// Walk calls fn for n and, while fn returns true, for its children in
// source order (the Filter of Service, Edge and RootCause included).
func Walk(n Node, fn func(Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	switch n := n.(type) {
	case *And:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *Or:
		Walk(n.Left, fn)
		Walk(n.Right, fn)
	case *Not:
		Walk(n.X, fn)
	case *Service:
		Walk(n.Filter, fn)
	case *Edge:
		Walk(n.Filter, fn)
	case *RootCause:
		Walk(n.Filter, fn)
	}
}

// String prints the expression in canonical form: lower-case keywords,
// upper-case AND/OR/operator words, quoted strings, ! for negation and only
// the parentheses that precedence needs. Parse(e.String()) gives an equal AST.
func (e *Expr) String() string {
	if e == nil || e.Root == nil {
		return ""
	}
	var b strings.Builder
	writeNode(&b, e.Root, 0)
	return b.String()
}

// NodeString prints one node as String prints an expression.
func NodeString(n Node) string {
	var b strings.Builder
	writeNode(&b, n, 0)
	return b.String()
}

func prec(n Node) int {
	switch n.(type) {
	case *Or:
		return 1
	case *And:
		return 2
	case *Not:
		return 3
	}
	return 4
}

func writeNode(b *strings.Builder, n Node, min int) {
	if prec(n) < min {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch n := n.(type) {
	case *Or:
		writeNode(b, n.Left, 1)
		b.WriteString(" OR ")
		writeNode(b, n.Right, 2)
	case *And:
		writeNode(b, n.Left, 2)
		b.WriteString(" AND ")
		writeNode(b, n.Right, 3)
	case *Not:
		b.WriteByte('!')
		writeNode(b, n.X, 3)
	case *BoolCmp:
		b.WriteString(n.Keyword.String())
		if n.Op != OpEq || !n.Value {
			b.WriteByte(' ')
			b.WriteString(n.Op.String())
			b.WriteByte(' ')
			b.WriteString(strconv.FormatBool(n.Value))
		}
	case *NumCmp:
		b.WriteString(n.Keyword.String())
		b.WriteByte(' ')
		b.WriteString(n.Op.String())
		b.WriteByte(' ')
		b.WriteString(formatNum(n.Value))
	case *StrCmp:
		b.WriteString(n.Keyword.String())
		if n.Op != OpExists {
			b.WriteByte(' ')
			b.WriteString(n.Op.String())
			b.WriteByte(' ')
			writeQuoted(b, n.Value)
		}
	case *AnnotationCmp:
		if validAnnotationKey(n.Key) {
			b.WriteString("annotation.")
			b.WriteString(n.Key)
		} else {
			b.WriteString("annotation[")
			b.WriteString(n.Key)
			b.WriteByte(']')
		}
		if n.Op != OpExists {
			b.WriteByte(' ')
			b.WriteString(n.Op.String())
			b.WriteByte(' ')
			switch n.Value.Kind {
			case model.KindString:
				writeQuoted(b, n.Value.Str)
			case model.KindBool:
				b.WriteString(strconv.FormatBool(n.Value.AsBool()))
			case model.KindInt:
				b.WriteString(strconv.FormatInt(n.Value.Int, 10))
			default:
				b.WriteString(formatNum(n.Value.Flt))
			}
		}
	case *Service:
		b.WriteString("service(")
		if n.Target != nil {
			writeTarget(b, n.Target)
		}
		b.WriteByte(')')
		writeBraces(b, n.Filter)
	case *Edge:
		b.WriteString("edge(")
		writeTarget(b, n.From)
		b.WriteString(", ")
		writeTarget(b, n.To)
		b.WriteByte(')')
		writeBraces(b, n.Filter)
	case *Group:
		if n.ByARN {
			b.WriteString("group.arn = ")
		} else {
			b.WriteString("group.name = ")
		}
		writeQuoted(b, n.Value)
	case *RootCause:
		b.WriteString("rootcause.")
		b.WriteString(n.Kind.String())
		b.WriteByte('.')
		b.WriteString(n.Level.String())
		writeBraces(b, n.Filter)
	case *RootCauseJSON:
		b.WriteString("rootcause.json = #")
		js, err := json.Marshal(n.Patterns)
		if err != nil || n.Patterns == nil {
			js = []byte("[]")
		}
		b.Write(js)
	}
}

func writeBraces(b *strings.Builder, f Node) {
	if f == nil {
		return
	}
	b.WriteString(" { ")
	writeNode(b, f, 0)
	b.WriteString(" }")
}

func writeTarget(b *strings.Builder, t *Target) {
	if t == nil {
		return
	}
	if !t.IsID {
		writeQuoted(b, t.Name)
		return
	}
	b.WriteString("id(")
	sep := ""
	if t.HasName {
		b.WriteString("name: ")
		writeQuoted(b, t.Name)
		sep = ", "
	}
	if t.HasType {
		b.WriteString(sep)
		b.WriteString("type: ")
		writeQuoted(b, t.Type)
		sep = ", "
	}
	if t.HasAccountID {
		b.WriteString(sep)
		b.WriteString("account.id: ")
		writeQuoted(b, t.AccountID)
	}
	b.WriteByte(')')
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

func formatNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// validAnnotationKey reports whether k may be written as annotation.k:
// letters, digits and underscores, as X-Ray stores annotation keys.
func validAnnotationKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
