package sqlgen

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/golden"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// testResolver knows a few fields of every shape: a hot column, a key with
// two typed columns, an overflow map entry and a hostile name.
func testResolver(d Dialect) Resolver {
	return func(field string) []Column {
		switch field {
		case "name":
			return []Column{{Expr: d.Quote("name"), Kind: model.KindString}}
		case "duration_ms":
			return []Column{{Expr: d.Quote("duration_ms"), Kind: model.KindFloat}}
		case "http.status":
			return []Column{{Expr: d.Quote("a1"), Kind: model.KindInt}, {Expr: d.Quote("a2"), Kind: model.KindString}}
		case "cached":
			return []Column{{Expr: d.Quote("a3"), Kind: model.KindBool}}
		case "rare":
			return []Column{{Expr: d.Quote("ov_str") + "[?]", Args: []any{"rare"}, Kind: model.KindString}}
		case `we"ird`:
			return []Column{{Expr: d.Quote(`we"ird`), Kind: model.KindString}}
		}
		return nil
	}
}

func TestWhereGolden(t *testing.T) {
	S, I, F, B := model.Str, model.Int, model.Float, model.Bool
	f := func(col string, op store.Op, v model.Value) store.Filter {
		return store.Filter{Column: col, Op: op, Value: v}
	}
	cases := []struct {
		name    string
		filters []store.Filter
		comb    store.Combination
	}{
		{"none", nil, store.And},
		{"eq_string", []store.Filter{f("name", store.OpEq, S("GET /"))}, store.And},
		{"ne_string", []store.Filter{f("name", store.OpNe, S("GET /"))}, store.And},
		{"eq_two_types", []store.Filter{f("http.status", store.OpEq, S("500"))}, store.And},
		{"gt_two_types_unconvertible", []store.Filter{f("http.status", store.OpGt, S("abc"))}, store.And},
		{"gt_int_by_fraction", []store.Filter{f("http.status", store.OpGt, F(499.5))}, store.And},
		{"le_float_from_int", []store.Filter{f("duration_ms", store.OpLe, I(100))}, store.And},
		{"bool_eq", []store.Filter{f("cached", store.OpEq, B(true))}, store.And},
		{"starts_with_int", []store.Filter{f("http.status", store.OpStartsWith, S("5"))}, store.And},
		{"does_not_end_with", []store.Filter{f("name", store.OpNotEndsWith, S("/health"))}, store.And},
		{"contains", []store.Filter{f("name", store.OpContains, S("api"))}, store.And},
		{"does_not_contain", []store.Filter{f("name", store.OpNotContains, S("api"))}, store.And},
		{"exists", []store.Filter{{Column: "http.status", Op: store.OpExists}}, store.And},
		{"does_not_exist", []store.Filter{{Column: "cached", Op: store.OpNotExists}}, store.And},
		{"in", []store.Filter{{Column: "http.status", Op: store.OpIn, Values: []model.Value{I(500), S("503"), S("x")}}}, store.And},
		{"not_in", []store.Filter{{Column: "name", Op: store.OpNotIn, Values: []model.Value{S("a"), S("b")}}}, store.And},
		{"overflow", []store.Filter{f("rare", store.OpEq, S("x"))}, store.And},
		{"unknown_eq", []store.Filter{f("nope", store.OpEq, S("x"))}, store.And},
		{"unknown_ne", []store.Filter{f("nope", store.OpNe, S("x"))}, store.And},
		{"quoted_identifier", []store.Filter{f(`we"ird`, store.OpEq, S(`'; DROP TABLE x; --`))}, store.And},
		{"and", []store.Filter{f("name", store.OpEq, S("a")), f("duration_ms", store.OpGt, I(10))}, store.And},
		{"or", []store.Filter{f("name", store.OpEq, S("a")), {Column: "cached", Op: store.OpNotExists}}, store.Or},
	}
	for _, d := range []Dialect{DuckDB(), ClickHouse()} {
		t.Run(d.Name, func(t *testing.T) {
			var sb strings.Builder
			for _, c := range cases {
				expr, args, err := d.Where(c.filters, c.comb, testResolver(d))
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if n := strings.Count(expr, "?"); n != len(args) {
					t.Errorf("%s: %d placeholders, %d args", c.name, n, len(args))
				}
				fmt.Fprintf(&sb, "-- %s\n%s\n-- args: %#v\n\n", c.name, expr, args)
			}
			path := filepath.Join("testdata", d.Name+".sql")
			golden.Check(t, path, []byte(sb.String()))
		})
	}
}

func TestUnknownOperator(t *testing.T) {
	_, _, err := DuckDB().Where([]store.Filter{{Column: "name", Op: "like"}}, store.And, testResolver(DuckDB()))
	if err == nil || !strings.Contains(err.Error(), `"like"`) {
		t.Fatalf("err = %v, want one naming the operator", err)
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		d        Dialect
		in, want string
	}{
		{DuckDB(), `a1`, `"a1"`},
		{DuckDB(), `x"y`, `"x""y"`},
		{ClickHouse(), "x`y", "`x``y`"},
	}
	for _, tc := range tests {
		if got := tc.d.Quote(tc.in); got != tc.want {
			t.Errorf("%s Quote(%q) = %q, want %q", tc.d.Name, tc.in, got, tc.want)
		}
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		v      model.Value
		k      model.Kind
		want   any
		double bool
		ok     bool
	}{
		{model.Str("42"), model.KindInt, int64(42), false, true},
		{model.Str(" 4.5 "), model.KindInt, 4.5, true, true},
		{model.Float(3), model.KindInt, int64(3), false, true},
		{model.Float(1e300), model.KindInt, 1e300, true, true},
		{model.Bool(true), model.KindInt, nil, false, false},
		{model.Int(2), model.KindFloat, 2.0, false, true},
		{model.Str("x"), model.KindFloat, nil, false, false},
		{model.Str("TRUE"), model.KindBool, true, false, true},
		{model.Int(1), model.KindBool, nil, false, false},
		{model.Int(7), model.KindString, "7", false, true},
		{model.Bool(false), model.KindString, "false", false, true},
	}
	for _, tc := range tests {
		got, ok := convert(tc.v, tc.k)
		if ok != tc.ok || (ok && (got.v != tc.want || got.asDouble != tc.double)) {
			t.Errorf("convert(%v, %v) = %#v, %v; want %#v (double %v), %v", tc.v, tc.k, got, ok, tc.want, tc.double, tc.ok)
		}
	}
}
