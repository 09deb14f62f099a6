// Package query owns Honeycomb's query specification: decoding and
// validating a spec (with Honeycomb's 400/422 errors naming the field),
// calculated fields (ParseExpr), turning a spec into the typed plan a store
// runs (store.AggregateQuery), shaping a store's result as Honeycomb's
// query result (Run) and the short terminal query syntax (Parse); the
// terminal command that uses it is internal/queryclient.
//
// Deliberate differences from Honeycomb: start and end times are not
// truncated to whole minutes (results are exact) and there is no retention
// window. Named calculations with filters of their own and formulas over
// them (formula.go) are available to every query, not only to metrics.
package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Spec is Honeycomb's query specification. Every field is optional.
type Spec struct {
	Calculations      []CalcSpec   `json:"calculations,omitempty"`
	Filters           []FilterSpec `json:"filters,omitempty"`
	FilterCombination string       `json:"filter_combination,omitempty"`
	Breakdowns        []string     `json:"breakdowns,omitempty"`
	Orders            []OrderSpec  `json:"orders,omitempty"`
	Havings           []HavingSpec `json:"havings,omitempty"`
	Limit             *int         `json:"limit,omitempty"`
	TimeRange         *int64       `json:"time_range,omitempty"`
	StartTime         *int64       `json:"start_time,omitempty"`
	EndTime           *int64       `json:"end_time,omitempty"`
	Granularity       *int64       `json:"granularity,omitempty"`
	CalculatedFields  []NamedExpr  `json:"calculated_fields,omitempty"`
	Formulas          []NamedExpr  `json:"formulas,omitempty"`
	CompareTimeOffset *int64       `json:"compare_time_offset_seconds,omitempty"`
	UsageMode         bool         `json:"usage_mode,omitempty"`
}

// CalcSpec is one calculation. A calculation with Filters (a Name is then
// required) aggregates only the query's events that also pass them.
type CalcSpec struct {
	Op                string       `json:"op"`
	Column            *string      `json:"column,omitempty"`
	Name              string       `json:"name,omitempty"`
	Filters           []FilterSpec `json:"filters,omitempty"`
	FilterCombination string       `json:"filter_combination,omitempty"`
}

// FilterSpec is one filter. Value is a string, json.Number, bool or, for
// in/not-in, an array of those.
type FilterSpec struct {
	Column string `json:"column"`
	Op     string `json:"op"`
	Value  any    `json:"value,omitempty"`
}

// OrderSpec orders by a calculation (Op set) or, with Column only, by a
// breakdown, a named calculation or a formula.
type OrderSpec struct {
	Op     string `json:"op,omitempty"`
	Column string `json:"column,omitempty"`
	Order  string `json:"order,omitempty"`
}

// HavingSpec filters groups by a calculation's value, or by a named
// calculation's or a formula's when Column is its name.
type HavingSpec struct {
	CalculateOp string   `json:"calculate_op"`
	Column      *string  `json:"column,omitempty"`
	Op          string   `json:"op"`
	Value       *float64 `json:"value"`
}

// NamedExpr is a calculated field or formula.
type NamedExpr struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// Limits of a spec.
const (
	MaxLimit        = 1000
	DefaultLimit    = 1000
	DefaultRange    = 7200 // seconds
	MaxListLen      = 100
	maxRangeSeconds = 10 * 366 * 24 * 3600
)

// Error is a spec error as Honeycomb reports it: Status 400 for a body
// that is not a spec at all, 422 (problem+json with type_detail) for a
// spec with invalid fields.
type Error struct {
	Status int
	Field  string // e.g. "calculations[0].op"
	Code   string // invalid | missing | incorrect_type
	Msg    string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: 422, Field: field, Code: "invalid", Msg: fmt.Sprintf(format, args...)}
}

func missing(field, format string, args ...any) *Error {
	return &Error{Status: 422, Field: field, Code: "missing", Msg: fmt.Sprintf(format, args...)}
}

// DecodeSpec decodes a JSON spec. Malformed JSON is a 400; a value of the
// wrong type a 422 naming the field.
func DecodeSpec(r io.Reader) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Spec{}, &Error{Status: 422, Field: te.Field, Code: "incorrect_type",
				Msg: fmt.Sprintf("must be of type %s, got %s", jsonType(te.Type.String()), te.Value)}
		}
		if errors.Is(err, io.EOF) {
			return Spec{}, &Error{Status: 400, Msg: "request body is empty; expected a query specification"}
		}
		return Spec{}, &Error{Status: 400, Msg: "could not parse the query specification: " + err.Error()}
	}
	if dec.More() {
		return Spec{}, &Error{Status: 400, Msg: "could not parse the query specification: data after the JSON object"}
	}
	return s, nil
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "number"
	case strings.Contains(goType, "string"):
		return "string"
	case strings.Contains(goType, "bool"):
		return "boolean"
	}
	return "object"
}

// percentiles maps Honeycomb's percentile ops to fractions.
var percentiles = map[string]float64{
	"P001": 0.001, "P01": 0.01, "P05": 0.05, "P10": 0.10, "P20": 0.20, "P25": 0.25, "P50": 0.50,
	"P75": 0.75, "P80": 0.80, "P90": 0.90, "P95": 0.95, "P99": 0.99, "P999": 0.999,
}

// calcOp converts an op name; ok is false for unknown ops.
func calcOp(op string) (store.Calc, bool) {
	if p, ok := percentiles[op]; ok {
		return store.Calc{Op: store.CalcPercentile, Percentile: p}, true
	}
	switch store.CalcOp(op) {
	case store.CalcCount, store.CalcConcurrency, store.CalcSum, store.CalcAvg, store.CalcCountDistinct,
		store.CalcMin, store.CalcMax, store.CalcHeatmap, store.CalcRateAvg, store.CalcRateSum, store.CalcRateMax:
		return store.Calc{Op: store.CalcOp(op)}, true
	}
	return store.Calc{}, false
}

// CalcOps lists every calculation op, as Honeycomb names them.
var CalcOps = []string{"COUNT", "CONCURRENCY", "SUM", "AVG", "COUNT_DISTINCT", "MAX", "MIN",
	"P001", "P01", "P05", "P10", "P20", "P25", "P50", "P75", "P80", "P90", "P95", "P99", "P999",
	"HEATMAP", "RATE_AVG", "RATE_SUM", "RATE_MAX"}

// FilterOps lists every filter operator.
var FilterOps = []string{"=", "!=", ">", ">=", "<", "<=", "starts-with", "does-not-start-with", "ends-with",
	"does-not-end-with", "exists", "does-not-exist", "contains", "does-not-contain", "in", "not-in"}

// Label is the result key of a calculation: its name, or Honeycomb's
// "OP" / "OP(column)".
func (c CalcSpec) Label() string {
	if c.Name != "" {
		return c.Name
	}
	if c.Column == nil || *c.Column == "" {
		return c.Op
	}
	return c.Op + "(" + *c.Column + ")"
}

// Plan is a validated spec ready to run.
type Plan struct {
	Query  store.AggregateQuery
	Labels []string // result key of each calculation, in Query.Calcs order
	// Formulas are computed from each result row and series point; when
	// there are any, results carry them instead of the calculations.
	Formulas []Formula
	// post orders, filters and limits the results after the formulas are
	// computed, when orders or havings use formulas; nil otherwise.
	post *post
	// Empty is set when the time range is empty: the result has no rows.
	Empty bool
}

// Validate checks the spec alone (not the time, which depends on when it
// runs) and returns the first problem.
func (s *Spec) Validate() error {
	_, err := s.Plan(time.Unix(1<<32, 0))
	return err
}

// Plan validates the spec and builds the store query for a run at now.
// Datasets are left empty (the whole environment); the caller scopes them.
func (s *Spec) Plan(now time.Time) (Plan, error) {
	var p Plan
	q := &p.Query
	if len(s.Calculations) > MaxListLen {
		return p, invalid("calculations", "at most %d calculations are allowed, got %d", MaxListLen, len(s.Calculations))
	}
	if len(s.Filters) > MaxListLen {
		return p, invalid("filters", "at most %d filters are allowed, got %d", MaxListLen, len(s.Filters))
	}
	if len(s.Breakdowns) > MaxListLen {
		return p, invalid("breakdowns", "at most %d breakdowns are allowed, got %d", MaxListLen, len(s.Breakdowns))
	}
	if len(s.CalculatedFields) > MaxListLen {
		return p, invalid("calculated_fields", "at most %d calculated fields are allowed, got %d", MaxListLen, len(s.CalculatedFields))
	}
	for i, cf := range s.CalculatedFields {
		f := fmt.Sprintf("calculated_fields[%d]", i)
		if strings.TrimSpace(cf.Name) == "" {
			return p, missing(f+".name", "a calculated field needs a name")
		}
		for _, prev := range s.CalculatedFields[:i] {
			if prev.Name == cf.Name {
				return p, invalid(f+".name", "duplicate calculated field %q", cf.Name)
			}
		}
		if strings.TrimSpace(cf.Expression) == "" {
			return p, missing(f+".expression", "a calculated field needs an expression")
		}
		e, err := ParseExpr(cf.Expression)
		if err != nil {
			return p, invalid(f+".expression", "%v", err)
		}
		q.CalculatedFields = append(q.CalculatedFields, store.CalculatedField{Name: cf.Name, Expr: e})
	}
	calcs := s.Calculations
	if len(calcs) == 0 {
		calcs = []CalcSpec{{Op: "COUNT"}}
	}
	seen := map[string]bool{}
	named := map[string]int{} // calculation name → index
	for i, c := range calcs {
		f := fmt.Sprintf("calculations[%d]", i)
		sc, err := checkCalc(f, c.Op, c.Column)
		if err != nil {
			return p, err
		}
		if c.Name != "" && strings.TrimSpace(c.Name) == "" {
			return p, invalid(f+".name", "a calculation's name must not be blank")
		}
		if err := checkCalcFilters(f, c, &sc, q); err != nil {
			return p, err
		}
		label := c.Label()
		if seen[label] {
			if c.Name != "" {
				return p, invalid(f+".name", "duplicate calculation name %q", c.Name)
			}
			return p, invalid(f, "duplicate calculation %s", label)
		}
		seen[label] = true
		if c.Name != "" {
			named[c.Name] = i
		}
		q.Calcs = append(q.Calcs, sc)
		p.Labels = append(p.Labels, label)
	}
	formulas, err := s.checkFormulas(named, q.Calcs, seen)
	if err != nil {
		return p, err
	}
	p.Formulas = formulas
	isFormula := map[string]bool{}
	for _, fo := range formulas {
		isFormula[fo.Name] = true
	}
	var pp post
	for i, f := range s.Filters {
		sf, err := checkFilter(fmt.Sprintf("filters[%d]", i), f)
		if err != nil {
			return p, err
		}
		q.Filters = append(q.Filters, sf)
	}
	switch strings.ToUpper(s.FilterCombination) {
	case "", "AND":
	case "OR":
		q.Combination = store.Or
	default:
		return p, invalid("filter_combination", "must be AND or OR, got %q", s.FilterCombination)
	}
	for i, b := range s.Breakdowns {
		if strings.TrimSpace(b) == "" {
			return p, invalid(fmt.Sprintf("breakdowns[%d]", i), "column name must not be blank")
		}
		for _, x := range s.Breakdowns[:i] {
			if x == b {
				return p, invalid(fmt.Sprintf("breakdowns[%d]", i), "duplicate breakdown %q", b)
			}
		}
	}
	q.Breakdowns = s.Breakdowns
	if err := checkRelational(s, q); err != nil {
		return p, err
	}
	for i, o := range s.Orders {
		f := fmt.Sprintf("orders[%d]", i)
		var desc bool
		switch o.Order {
		case "", "ascending":
		case "descending":
			desc = true
		default:
			return p, invalid(f+".order", "must be ascending or descending, got %q", o.Order)
		}
		if o.Op == "" {
			if o.Column == "" {
				return p, missing(f, "an order needs an op or a column")
			}
			if contains(s.Breakdowns, o.Column) {
				q.Orders = append(q.Orders, store.AggOrder{Breakdown: o.Column, Desc: desc})
				pp.orders = append(pp.orders, postOrder{key: o.Column, breakdown: true, desc: desc})
				continue
			}
			if j, ok := named[o.Column]; ok {
				scc := q.Calcs[j]
				if scc.Op == store.CalcHeatmap {
					return p, invalid(f+".column", "cannot order by HEATMAP")
				}
				q.Orders = append(q.Orders, store.AggOrder{Calc: &scc, Desc: desc})
				pp.orders = append(pp.orders, postOrder{key: o.Column, desc: desc})
				continue
			}
			if isFormula[o.Column] {
				pp.orders = append(pp.orders, postOrder{key: o.Column, desc: desc})
				p.post = &pp
				continue
			}
			return p, invalid(f+".column", "ordering by %q, which is not a breakdown, a named calculation or a formula", o.Column)
		}
		byName := -1
		if j, ok := named[o.Op]; ok {
			byName = j
		}
		if byName >= 0 {
			scc := q.Calcs[byName]
			if scc.Op == store.CalcHeatmap {
				return p, invalid(f+".op", "cannot order by HEATMAP")
			}
			q.Orders = append(q.Orders, store.AggOrder{Calc: &scc, Desc: desc})
			pp.orders = append(pp.orders, postOrder{key: o.Op, desc: desc})
			continue
		}
		var col *string
		if o.Column != "" {
			c := o.Column
			col = &c
		}
		sc, err := checkCalc(f, o.Op, col)
		if err != nil {
			return p, err
		}
		if sc.Op == store.CalcHeatmap {
			return p, invalid(f+".op", "cannot order by HEATMAP")
		}
		found := false
		for _, c := range q.Calcs {
			if c == sc {
				found = true
			}
		}
		if !found {
			return p, invalid(f, "ordering by %s, which is not a calculation of the query", CalcSpec{Op: o.Op, Column: col}.Label())
		}
		scc := sc
		q.Orders = append(q.Orders, store.AggOrder{Calc: &scc, Desc: desc})
		pp.orders = append(pp.orders, postOrder{key: p.Labels[slices.Index(q.Calcs, sc)], desc: desc})
	}
	for i, h := range s.Havings {
		f := fmt.Sprintf("havings[%d]", i)
		if h.CalculateOp == "" {
			return p, missing(f+".calculate_op", "calculate_op is required")
		}
		var sc store.Calc
		var err error
		switch {
		case h.Column != nil && isFormula[*h.Column]:
			if err := checkHavingOp(f, h); err != nil {
				return p, err
			}
			pp.havings = append(pp.havings, postHaving{formula: *h.Column, op: store.Op(h.Op), value: *h.Value})
			p.post = &pp
			continue
		case h.Column != nil && hasKey(named, *h.Column):
			if _, ok := calcOp(h.CalculateOp); !ok {
				return p, invalid(f+".calculate_op", "unknown calculation %q; valid ones are %s", h.CalculateOp, strings.Join(CalcOps, ", "))
			}
			sc = q.Calcs[named[*h.Column]]
		default:
			sc, err = checkCalc(f, h.CalculateOp, h.Column)
		}
		if err != nil {
			return p, err
		}
		if sc.Op == store.CalcHeatmap {
			return p, invalid(f+".calculate_op", "HEATMAP cannot be used in havings")
		}
		if err := checkHavingOp(f, h); err != nil {
			return p, err
		}
		found := false
		for _, c := range q.Calcs {
			found = found || c == sc
		}
		if !found {
			return p, invalid(f, "having on %s, which is not a calculation of the query", CalcSpec{Op: h.CalculateOp, Column: h.Column}.Label())
		}
		q.Havings = append(q.Havings, store.Having{Calc: sc, Op: store.Op(h.Op), Value: *h.Value})
	}
	q.Limit = DefaultLimit
	if s.Limit != nil {
		if *s.Limit < 1 || *s.Limit > MaxLimit {
			return p, invalid("limit", "must be between 1 and %d, got %d", MaxLimit, *s.Limit)
		}
		q.Limit = *s.Limit
	}
	if p.post != nil {
		// Orders and havings by formulas apply to the groups the store
		// returns, at most FormulaScanLimit of them.
		p.post.limit = q.Limit
		q.Limit = FormulaScanLimit
	}
	if s.CompareTimeOffset != nil {
		switch *s.CompareTimeOffset {
		case 1800, 3600, 7200, 28800, 86400, 604800, 2419200, 15724800:
		default:
			return p, invalid("compare_time_offset_seconds", "must be one of 1800, 3600, 7200, 28800, 86400, 604800, 2419200, 15724800; got %d", *s.CompareTimeOffset)
		}
	}
	if err := s.planTime(&p, now); err != nil {
		return p, err
	}
	q.UsageMode = s.UsageMode
	return p, nil
}

// FormulaScanLimit is the number of groups a query whose orders or havings
// use formulas reads from the store before it orders them, filters them
// and applies its limit.
const FormulaScanLimit = 10000

// checkRelational refuses relational fields (root., parent., any.,
// none.) where Honeycomb does not take them: in calculations and their
// filters, with filters combined by OR, and none. in breakdowns.
func checkRelational(s *Spec, q *store.AggregateQuery) error {
	const where = "relational fields (root., parent., any., none.) can be used in filters and breakdowns only"
	for i, c := range q.Calcs {
		if _, _, ok := store.RelationalField(c.Column); ok {
			return invalid(fmt.Sprintf("calculations[%d].column", i), "%s cannot be calculated: %s", c.Column, where)
		}
	}
	for i, cf := range q.CalcFilters {
		for _, f := range cf.Filters {
			if _, _, ok := store.RelationalField(f.Column); ok {
				return invalid(fmt.Sprintf("calculations[%d].filters", i), "%s: %s", f.Column, where)
			}
		}
	}
	for _, f := range q.Filters {
		if _, _, ok := store.RelationalField(f.Column); ok && q.Combination == store.Or {
			return invalid("filter_combination", "a query with relational fields (%s) combines its filters with AND, not OR", f.Column)
		}
	}
	for i, b := range s.Breakdowns {
		if prefix, _, ok := store.RelationalField(b); ok && prefix == store.RelNone {
			return invalid(fmt.Sprintf("breakdowns[%d]", i), "%s cannot be grouped by: none. names spans that are not there", b)
		}
	}
	return nil
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// checkHavingOp checks a having's comparison and value.
func checkHavingOp(f string, h HavingSpec) error {
	switch store.Op(h.Op) {
	case store.OpEq, store.OpNe, store.OpGt, store.OpGe, store.OpLt, store.OpLe:
	default:
		return invalid(f+".op", "must be one of =, !=, >, >=, <, <=; got %q", h.Op)
	}
	if h.Value == nil {
		return missing(f+".value", "a having needs a numeric value")
	}
	return nil
}

// checkCalcFilters validates a calculation's own filters and adds them to
// q, pointing sc at them.
func checkCalcFilters(f string, c CalcSpec, sc *store.Calc, q *store.AggregateQuery) error {
	var fs store.FilterSet
	switch strings.ToUpper(c.FilterCombination) {
	case "", "AND":
	case "OR":
		fs.Combination = store.Or
	default:
		return invalid(f+".filter_combination", "must be AND or OR, got %q", c.FilterCombination)
	}
	if len(c.Filters) == 0 {
		return nil
	}
	if len(c.Filters) > MaxListLen {
		return invalid(f+".filters", "at most %d filters are allowed, got %d", MaxListLen, len(c.Filters))
	}
	if c.Name == "" {
		return missing(f+".name", "a calculation with filters needs a name")
	}
	if sc.Op == store.CalcHeatmap || sc.Op == store.CalcConcurrency {
		return invalid(f+".filters", "%s takes no filters of its own", sc.Op)
	}
	for j, cf := range c.Filters {
		sf, err := checkFilter(fmt.Sprintf("%s.filters[%d]", f, j), cf)
		if err != nil {
			return err
		}
		fs.Filters = append(fs.Filters, sf)
	}
	q.CalcFilters = append(q.CalcFilters, fs)
	sc.Filter = len(q.CalcFilters)
	return nil
}

// checkFormulas validates the formulas: named (a name no calculation or
// breakdown has), each an expression over the named calculations.
func (s *Spec) checkFormulas(named map[string]int, calcs []store.Calc, labels map[string]bool) ([]Formula, error) {
	if len(s.Formulas) > MaxListLen {
		return nil, invalid("formulas", "at most %d formulas are allowed, got %d", MaxListLen, len(s.Formulas))
	}
	refs := map[string]bool{} // named calculation → is a HEATMAP
	for n, i := range named {
		refs[n] = calcs[i].Op == store.CalcHeatmap
	}
	names := map[string]bool{}
	for _, fo := range s.Formulas {
		names[fo.Name] = true
	}
	var out []Formula
	for i, fo := range s.Formulas {
		f := fmt.Sprintf("formulas[%d]", i)
		switch {
		case strings.TrimSpace(fo.Name) == "":
			return nil, missing(f+".name", "a formula needs a name")
		case labels[fo.Name]:
			return nil, invalid(f+".name", "%q is also a calculation's name", fo.Name)
		case contains(s.Breakdowns, fo.Name):
			return nil, invalid(f+".name", "%q is also a breakdown", fo.Name)
		case strings.TrimSpace(fo.Expression) == "":
			return nil, missing(f+".expression", "a formula needs an expression")
		}
		for _, prev := range s.Formulas[:i] {
			if prev.Name == fo.Name {
				return nil, invalid(f+".name", "duplicate formula %q", fo.Name)
			}
		}
		e, err := ParseExpr(fo.Expression)
		if err != nil {
			return nil, invalid(f+".expression", "%v", err)
		}
		if err := checkFormulaExpr(e, refs, names); err != nil {
			return nil, invalid(f+".expression", "%v", err)
		}
		out = append(out, Formula{Name: fo.Name, Expr: e})
	}
	return out, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// checkCalc validates an op and its column.
func checkCalc(field, op string, column *string) (store.Calc, error) {
	if op == "" {
		return store.Calc{}, missing(field+".op", "op is required")
	}
	sc, ok := calcOp(op)
	if !ok {
		return store.Calc{}, invalid(field+".op", "unknown calculation %q; valid ones are %s", op, strings.Join(CalcOps, ", "))
	}
	col := ""
	if column != nil {
		col = *column
	}
	switch sc.Op {
	case store.CalcCount, store.CalcConcurrency:
		if col != "" {
			return store.Calc{}, invalid(field+".column", "%s does not take a column", op)
		}
	default:
		if strings.TrimSpace(col) == "" {
			return store.Calc{}, missing(field+".column", "%s needs a column", op)
		}
	}
	sc.Column = col
	return sc, nil
}

// checkFilter validates a filter and converts its value.
func checkFilter(field string, f FilterSpec) (store.Filter, error) {
	if strings.TrimSpace(f.Column) == "" {
		return store.Filter{}, missing(field+".column", "column is required")
	}
	sf := store.Filter{Column: f.Column, Op: store.Op(f.Op)}
	switch sf.Op {
	case store.OpExists, store.OpNotExists:
		if f.Value != nil {
			return sf, invalid(field+".value", "%s takes no value", f.Op)
		}
		return sf, nil
	case store.OpIn, store.OpNotIn:
		arr, ok := f.Value.([]any)
		if !ok {
			return sf, &Error{Status: 422, Field: field + ".value", Code: "incorrect_type", Msg: f.Op + " needs an array value"}
		}
		if len(arr) == 0 {
			return sf, invalid(field+".value", "%s needs at least one value", f.Op)
		}
		for i, x := range arr {
			v, ok := scalar(x)
			if !ok {
				return sf, &Error{Status: 422, Field: fmt.Sprintf("%s.value[%d]", field, i), Code: "incorrect_type",
					Msg: "must be a string, number or boolean"}
			}
			sf.Values = append(sf.Values, v)
		}
		return sf, nil
	case store.OpEq, store.OpNe, store.OpGt, store.OpGe, store.OpLt, store.OpLe,
		store.OpStartsWith, store.OpNotStartsWith, store.OpEndsWith, store.OpNotEndsWith,
		store.OpContains, store.OpNotContains:
	case "":
		return sf, missing(field+".op", "op is required")
	default:
		return sf, invalid(field+".op", "unknown filter operator %q; valid ones are %s", f.Op, strings.Join(FilterOps, ", "))
	}
	if f.Value == nil {
		return sf, missing(field+".value", "%s needs a value", f.Op)
	}
	v, ok := scalar(f.Value)
	if !ok {
		return sf, &Error{Status: 422, Field: field + ".value", Code: "incorrect_type", Msg: "must be a string, number or boolean"}
	}
	sf.Value = v
	return sf, nil
}

// scalar converts a decoded JSON scalar to a model value.
func scalar(x any) (model.Value, bool) {
	switch v := x.(type) {
	case string:
		return model.Str(v), true
	case bool:
		return model.Bool(v), true
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return model.Int(i), true
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return model.Value{}, false
		}
		return model.Float(f), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return model.Int(int64(v)), true
		}
		return model.Float(v), true
	case int:
		return model.Int(int64(v)), true
	case int64:
		return model.Int(v), true
	}
	return model.Value{}, false
}

// planTime resolves time_range, start_time and end_time and the
// granularity.
func (s *Spec) planTime(p *Plan, now time.Time) error {
	q := &p.Query
	if s.TimeRange != nil && s.StartTime != nil && s.EndTime != nil {
		return invalid("time_range", "time_range, start_time and end_time cannot all be set; give at most two")
	}
	if s.TimeRange != nil && (*s.TimeRange <= 0 || *s.TimeRange > maxRangeSeconds) {
		return invalid("time_range", "must be between 1 and %d seconds, got %d", maxRangeSeconds, *s.TimeRange)
	}
	for _, t := range []struct {
		name string
		v    *int64
	}{{"start_time", s.StartTime}, {"end_time", s.EndTime}} {
		if t.v != nil && (*t.v < 0 || *t.v > 1<<40) {
			return invalid(t.name, "must be a Unix time in seconds, got %d", *t.v)
		}
	}
	rng := int64(DefaultRange)
	if s.TimeRange != nil {
		rng = *s.TimeRange
	}
	now = now.Truncate(time.Second).Add(time.Second) // include events of the current second
	var start, end time.Time
	switch {
	case s.StartTime != nil && s.EndTime != nil:
		start, end = time.Unix(*s.StartTime, 0), time.Unix(*s.EndTime, 0)
		if end.Before(start) {
			return invalid("end_time", "end_time (%d) is before start_time (%d)", *s.EndTime, *s.StartTime)
		}
		if end.Sub(start) > maxRangeSeconds*time.Second {
			return invalid("end_time", "the time range is longer than %d seconds", maxRangeSeconds)
		}
	case s.StartTime != nil:
		start = time.Unix(*s.StartTime, 0)
		if s.TimeRange != nil {
			end = start.Add(time.Duration(rng) * time.Second)
		} else {
			end = now
			if end.Before(start) {
				end = start
			}
		}
	case s.EndTime != nil:
		end = time.Unix(*s.EndTime, 0)
		start = end.Add(-time.Duration(rng) * time.Second)
	default:
		end = now
		start = end.Add(-time.Duration(rng) * time.Second)
	}
	q.Start, q.End = start.UTC(), end.UTC()
	span := int64(end.Sub(start) / time.Second)
	if span <= 0 {
		p.Empty = true
		span = 1
	}
	if s.Granularity != nil && *s.Granularity != 0 {
		g := *s.Granularity
		lo, hi := span/1000, span/10
		if g < 0 || g < lo || g > max(hi, 1) {
			return invalid("granularity", "must be between time_range/1000 (%d) and time_range/10 (%d) seconds for a %d s range, got %d", lo, max(hi, 1), span, g)
		}
		q.Granularity = time.Duration(g) * time.Second
	} else {
		q.Granularity = AutoGranularity(span)
	}
	return nil
}

// AutoGranularity picks a round bucket width giving at most about 100
// buckets over a range of span seconds.
func AutoGranularity(span int64) time.Duration {
	steps := []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}
	for _, st := range steps {
		if span/st <= 100 {
			return time.Duration(st) * time.Second
		}
	}
	d := (span + 99) / 100
	return time.Duration(d) * time.Second
}

// MarshalCanonical is the spec as JSON with fields in a fixed order, used
// to give equal specs equal ids.
func (s *Spec) MarshalCanonical() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSpace(buf.Bytes())
}
