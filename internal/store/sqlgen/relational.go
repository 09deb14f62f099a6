package sqlgen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

// Relational fields, as Honeycomb's query builder has them: a field name
// with a prefix that names another span of the event's trace.
//
//	root.<field>    the trace's root span (the span without a parent)
//	parent.<field>  the event's parent span
//	any.<field>     some span of the trace
//	none.<field>    no span of the trace
//
// In filters, every filter with the same prefix applies to one span: an
// event qualifies when its trace's root span meets all the root. filters,
// its parent span all the parent. filters, some span of its trace all the
// any. filters, and no span of its trace all the none. filters. They join
// the query's other filters with AND (Honeycomb applies AND to a clause
// with relational fields; OR with one is refused). In breakdowns, root.x
// is x of the trace's root span, parent.x x of the event's parent, any.x x
// of a span meeting the any. filters (of any span when there are none; the
// greatest value when several do); none. cannot group. Calculations and
// per-calculation filters take no relational field, as in Honeycomb.
//
// The related spans are looked for across the whole environment (a
// trace's spans are in several datasets), in the query's time range
// widened by TraceColumns.Margin on both sides. The query's events are
// joined with one row per trace (root, any, none) and one per span
// (parent), computed from that widened range.

// TraceColumns tell the SQL generator how a store keeps trace structure,
// which relational fields need.
type TraceColumns struct {
	Key      []string // columns identifying an event's trace, quoted
	SpanID   string   // the event's span id column, NULL when it has none
	ParentID string   // the event's parent span id column, NULL for a root
	// IsRoot is true on a root span (an event with a span id and no
	// parent).
	IsRoot string
	// Margin widens the query's time range for the related spans.
	Margin time.Duration
}

// Relational prefixes, and the split of a relational field name.
const (
	relRoot   = store.RelRoot
	relParent = store.RelParent
	relAny    = store.RelAny
	relNone   = store.RelNone
)

func relationalPrefix(field string) (prefix, name string, ok bool) {
	return store.RelationalField(field)
}

// IsRelational reports whether field is a relational field name.
func IsRelational(field string) bool {
	_, _, ok := store.RelationalField(field)
	return ok
}

// ErrRelational wraps the errors of a query whose relational fields cannot
// be run as given: the same query fails again.
var ErrRelational = errors.New("relational fields")

func relErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRelational, fmt.Sprintf(format, args...))
}

// relate rewrites a plan whose query names relational fields: the source
// becomes the events joined with their traces' and parents' related
// values, the relational filters become part of the scope, and the
// relational breakdowns resolve to the joined values. A query without
// relational fields is left as it is.
func (p *AggPlan) relate() error {
	q := &p.q
	var rel []store.Filter
	keep := q.Filters[:0:0]
	for _, f := range q.Filters {
		if IsRelational(f.Column) {
			rel = append(rel, f)
		} else {
			keep = append(keep, f)
		}
	}
	var relBreakdowns []string
	for _, b := range q.Breakdowns {
		if IsRelational(b) {
			relBreakdowns = append(relBreakdowns, b)
		}
	}
	for _, c := range q.Calcs {
		if IsRelational(c.Column) {
			return relErr("%s cannot be calculated: relational fields can be used in filters and breakdowns only", c.Column)
		}
	}
	for i, cf := range q.CalcFilters {
		for _, f := range cf.Filters {
			if IsRelational(f.Column) {
				return relErr("calculation filter %d names %s: relational fields can be used in the query's filters and breakdowns only", i+1, f.Column)
			}
		}
	}
	if len(rel) == 0 && len(relBreakdowns) == 0 {
		return nil
	}
	tc := p.src.Trace
	if tc == nil || len(tc.Key) == 0 {
		return relErr("this store cannot query relational fields")
	}
	if len(rel) > 0 && q.Combination == store.Or {
		return relErr("a query with relational fields combines its filters with AND, not OR")
	}
	base := p.src.Resolve
	byPrefix := map[string][]store.Filter{}
	for _, f := range rel {
		prefix, name, _ := relationalPrefix(f.Column)
		f.Column = name
		byPrefix[prefix] = append(byPrefix[prefix], f)
	}
	cond := func(prefix string) (expr, error) {
		fs := byPrefix[prefix]
		if len(fs) == 0 {
			return expr{sql: "TRUE"}, nil
		}
		w, args, err := p.d.Where(fs, store.And, base)
		if err != nil {
			return expr{}, err
		}
		return expr{"(" + w + ")", args}, nil
	}
	flag := func(c expr) expr { return c.wrap("max(CASE WHEN ", " THEN 1 ELSE 0 END)") }

	// The per-trace and per-parent values, and what the outer query reads
	// of them.
	var traceItems, parentItems []expr
	var scope []string
	n := 0
	col := func() string { n++; return "rel_" + strconv.Itoa(n-1) }
	addTrace := func(x expr) string { c := col(); traceItems = append(traceItems, x.wrap("", " AS "+c)); return c }
	addParent := func(x expr) string { c := col(); parentItems = append(parentItems, x.wrap("", " AS "+c)); return c }

	if len(byPrefix[relRoot]) > 0 {
		c, err := cond(relRoot)
		if err != nil {
			return err
		}
		name := addTrace(flag(c.wrap("("+tc.IsRoot+") AND ", "")))
		scope = append(scope, "coalesce("+name+", 0) = 1")
	}
	anyCond, err := cond(relAny)
	if err != nil {
		return err
	}
	if len(byPrefix[relAny]) > 0 {
		scope = append(scope, "coalesce("+addTrace(flag(anyCond))+", 0) = 1")
	}
	if len(byPrefix[relNone]) > 0 {
		c, err := cond(relNone)
		if err != nil {
			return err
		}
		scope = append(scope, "coalesce("+addTrace(flag(c))+", 0) = 0")
	}
	if len(byPrefix[relParent]) > 0 {
		c, err := cond(relParent)
		if err != nil {
			return err
		}
		scope = append(scope, "coalesce("+addParent(flag(c))+", 0) = 1")
	}
	resolved := map[string][]Column{}
	for _, b := range relBreakdowns {
		if _, done := resolved[b]; done {
			continue
		}
		prefix, name, _ := relationalPrefix(b)
		var cols []Column
		for _, c := range base(name) {
			x := expr{c.Expr, c.Args}
			var out string
			switch prefix {
			case relRoot:
				out = addTrace(x.wrap("max(CASE WHEN "+tc.IsRoot+" THEN ", " END)"))
			case relAny:
				out = addTrace(expr{"max(CASE WHEN " + anyCond.sql + " THEN " + x.sql + " END)", append(append([]any{}, anyCond.args...), x.args...)})
			case relParent:
				out = addParent(x.wrap("max(", ")"))
			default:
				return relErr("%s cannot group: none. names spans that are not there", b)
			}
			cols = append(cols, Column{Expr: out, Kind: c.Kind})
		}
		if prefix == relNone {
			return relErr("%s cannot group: none. names spans that are not there", b)
		}
		resolved[b] = cols
	}

	// The joined source.
	lo := p.q.Start.Add(-tc.Margin).UnixNano()
	hi := p.q.End.Add(tc.Margin).UnixNano()
	var b sqlBuilder
	b.s("(SELECT e.*")
	for _, it := range traceItems {
		c := it.sql[strings.LastIndex(it.sql, " AS ")+4:]
		b.s(", t.", c, " AS ", c)
	}
	for _, it := range parentItems {
		c := it.sql[strings.LastIndex(it.sql, " AS ")+4:]
		b.s(", pa.", c, " AS ", c)
	}
	b.s(" FROM ", p.src.Table, " e")
	keyList := strings.Join(tc.Key, ", ")
	join := func(alias, prefix string) {
		for i, k := range tc.Key {
			if i > 0 {
				b.s(" AND ")
			}
			b.s("e.", k, " = ", alias, ".", prefix, strconv.Itoa(i))
		}
	}
	keyAs := func(prefix string) {
		for i, k := range tc.Key {
			b.s(k, " AS ", prefix, strconv.Itoa(i), ", ")
		}
	}
	if len(traceItems) > 0 {
		b.s(" LEFT JOIN (SELECT ")
		keyAs("tk_")
		for i, it := range traceItems {
			if i > 0 {
				b.s(", ")
			}
			b.e(it)
		}
		b.s(" FROM ", p.src.Table, " WHERE ", p.src.Time, " >= ").p(lo).s(" AND ", p.src.Time, " < ").p(hi)
		b.s(" GROUP BY ", keyList, ") t ON ")
		join("t", "tk_")
	}
	if len(parentItems) > 0 {
		b.s(" LEFT JOIN (SELECT ")
		keyAs("pk_")
		b.s(tc.SpanID, " AS pk_span, ")
		for i, it := range parentItems {
			if i > 0 {
				b.s(", ")
			}
			b.e(it)
		}
		b.s(" FROM ", p.src.Table, " WHERE ", p.src.Time, " >= ").p(lo).s(" AND ", p.src.Time, " < ").p(hi)
		b.s(" AND ", tc.SpanID, " IS NOT NULL GROUP BY ", keyList, ", ", tc.SpanID, ") pa ON ")
		join("pa", "pk_")
		b.s(" AND e.", tc.ParentID, " = pa.pk_span")
	}
	b.s(" WHERE e.", p.src.Time, " >= ").p(p.q.Start.UnixNano()).s(" AND e.", p.src.Time, " < ").p(p.q.End.UnixNano()).s(") rel")

	p.src.Table = b.sb.String()
	p.src.TableArgs = append(append([]any{}, p.src.TableArgs...), b.args...)
	if len(scope) > 0 {
		s := strings.Join(scope, " AND ")
		if p.src.Scope != "" {
			s = p.src.Scope + " AND " + s
		}
		p.src.Scope = s
	}
	q.Filters = keep
	p.src.Resolve = func(field string) []Column {
		if cols, ok := resolved[field]; ok {
			return cols
		}
		if IsRelational(field) {
			return nil
		}
		return base(field)
	}
	return nil
}
