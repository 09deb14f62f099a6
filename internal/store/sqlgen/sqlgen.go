// Package sqlgen compiles store filters (store.Filter, Honeycomb's operators)
// into a parameterised SQL boolean expression. It knows nothing about a
// store's tables: a Resolver maps a Honeycomb field name to the SQL
// expressions that hold it (one per value type the field was stored with),
// and a Dialect supplies the few functions that differ between SQL engines.
// The DuckDB store uses the DuckDB dialect, the ClickHouse store
// (package clickhouse) the ClickHouse one.
//
// Semantics (store.Filter's contract):
//   - A positive operator (=, >, starts-with, contains, in, exists, …) on a
//     field matches when any of the field's typed expressions is non-NULL and
//     satisfies it with the filter value converted to that expression's type.
//     A value that does not convert (e.g. "abc" against an integer column)
//     matches nothing for that expression.
//   - A negative operator (!=, does-not-*, not-in, does-not-exist) is exactly
//     NOT of its positive twin, so an event without the field matches it.
//   - A field no Resolver knows behaves as a field no event has.
//
// Every positive expression is built so that it is never NULL (each term is
// guarded by IS NOT NULL), which keeps NOT well defined under SQL's
// three-valued logic. Values are always passed as parameters ("?"); only
// expressions from the Resolver, which must quote identifiers itself (see
// Dialect.Quote), are spliced into the text.
package sqlgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Dialect holds the SQL spellings that differ between engines. Each function
// gets already-built SQL operands.
type Dialect struct {
	Name       string
	StartsWith func(x, prefix string) string
	EndsWith   func(x, suffix string) string
	Contains   func(x, sub string) string
	ToString   func(x string) string // any scalar as text
	ToDouble   func(x string) string // a numeric as a double
	QuoteChar  byte                  // identifier quote
	// NotNull turns a comparison that is NULL for a NULL operand into
	// false, for engines where FALSE AND NULL is NULL (ClickHouse before
	// 21.x); nil where AND already gives false.
	NotNull func(cmp string) string
	// missing are the functions the server lacks (see ClickHouseWithout).
	missing map[string]bool
}

// DuckDB returns the DuckDB dialect.
func DuckDB() Dialect {
	return Dialect{
		Name:       "duckdb",
		StartsWith: func(x, p string) string { return "starts_with(" + x + ", " + p + ")" },
		EndsWith:   func(x, s string) string { return "ends_with(" + x + ", " + s + ")" },
		Contains:   func(x, s string) string { return "contains(" + x + ", " + s + ")" },
		ToString:   func(x string) string { return "CAST(" + x + " AS VARCHAR)" },
		ToDouble:   func(x string) string { return "CAST(" + x + " AS DOUBLE)" },
		QuoteChar:  '"',
	}
}

// ClickHouse returns the ClickHouse dialect.
func ClickHouse() Dialect {
	return Dialect{
		Name:       "clickhouse",
		StartsWith: func(x, p string) string { return "startsWith(" + x + ", " + p + ")" },
		EndsWith:   func(x, s string) string { return "endsWith(" + x + ", " + s + ")" },
		Contains:   func(x, s string) string { return "(position(" + x + ", " + s + ") > 0)" },
		ToString:   func(x string) string { return "toString(" + x + ")" },
		ToDouble:   func(x string) string { return "toFloat64(" + x + ")" },
		QuoteChar:  '`',
		NotNull:    func(cmp string) string { return "ifNull(" + cmp + ", 0)" },
	}
}

// ClickHouseWithout returns the ClickHouse dialect for a server lacking
// some of the functions the dialect uses, which it then spells with older
// ones: "countMatches" (length(extractAll(…))), "window" (window
// functions: CONCURRENCY's running sum from a sorted array) and
// "DateTime64" (UNIX_TIMESTAMP and FORMAT_TIME with DateTime, whole
// seconds from 1970 to 2106, and the fraction from the text). ClickHouse
// 18.16 lacks all three. "quantileExactLow" is accepted and changes
// nothing: percentiles are the nearest rank of the sorted array of values
// on every version.
func ClickHouseWithout(missing ...string) Dialect {
	d := ClickHouse()
	d.missing = map[string]bool{}
	for _, m := range missing {
		d.missing[m] = true
	}
	return d
}

// Quote quotes an identifier for the dialect, doubling embedded quotes.
func (d Dialect) Quote(ident string) string {
	q := string(d.QuoteChar)
	return q + strings.ReplaceAll(ident, q, q+q) + q
}

// Column is one typed SQL expression holding a field's values.
type Column struct {
	Expr string     // SQL expression, identifiers already quoted
	Args []any      // parameters referenced by Expr, in order
	Kind model.Kind // the type of Expr's values
}

// Resolver returns the expressions holding a field; nil when no event has it.
type Resolver func(field string) []Column

// Where compiles filters joined by comb into one boolean SQL expression and
// its parameters. No filters give "TRUE".
func (d Dialect) Where(filters []store.Filter, comb store.Combination, resolve Resolver) (string, []any, error) {
	if len(filters) == 0 {
		return "TRUE", nil, nil
	}
	join := " AND "
	if comb == store.Or {
		join = " OR "
	}
	var sb strings.Builder
	var args []any
	for i, f := range filters {
		expr, a, err := d.Filter(f, resolve)
		if err != nil {
			return "", nil, fmt.Errorf("filter %d (%s %s): %w", i, f.Column, f.Op, err)
		}
		if i > 0 {
			sb.WriteString(join)
		}
		sb.WriteString(expr)
		args = append(args, a...)
	}
	if len(filters) == 1 {
		return sb.String(), args, nil
	}
	return "(" + sb.String() + ")", args, nil
}

// positive maps each negative operator to the positive operator it negates.
var positive = map[store.Op]store.Op{
	store.OpNe:            store.OpEq,
	store.OpNotStartsWith: store.OpStartsWith,
	store.OpNotEndsWith:   store.OpEndsWith,
	store.OpNotExists:     store.OpExists,
	store.OpNotContains:   store.OpContains,
	store.OpNotIn:         store.OpIn,
}

// Filter compiles one filter.
func (d Dialect) Filter(f store.Filter, resolve Resolver) (string, []any, error) {
	op := f.Op
	neg := false
	if p, ok := positive[op]; ok {
		op, neg = p, true
	}
	switch op {
	case store.OpEq, store.OpGt, store.OpGe, store.OpLt, store.OpLe,
		store.OpStartsWith, store.OpEndsWith, store.OpContains, store.OpExists, store.OpIn:
	default:
		return "", nil, fmt.Errorf("unknown filter operator %q", f.Op)
	}
	var terms []string
	var args []any
	for _, c := range resolve(f.Column) {
		t, a := d.term(c, op, f)
		if t == "" {
			continue
		}
		terms = append(terms, t)
		args = append(args, a...)
	}
	var expr string
	switch len(terms) {
	case 0:
		expr = "FALSE"
	case 1:
		expr = terms[0]
	default:
		expr = "(" + strings.Join(terms, " OR ") + ")"
	}
	if neg {
		expr = "NOT " + expr
	}
	return expr, args, nil
}

// term builds "(x IS NOT NULL AND cmp)" for one typed expression, or "" when
// the filter value cannot match this type.
func (d Dialect) term(c Column, op store.Op, f store.Filter) (string, []any) {
	x := c.Expr
	args := append([]any(nil), c.Args...)
	guard := func(cmp string, a ...any) (string, []any) {
		if d.NotNull != nil {
			cmp = d.NotNull(cmp)
		}
		// x appears twice: once in the guard and once in cmp.
		all := append(append([]any(nil), args...), args...)
		return "(" + x + " IS NOT NULL AND " + cmp + ")", append(all, a...)
	}
	switch op {
	case store.OpExists:
		return "(" + x + " IS NOT NULL)", args
	case store.OpStartsWith, store.OpEndsWith, store.OpContains:
		s := x
		if c.Kind != model.KindString {
			s = d.ToString(x)
		}
		var cmp string
		switch op {
		case store.OpStartsWith:
			cmp = d.StartsWith(s, "?")
		case store.OpEndsWith:
			cmp = d.EndsWith(s, "?")
		default:
			cmp = d.Contains(s, "?")
		}
		return guard(cmp, f.Value.String())
	case store.OpIn:
		var vals []any
		var ph []string
		for _, v := range f.Values {
			cv, ok := convert(v, c.Kind)
			if !ok || cv.asDouble {
				continue
			}
			vals = append(vals, cv.v)
			ph = append(ph, "?")
		}
		if len(vals) == 0 {
			return "", nil
		}
		return guard(x+" IN ("+strings.Join(ph, ", ")+")", vals...)
	}
	cv, ok := convert(f.Value, c.Kind)
	if !ok {
		return "", nil
	}
	lhs := x
	if cv.asDouble {
		if op == store.OpEq {
			return "", nil // an integer never equals a non-integral number
		}
		lhs = d.ToDouble(x)
	}
	return guard(lhs+" "+string(op)+" ?", cv.v)
}

type converted struct {
	v        any
	asDouble bool // compare the integer column as a double
}

// convert converts a filter value to a column type.
func convert(v model.Value, k model.Kind) (converted, bool) {
	switch k {
	case model.KindString:
		return converted{v: v.String()}, true
	case model.KindInt:
		switch v.Kind {
		case model.KindInt:
			return converted{v: v.Int}, true
		case model.KindFloat:
			return floatForInt(v.Flt)
		case model.KindString:
			s := strings.TrimSpace(v.Str)
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return converted{v: i}, true
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return floatForInt(f)
			}
		}
		return converted{}, false
	case model.KindFloat:
		switch v.Kind {
		case model.KindInt:
			return converted{v: float64(v.Int)}, true
		case model.KindFloat:
			return converted{v: v.Flt}, true
		case model.KindString:
			if f, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64); err == nil {
				return converted{v: f}, true
			}
		}
		return converted{}, false
	case model.KindBool:
		switch v.Kind {
		case model.KindBool:
			return converted{v: v.AsBool()}, true
		case model.KindString:
			if b, err := strconv.ParseBool(strings.TrimSpace(v.Str)); err == nil {
				return converted{v: b}, true
			}
		}
		return converted{}, false
	}
	return converted{}, false
}

func floatForInt(f float64) (converted, bool) {
	if math.IsNaN(f) {
		return converted{}, false
	}
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return converted{v: int64(f)}, true
	}
	return converted{v: f, asDouble: true}, true
}
