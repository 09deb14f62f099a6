package query

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Formulas are Honeycomb's: a name and an expression in the calculated
// field syntax whose columns are the names of the query's calculations,
// e.g. DIV($errors, $total). A formula is evaluated per group and per time
// bucket from its calculations' values; a formula cannot use another
// formula. When a query has formulas, its results and series carry the
// formulas' values instead of the calculations'.
//
// A formula computes with numbers: the conditional (IF, SWITCH, COALESCE),
// comparison (EQUALS, IN, EXISTS, LT, LTE, GT, GTE), boolean (NOT, AND, OR),
// math (SUM, SUB, MUL, DIV, MOD, MIN, MAX, LOG10, BUCKET) and cast (INT,
// FLOAT, BOOL) functions, as calculated fields compute them: a null operand
// makes arithmetic and comparisons null, DIV and MOD by 0 are null, MIN and
// MAX skip nulls, a condition that is null is false. A boolean result is 1
// or 0.
var formulaFuncs = map[string]bool{
	"IF": true, "SWITCH": true, "COALESCE": true, "EQUALS": true, "IN": true, "EXISTS": true,
	"LT": true, "LTE": true, "GT": true, "GTE": true, "NOT": true, "AND": true, "OR": true,
	"SUM": true, "SUB": true, "MUL": true, "DIV": true, "MOD": true, "MIN": true, "MAX": true,
	"LOG10": true, "BUCKET": true, "INT": true, "FLOAT": true, "BOOL": true,
}

// Formula is a validated formula: its name and expression, whose columns
// are calculation labels.
type Formula struct {
	Name string
	Expr store.Expr
}

// checkFormulaExpr checks that e uses only formula functions, number and
// boolean literals, and the named calculations (by name, to their
// heatmap-ness).
func checkFormulaExpr(e store.Expr, calcs map[string]bool, formulas map[string]bool) error {
	switch {
	case e.Column != "":
		heat, ok := calcs[e.Column]
		switch {
		case ok && heat:
			return fmt.Errorf("$%s is a HEATMAP, which a formula cannot use", e.Column)
		case ok:
			return nil
		case formulas[e.Column]:
			return fmt.Errorf("$%s is a formula; a formula can use only the named calculations of the query", e.Column)
		}
		return fmt.Errorf("$%s is not a named calculation of the query", e.Column)
	case e.Func == "":
		if e.Lit != nil && e.Lit.Kind == model.KindString {
			return fmt.Errorf("a formula computes with numbers; %q is a string", e.Lit.Str)
		}
		return nil
	}
	if !formulaFuncs[e.Func] {
		return fmt.Errorf("%s cannot be used in a formula, which computes with numbers", e.Func)
	}
	for _, a := range e.Args {
		if err := checkFormulaExpr(a, calcs, formulas); err != nil {
			return err
		}
	}
	return nil
}

// fval is a value while a formula is evaluated: null, a number or a
// boolean.
type fval struct {
	null, isBool, b bool
	n               float64
}

var fnull = fval{null: true}

func fnum(x float64) fval {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fnull
	}
	return fval{n: x}
}

func fbool(b bool) fval { return fval{isBool: true, b: b} }

// num is v as a number (a boolean is 1 or 0).
func (v fval) num() (float64, bool) {
	switch {
	case v.null:
		return 0, false
	case v.isBool && v.b:
		return 1, true
	case v.isBool:
		return 0, true
	}
	return v.n, true
}

// truth is v as a condition: null is false, a number is true when it is
// not 0.
func (v fval) truth() (bool, bool) {
	switch {
	case v.null:
		return false, false
	case v.isBool:
		return v.b, true
	}
	return v.n != 0, true
}

// evalFormula evaluates e with vals, the calculations' values by label
// (absent or nil: null). The result is a float64 or nil.
func evalFormula(e store.Expr, vals map[string]any) any {
	v := eval(e, vals)
	if n, ok := v.num(); ok && !math.IsNaN(n) && !math.IsInf(n, 0) {
		return n
	}
	return nil
}

func eval(e store.Expr, vals map[string]any) fval {
	switch {
	case e.Column != "":
		if f, ok := vals[e.Column].(float64); ok {
			return fnum(f)
		}
		return fnull
	case e.Func == "":
		if e.Lit == nil {
			return fnull
		}
		switch e.Lit.Kind {
		case model.KindInt:
			return fnum(float64(e.Lit.Int))
		case model.KindFloat:
			return fnum(e.Lit.Flt)
		case model.KindBool:
			return fbool(e.Lit.AsBool())
		}
		return fnull
	}
	args := func() []fval {
		out := make([]fval, len(e.Args))
		for i, a := range e.Args {
			out[i] = eval(a, vals)
		}
		return out
	}
	// nums evaluates every argument as a number; ok is false when one is null.
	nums := func() ([]float64, bool) {
		out := make([]float64, len(e.Args))
		for i, a := range e.Args {
			n, ok := eval(a, vals).num()
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	}
	switch e.Func {
	case "IF":
		for i := 0; i+1 < len(e.Args); i += 2 {
			if t, _ := eval(e.Args[i], vals).truth(); t {
				return eval(e.Args[i+1], vals)
			}
		}
		if len(e.Args)%2 == 1 {
			return eval(e.Args[len(e.Args)-1], vals)
		}
		return fnull
	case "SWITCH":
		k, kok := eval(e.Args[0], vals).num()
		for i := 1; i+1 < len(e.Args); i += 2 {
			if c, ok := eval(e.Args[i], vals).num(); kok && ok && c == k {
				return eval(e.Args[i+1], vals)
			}
		}
		if len(e.Args)%2 == 0 {
			return eval(e.Args[len(e.Args)-1], vals)
		}
		return fnull
	case "COALESCE":
		for _, a := range e.Args {
			if v := eval(a, vals); !v.null {
				return v
			}
		}
		return fnull
	case "EXISTS":
		return fbool(!eval(e.Args[0], vals).null)
	case "NOT":
		t, ok := eval(e.Args[0], vals).truth()
		if !ok {
			return fnull
		}
		return fbool(!t)
	case "AND", "OR":
		// Three-valued, as SQL: AND is false when one is false, OR true
		// when one is true, else null when one is null.
		null := false
		for _, a := range args() {
			t, ok := a.truth()
			switch {
			case !ok:
				null = true
			case t && e.Func == "OR":
				return fbool(true)
			case !t && e.Func == "AND":
				return fbool(false)
			}
		}
		if null {
			return fnull
		}
		return fbool(e.Func == "AND")
	case "MIN", "MAX":
		var out fval = fnull
		for _, a := range args() {
			n, ok := a.num()
			if !ok {
				continue
			}
			if out.null || (e.Func == "MIN" && n < out.n) || (e.Func == "MAX" && n > out.n) {
				out = fnum(n)
			}
		}
		return out
	}
	ns, ok := nums()
	if !ok {
		return fnull
	}
	switch e.Func {
	case "EQUALS":
		return fbool(ns[0] == ns[1])
	case "IN":
		for _, x := range ns[1:] {
			if x == ns[0] {
				return fbool(true)
			}
		}
		return fbool(false)
	case "LT":
		return fbool(ns[0] < ns[1])
	case "LTE":
		return fbool(ns[0] <= ns[1])
	case "GT":
		return fbool(ns[0] > ns[1])
	case "GTE":
		return fbool(ns[0] >= ns[1])
	case "SUM", "MUL":
		acc := ns[0]
		for _, x := range ns[1:] {
			if e.Func == "SUM" {
				acc += x
			} else {
				acc *= x
			}
		}
		return fnum(acc)
	case "SUB":
		return fnum(ns[0] - ns[1])
	case "DIV", "MOD":
		if ns[1] == 0 {
			return fnull
		}
		if e.Func == "DIV" {
			return fnum(ns[0] / ns[1])
		}
		return fnum(math.Mod(ns[0], ns[1]))
	case "LOG10":
		if ns[0] <= 0 {
			return fnull
		}
		return fnum(math.Log10(ns[0]))
	case "BUCKET":
		if ns[1] == 0 {
			return fnull
		}
		return fnum(math.Floor(ns[0]/ns[1]) * ns[1])
	case "INT":
		return fnum(math.Floor(ns[0]))
	case "FLOAT":
		return fnum(ns[0])
	case "BOOL":
		return fbool(ns[0] != 0)
	}
	return fnull
}

// postOrder is one order applied after formulas are computed: by a result
// key (a breakdown, a calculation label or a formula name).
type postOrder struct {
	key       string
	breakdown bool
	desc      bool
}

// postHaving keeps groups whose formula compares with value by op.
type postHaving struct {
	formula string
	op      store.Op
	value   float64
}

// post is the ordering, havings and limit a plan applies to the store's
// result when they use formulas.
type post struct {
	orders  []postOrder
	havings []postHaving
	limit   int
}

// apply filters, orders and limits rows whose data holds every key.
func (pp *post) apply(rows []ResultRow, limit int) []ResultRow {
	kept := rows[:0]
	for _, r := range rows {
		pass := true
		for _, h := range pp.havings {
			v, ok := r.Data[h.formula].(float64)
			pass = pass && ok && store.CompareHaving(v, h.op, h.value)
		}
		if pass {
			kept = append(kept, r)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		for _, o := range pp.orders {
			a, b := kept[i].Data[o.key], kept[j].Data[o.key]
			if (a == nil) != (b == nil) {
				return b == nil // nulls last either way
			}
			if a == nil {
				continue
			}
			var c int
			if o.breakdown {
				c = store.CompareGroupValues(a, b)
			} else {
				fa, _ := a.(float64)
				fb, _ := b.(float64)
				switch {
				case fa < fb:
					c = -1
				case fa > fb:
					c = 1
				}
			}
			if o.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	if len(kept) > limit {
		kept = kept[:limit]
	}
	return kept
}

// groupOf is the key of a row's breakdown values.
func groupOf(breakdowns []string, data map[string]any) string {
	var sb strings.Builder
	for _, b := range breakdowns {
		fmt.Fprintf(&sb, "%T:%v\x00", data[b], data[b])
	}
	return sb.String()
}
