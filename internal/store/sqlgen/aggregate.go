package sqlgen

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

// AggSource describes the table an aggregate query reads, in the
// dialect's SQL. Expressions must quote their identifiers.
type AggSource struct {
	Table      string // FROM target
	Time       string // event time as int64 nanoseconds since the epoch
	SampleRate string // sample rate (NULL or < 1 counts as 1)
	Duration   string // span duration in ms, NULL for events that are not spans
	// Scope is an extra predicate (e.g. the datasets), "" for none.
	Scope     string
	ScopeArgs []any
	Resolve   Resolver
	// TableArgs are the parameters Table references (a derived table).
	TableArgs []any
	// Trace, when set, lets queries name relational fields (root.,
	// parent., any., none.; relational.go).
	Trace *TraceColumns
}

// QueryFunc runs one SQL statement and returns its rows as driver values.
type QueryFunc func(ctx context.Context, query string, args []any) ([][]any, error)

// Stmt is one SQL statement with its parameters.
type Stmt struct {
	Name string // what the statement computes: rows, series, heatmap-bounds, …
	SQL  string
	Args []any
}

// expr is SQL text with the parameters it references, in order.
type expr struct {
	sql  string
	args []any
}

func (e expr) wrap(pre, post string) expr { return expr{pre + e.sql + post, e.args} }

// sqlBuilder concatenates SQL text and parameters in the same order.
type sqlBuilder struct {
	sb   strings.Builder
	args []any
}

func (b *sqlBuilder) s(parts ...string) *sqlBuilder {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
	return b
}

func (b *sqlBuilder) e(x expr) *sqlBuilder {
	b.sb.WriteString(x.sql)
	b.args = append(b.args, x.args...)
	return b
}

func (b *sqlBuilder) p(v any) *sqlBuilder {
	b.sb.WriteString("?")
	b.args = append(b.args, v)
	return b
}

func (b *sqlBuilder) stmt(name string) Stmt {
	return Stmt{Name: name, SQL: b.sb.String(), Args: b.args}
}

// aggFuncs are the aggregate spellings that differ between engines.
type aggFuncs struct {
	percentile    func(x string, p float64) string
	countDistinct func(x string) string
	intDiv        func(a, b string) string
	floorInt      func(x string) string
	isFinite      func(x string) string
	tryDouble     func(x string) string
	tryFloorInt   func(x string) string // NULL when out of range
	// The derived-column functions over regular expressions (re is a
	// parameter holding an RE2 expression): whether x matches, the first
	// capture group (group 1, or the whole match when re has no group) of
	// its first match, and the number of matches.
	regMatch func(x, re string) string
	regValue func(x, re string, group int) string
	regCount func(x, re string) string
	// unixSeconds is an RFC 3339 text x (checked already) as float Unix
	// seconds, NULL when it does not convert.
	unixSeconds func(x string) string
	// utcTime is float Unix seconds x as a UTC timestamp, NULL when out of
	// range; timePart is one strftime conversion (a letter) of such a
	// timestamp as text.
	utcTime  func(x string) string
	timePart func(t string, conv byte) string
}

func (d Dialect) agg() aggFuncs {
	if d.Name == "clickhouse" {
		f := d.clickhouseAgg()
		if d.missing["DateTime64"] {
			f.unixSeconds, f.utcTime, f.timePart = legacyUnixSeconds, legacyUTCTime, legacyTimePart
		}
		if d.missing["countMatches"] {
			// extractAll takes no Nullable: x goes through a lambda so
			// that it appears once.
			f.regCount = func(x, re string) string {
				return "arrayMap(v_ -> if(isNull(v_), NULL, length(extractAll(assumeNotNull(v_), " + re + "))), [" + x + "])[1]"
			}
		}
		return f
	}
	return d.duckAgg()
}

// Time functions for ClickHouse without DateTime64 (before 20.1): a
// DateTime has whole seconds from 1970 to 2106, so the fraction of a
// parsed time is added from its text, and a time is formatted from its
// parts (formatDateTime lacks conversions there; legacyTimePart serves
// every version, DateTime64 too). Each takes its operand once, binding it
// to a lambda's parameter where it needs it twice.

func legacyUnixSeconds(x string) string {
	return "arrayMap(v_ -> toFloat64(toUnixTimestamp(parseDateTimeBestEffortOrNull(upper(v_)))) + " +
		"toFloat64OrZero(concat('0', extract(v_, '[.][0-9]+'))), [" + x + "])[1]"
}

func legacyUTCTime(x string) string {
	return "arrayMap(v_ -> if(v_ >= 0 AND v_ < 4294967296, toDateTime(toUInt32(floor(v_)), 'UTC'), NULL), [" + x + "])[1]"
}

func legacyTimePart(t string, conv byte) string {
	zero2 := func(n string) string { return "substring(toString(100 + " + n + "), 2)" }
	space2 := func(n string) string {
		return "if(" + n + " < 10, concat(' ', toString(" + n + ")), toString(" + n + "))"
	}
	const hour12 = "((toHour(t_) + 11) % 12 + 1)"
	var e string
	switch conv {
	case 'a':
		e = "['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][toDayOfWeek(t_)]"
	case 'A':
		e = "['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][toDayOfWeek(t_)]"
	case 'b':
		e = "['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][toMonth(t_)]"
	case 'B':
		e = "['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][toMonth(t_)]"
	case 'C':
		e = zero2("intDiv(toYear(t_), 100)")
	case 'd':
		e = zero2("toDayOfMonth(t_)")
	case 'e':
		e = space2("toDayOfMonth(t_)")
	case 'g':
		e = zero2("toISOYear(t_) % 100")
	case 'G':
		e = "toString(toISOYear(t_))"
	case 'H':
		e = zero2("toHour(t_)")
	case 'I':
		e = zero2(hour12)
	case 'j':
		e = "substring(toString(1000 + toDayOfYear(t_)), 2)"
	case 'k':
		e = space2("toHour(t_)")
	case 'l':
		e = space2(hour12)
	case 'm':
		e = zero2("toMonth(t_)")
	case 'M':
		e = zero2("toMinute(t_)")
	case 'p':
		e = "if(toHour(t_) < 12, 'AM', 'PM')"
	case 'S':
		e = zero2("toSecond(t_)")
	case 'u':
		e = "toString(toDayOfWeek(t_))"
	case 'U': // weeks starting on Sunday; days before the first are week 0
		e = zero2("intDiv(toDayOfYear(t_) + 6 - toDayOfWeek(t_) % 7, 7)")
	case 'V':
		e = zero2("toISOWeek(t_)")
	case 'w':
		e = "toString(toDayOfWeek(t_) % 7)"
	case 'W': // weeks starting on Monday
		e = zero2("intDiv(toDayOfYear(t_) + 6 - (toDayOfWeek(t_) + 6) % 7, 7)")
	case 'y':
		e = zero2("toYear(t_) % 100")
	default: // 'Y'
		e = "toString(toYear(t_))"
	}
	return "arrayMap(t_ -> " + e + ", [" + t + "])[1]"
}

func (d Dialect) clickhouseAgg() aggFuncs {
	return aggFuncs{
		// The nearest rank, ceil(p·n) (rounded to 9 places so that p·n
		// just above an integer is that integer), of the sorted non-null
		// values; NULL without any. x appears once. Not quantileExactLow
		// (20.8+): for levels other than 0.5 it takes the element at
		// 0-based index floor(p·n), one rank higher when p·n is whole.
		percentile: func(x string, p float64) string {
			return "arrayMap(a_ -> if(length(a_) = 0, NULL, a_[toUInt64(greatest(1, ceil(round(" + ftoa(p) +
				" * length(a_), 9))))]), [arraySort(groupArray(" + x + "))])[1]"
		},
		countDistinct: func(x string) string { return "ifNull(uniqExact(" + x + "), 0)" },
		intDiv:        func(a, b string) string { return "intDiv(" + a + ", " + b + ")" },
		floorInt:      func(x string) string { return "toInt64(floor(" + x + "))" },
		isFinite:      func(x string) string { return "isFinite(" + x + ")" },
		tryDouble:     func(x string) string { return "toFloat64OrNull(" + x + ")" },
		tryFloorInt:   func(x string) string { return "toInt64OrNull(toString(floor(" + x + ")))" },
		regMatch:      func(x, re string) string { return "match(" + x + ", " + re + ")" },
		regValue:      func(x, re string, _ int) string { return "extract(" + x + ", " + re + ")" },
		regCount:      func(x, re string) string { return "countMatches(" + x + ", " + re + ")" },
		unixSeconds: func(x string) string {
			// upper: current servers do not take a lowercase t or z.
			return "(toUnixTimestamp64Micro(parseDateTime64BestEffortOrNull(upper(" + x + "), 6, 'UTC')) / 1e6)"
		},
		utcTime: func(x string) string {
			return "fromUnixTimestamp64Micro(toInt64OrNull(toString(round(" + x + " * 1e6))), 'UTC')"
		},
		// From the time's parts, as without DateTime64: formatDateTime's
		// conversions differ between versions (%M is the minute before
		// 23.4 and the month's name since; 26.x has no %U and does not pad
		// %e).
		timePart: legacyTimePart,
	}
}

func (d Dialect) duckAgg() aggFuncs {
	return aggFuncs{
		percentile:    func(x string, p float64) string { return "quantile_disc(" + x + ", " + ftoa(p) + ")" },
		countDistinct: func(x string) string { return "count(DISTINCT " + x + ")" },
		intDiv:        func(a, b string) string { return "(" + a + " // " + b + ")" },
		floorInt:      func(x string) string { return "CAST(floor(" + x + ") AS BIGINT)" },
		isFinite:      func(x string) string { return "isfinite(" + x + ")" },
		tryDouble:     func(x string) string { return "TRY_CAST(" + x + " AS DOUBLE)" },
		tryFloorInt:   func(x string) string { return "TRY_CAST(floor(" + x + ") AS BIGINT)" },
		regMatch:      func(x, re string) string { return "regexp_matches(" + x + ", " + re + ")" },
		regValue: func(x, re string, group int) string {
			return "regexp_extract(" + x + ", " + re + ", " + strconv.Itoa(group) + ")"
		},
		regCount:    func(x, re string) string { return "len(regexp_extract_all(" + x + ", " + re + "))" },
		unixSeconds: func(x string) string { return "epoch(TRY_CAST(upper(" + x + ") AS TIMESTAMPTZ))" },
		utcTime: func(x string) string {
			return "TRY(make_timestamp(TRY_CAST(round(" + x + " * 1e6) AS BIGINT)))"
		},
		timePart: duckTimePart,
	}
}

// duckTimePart spells one strftime conversion in DuckDB, whose strftime
// lacks a few of POSIX's.
func duckTimePart(t string, conv byte) string {
	pad := func(x, with string) string { return "lpad(CAST(" + x + " AS VARCHAR), 2, '" + with + "')" }
	switch conv {
	case 'e':
		return pad("strftime("+t+", '%-d')", " ")
	case 'k':
		return pad("strftime("+t+", '%-H')", " ")
	case 'l':
		return pad("strftime("+t+", '%-I')", " ")
	case 'C':
		return pad("(year("+t+") // 100)", "0")
	case 'G':
		return "CAST(isoyear(" + t + ") AS VARCHAR)"
	case 'g':
		return pad("(isoyear("+t+") % 100)", "0")
	case 'V':
		return pad("week("+t+")", "0")
	case 'u':
		return "CAST(isodow(" + t + ") AS VARCHAR)"
	}
	return "strftime(" + t + ", '%" + string(conv) + "')"
}

// timeFormatShorthands are the strftime conversions that stand for
// others, as the C locale defines them.
var timeFormatShorthands = map[byte]string{
	'c': "%a %b %e %H:%M:%S %Y", 'D': "%m/%d/%y", 'F': "%Y-%m-%d", 'h': "%b",
	'r': "%I:%M:%S %p", 'R': "%H:%M", 'T': "%H:%M:%S", 'x': "%m/%d/%y", 'X': "%H:%M:%S",
}

// timeFormatText is what the conversions that do not depend on the time
// give for UTC.
var timeFormatText = map[byte]string{'n': "\n", 't': "\t", '%': "%", 'z': "+0000", 'Z': "UTC"}

// timePiece is literal text or, when conv is not 0, one conversion.
type timePiece struct {
	text string
	conv byte
}

// timeFormatParts splits a strftime format into literal text and
// conversions. It fails on a conversion FORMAT_TIME does not support.
func timeFormatParts(f string) ([]timePiece, error) {
	var parts []timePiece
	var text strings.Builder
	var walk func(f string) error
	walk = func(f string) error {
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				text.WriteByte(f[i])
				continue
			}
			i++
			if i == len(f) {
				return fmt.Errorf("the format ends in a lone %%")
			}
			c := f[i]
			if sh, ok := timeFormatShorthands[c]; ok {
				if err := walk(sh); err != nil {
					return err
				}
				continue
			}
			if t, ok := timeFormatText[c]; ok {
				text.WriteString(t)
				continue
			}
			if !strings.ContainsRune("aAbBCdegGHIjklmMpSuUVwWyY", rune(c)) {
				return fmt.Errorf("unsupported conversion %%%c", c)
			}
			if text.Len() > 0 {
				parts = append(parts, timePiece{text: text.String()})
				text.Reset()
			}
			parts = append(parts, timePiece{conv: c})
		}
		return nil
	}
	if err := walk(f); err != nil {
		return nil, err
	}
	if text.Len() > 0 || len(parts) == 0 {
		parts = append(parts, timePiece{text: text.String()})
	}
	return parts, nil
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// calcKey identifies a calculation for deduplication.
type calcKey struct {
	op     store.CalcOp
	col    string
	p      float64
	filter int
}

func keyOf(c store.Calc) calcKey { return calcKey{c.Op, c.Column, c.Percentile, c.Filter} }

// inSQL reports whether the main statement computes c.
func inSQL(op store.CalcOp) bool {
	switch op {
	case store.CalcConcurrency, store.CalcHeatmap, store.CalcRateAvg, store.CalcRateSum, store.CalcRateMax:
		return false
	}
	return true
}

// MaxSeriesBuckets caps the time buckets of a series.
const MaxSeriesBuckets = 10000

// AggPlan is an aggregate query compiled for one dialect and source.
type AggPlan struct {
	d      Dialect
	f      aggFuncs
	q      store.AggregateQuery
	src    AggSource
	groups []expr
	where  expr
	weight string
	// conds are the conditions of the query's CalcFilters, by index.
	conds []expr

	sqlCalcs []store.Calc
	sqlIdx   map[calcKey]int
	heatCols []string // distinct HEATMAP columns
	conc     bool
	rates    bool
	goSide   bool          // order, havings and limit applied in Go
	gran     time.Duration // series bucket width (internal when only rates need it)
	orders   []store.AggOrder
}

// from is the FROM target of every statement, with its parameters.
func (p *AggPlan) from() expr { return expr{p.src.Table, p.src.TableArgs} }

// PlanAggregate compiles q. It validates nothing the query layer has
// validated already, but never produces SQL from unquoted user input.
func (d Dialect) PlanAggregate(q store.AggregateQuery, src AggSource) (*AggPlan, error) {
	if len(q.Calcs) == 0 {
		q.Calcs = []store.Calc{{Op: store.CalcCount}}
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	if q.HeatmapBuckets <= 0 {
		q.HeatmapBuckets = store.DefaultHeatmapBuckets
	}
	if !q.End.After(q.Start) {
		return nil, fmt.Errorf("empty time range [%s, %s)", q.Start, q.End)
	}
	p := &AggPlan{d: d, f: d.agg(), q: q, src: src, sqlIdx: map[calcKey]int{}}
	if len(q.CalculatedFields) > 0 {
		// Each calculated field resolves to its compiled expression; it
		// sees the fields defined before it.
		resolve := src.Resolve
		for _, cf := range q.CalculatedFields {
			col, err := p.compileDerived(cf.Expr, resolve, 0)
			if err != nil {
				return nil, fmt.Errorf("calculated field %q: %w", cf.Name, err)
			}
			prev, name := resolve, cf.Name
			c := Column{Expr: col.sql, Args: col.args, Kind: col.kind}
			resolve = func(field string) []Column {
				if field == name {
					return []Column{c}
				}
				return prev(field)
			}
		}
		p.src.Resolve = resolve
		src = p.src
	}
	if err := p.relate(); err != nil {
		return nil, err
	}
	q, src = p.q, p.src
	p.weight = "1"
	if !q.UsageMode {
		sr := src.SampleRate
		p.weight = "(CASE WHEN " + sr + " IS NULL OR " + sr + " < 1 THEN 1 ELSE " + sr + " END)"
	}
	for _, b := range q.Breakdowns {
		p.groups = append(p.groups, p.valueExpr(b))
	}
	var wb sqlBuilder
	wb.s(src.Time, " >= ").p(q.Start.UnixNano()).s(" AND ", src.Time, " < ").p(q.End.UnixNano())
	if src.Scope != "" {
		wb.e(expr{" AND " + src.Scope, src.ScopeArgs})
	}
	if len(q.Filters) > 0 {
		w, args, err := d.Where(q.Filters, q.Combination, src.Resolve)
		if err != nil {
			return nil, err
		}
		wb.e(expr{" AND " + w, args})
	}
	p.where = expr{wb.sb.String(), wb.args}
	for i, fs := range q.CalcFilters {
		w, args, err := d.Where(fs.Filters, fs.Combination, src.Resolve)
		if err != nil {
			return nil, fmt.Errorf("calculation filter %d: %w", i+1, err)
		}
		p.conds = append(p.conds, expr{"(" + w + ")", args})
	}

	addSQL := func(c store.Calc) error {
		if c.Filter < 0 || c.Filter > len(p.conds) {
			return fmt.Errorf("calculation %s: no calculation filter %d", c.Op, c.Filter)
		}
		if c.Filter > 0 && (c.Op == store.CalcHeatmap || c.Op == store.CalcConcurrency) {
			return fmt.Errorf("%s takes no calculation filter", c.Op)
		}
		if !inSQL(c.Op) {
			return nil
		}
		if _, err := p.calcExpr(c); err != nil {
			return err
		}
		if _, ok := p.sqlIdx[keyOf(c)]; !ok {
			p.sqlIdx[keyOf(c)] = len(p.sqlCalcs)
			p.sqlCalcs = append(p.sqlCalcs, c)
		}
		return nil
	}
	for _, c := range q.Calcs {
		if err := addSQL(c); err != nil {
			return nil, err
		}
		switch c.Op {
		case store.CalcHeatmap:
			if !containsStr(p.heatCols, c.Column) {
				p.heatCols = append(p.heatCols, c.Column)
			}
		case store.CalcConcurrency:
			p.conc = true
		case store.CalcRateAvg, store.CalcRateSum, store.CalcRateMax:
			p.rates = true
			b, _ := store.RateBase(c)
			if err := addSQL(b); err != nil {
				return nil, err
			}
		}
	}
	p.orders = q.Orders
	if len(p.orders) == 0 {
		for _, c := range q.Calcs {
			if c.Op != store.CalcHeatmap {
				c := c
				p.orders = []store.AggOrder{{Calc: &c, Desc: true}}
				break
			}
		}
	}
	for _, o := range p.orders {
		if o.Calc == nil {
			if indexStr(q.Breakdowns, o.Breakdown) < 0 {
				return nil, fmt.Errorf("order by %q, which is not a breakdown", o.Breakdown)
			}
			continue
		}
		if !inSQL(o.Calc.Op) {
			if o.Calc.Op == store.CalcHeatmap {
				return nil, fmt.Errorf("cannot order by HEATMAP")
			}
			if p.calcPos(*o.Calc) < 0 {
				return nil, fmt.Errorf("order by %s, which is not a calculation of the query", o.Calc.Op)
			}
			p.goSide = true
			continue
		}
		if err := addSQL(*o.Calc); err != nil {
			return nil, err
		}
	}
	for _, h := range q.Havings {
		if !inSQL(h.Calc.Op) {
			if h.Calc.Op == store.CalcHeatmap {
				return nil, fmt.Errorf("having cannot use HEATMAP")
			}
			if p.calcPos(h.Calc) < 0 {
				return nil, fmt.Errorf("having on %s, which is not a calculation of the query", h.Calc.Op)
			}
			p.goSide = true
			continue
		}
		if err := addSQL(h.Calc); err != nil {
			return nil, err
		}
	}
	p.gran = q.Granularity
	if p.gran <= 0 && p.rates {
		p.gran = max(q.End.Sub(q.Start)/100, time.Nanosecond)
	}
	if p.gran > 0 && q.End.Sub(q.Start)/p.gran > MaxSeriesBuckets {
		return nil, fmt.Errorf("granularity %v gives more than %d time buckets", p.gran, MaxSeriesBuckets)
	}
	return p, nil
}

func containsStr(l []string, s string) bool { return indexStr(l, s) >= 0 }

func indexStr(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

// calcPos is the index of c in the query's calculations, or -1.
func (p *AggPlan) calcPos(c store.Calc) int {
	for i, x := range p.q.Calcs {
		if keyOf(x) == keyOf(c) {
			return i
		}
	}
	return -1
}

// numeric is a field's numeric value as a double: its integer and float
// expressions coalesced; NULL when it has none.
func (p *AggPlan) numeric(field string) expr {
	var parts []string
	var args []any
	for _, c := range p.src.Resolve(field) {
		if c.Kind == model.KindInt || c.Kind == model.KindFloat {
			x := c.Expr
			if c.Kind == model.KindInt {
				x = p.d.ToDouble(x)
			}
			parts = append(parts, x)
			args = append(args, c.Args...)
		}
	}
	switch len(parts) {
	case 0:
		return expr{sql: p.d.ToDouble("NULL")}
	case 1:
		return expr{parts[0], args}
	}
	return expr{"COALESCE(" + strings.Join(parts, ", ") + ")", args}
}

// finite is numeric(field) with NaN and infinities as NULL, for the
// heatmap's bucket arithmetic.
func (p *AggPlan) finite(field string) expr {
	n := p.numeric(field)
	return expr{"(CASE WHEN " + p.f.isFinite(n.sql) + " THEN " + n.sql + " END)", append(append([]any(nil), n.args...), n.args...)}
}

// valueExpr is a field as one value for grouping and COUNT_DISTINCT: the
// typed expression itself when there is one, else the text of the first
// non-null one.
func (p *AggPlan) valueExpr(field string) expr {
	cols := p.src.Resolve(field)
	switch len(cols) {
	case 0:
		return expr{sql: "NULL"}
	case 1:
		return expr{cols[0].Expr, cols[0].Args}
	}
	var parts []string
	var args []any
	for _, c := range cols {
		x := c.Expr
		if c.Kind != model.KindString {
			x = p.d.ToString(x)
		}
		parts = append(parts, x)
		args = append(args, c.Args...)
	}
	return expr{"COALESCE(" + strings.Join(parts, ", ") + ")", args}
}

// gate is x for the events that pass c's calculation filter and NULL for
// the others; x itself when c has no filter. Aggregates skip the NULLs, so
// a filtered calculation is the same aggregate over fewer events, written
// as CASE inside the aggregate, which every dialect has.
func (p *AggPlan) gate(c store.Calc, x expr) expr {
	if c.Filter == 0 {
		return x
	}
	cond := p.conds[c.Filter-1]
	var b sqlBuilder
	b.s("(CASE WHEN ").e(cond).s(" THEN ").e(x).s(" END)")
	return expr{b.sb.String(), b.args}
}

// calcExpr is the SQL aggregate of a calculation computed in SQL.
func (p *AggPlan) calcExpr(c store.Calc) (expr, error) {
	w := p.weight
	switch c.Op {
	case store.CalcCount:
		if c.Filter > 0 {
			// The weight of every event that passes, 0 for the others, so
			// that a group with none counts 0.
			if p.q.UsageMode {
				w = "1"
			}
			var b sqlBuilder
			b.s("sum(CASE WHEN ").e(p.conds[c.Filter-1]).s(" THEN ", w, " ELSE 0 END)")
			return expr{p.d.ToDouble(b.sb.String()), b.args}, nil
		}
		if p.q.UsageMode {
			return expr{sql: p.d.ToDouble("count(*)")}, nil
		}
		return expr{sql: p.d.ToDouble("sum(" + w + ")")}, nil
	case store.CalcSum:
		n := p.gate(c, p.numeric(c.Column))
		if p.q.UsageMode {
			return n.wrap("sum(", ")"), nil
		}
		return n.wrap("sum(", " * "+w+")"), nil
	case store.CalcAvg:
		n := p.gate(c, p.numeric(c.Column))
		if p.q.UsageMode {
			return n.wrap("avg(", ")"), nil
		}
		var b sqlBuilder
		b.s("(sum(").e(n).s(" * ", w, ") / sum(CASE WHEN ").e(n).s(" IS NOT NULL THEN ", w, " END))")
		return expr{b.sb.String(), b.args}, nil
	case store.CalcMin:
		return p.gate(c, p.numeric(c.Column)).wrap("min(", ")"), nil
	case store.CalcMax:
		return p.gate(c, p.numeric(c.Column)).wrap("max(", ")"), nil
	case store.CalcCountDistinct:
		v := p.gate(c, p.valueExpr(c.Column))
		return expr{p.d.ToDouble(p.f.countDistinct(v.sql)), v.args}, nil
	case store.CalcPercentile:
		if !(c.Percentile > 0 && c.Percentile < 1) {
			return expr{}, fmt.Errorf("percentile %v out of (0, 1)", c.Percentile)
		}
		n := p.gate(c, p.numeric(c.Column))
		return expr{p.f.percentile(n.sql, c.Percentile), n.args}, nil
	}
	return expr{}, fmt.Errorf("calculation %q is not computed in SQL", c.Op)
}

func (p *AggPlan) selectGroups(b *sqlBuilder) {
	for i, g := range p.groups {
		b.e(g).s(" AS g", strconv.Itoa(i), ", ")
	}
}

func (p *AggPlan) groupBy(b *sqlBuilder, extra ...string) {
	names := append([]string(nil), extra...)
	for i := range p.groups {
		names = append(names, "g"+strconv.Itoa(i))
	}
	if len(names) > 0 {
		b.s(" GROUP BY ", strings.Join(names, ", "))
	}
}

// origin is the start of the first time bucket: Start rounded down to a
// multiple of the granularity since the Unix epoch, so buckets fall on
// round times (whole minutes for a one-minute granularity). The first
// bucket may therefore begin before Start; it holds only events from Start.
func (p *AggPlan) origin() time.Time {
	ns := p.q.Start.UnixNano()
	g := int64(p.gran)
	o := ns / g * g
	if o > ns {
		o -= g
	}
	return time.Unix(0, o).UTC()
}

// timeBucket is the 0-based series bucket index of the event time t.
func (p *AggPlan) timeBucket(t string) expr {
	return expr{p.f.intDiv("("+t+" - ?)", "?"), []any{p.origin().UnixNano(), int64(p.gran)}}
}

// RowsStmt is the statement of the result rows (groups with the SQL
// calculations c0, c1, …, and the event count n_).
func (p *AggPlan) RowsStmt() Stmt {
	var in sqlBuilder
	in.s("SELECT ")
	p.selectGroups(&in)
	for i, c := range p.sqlCalcs {
		x, _ := p.calcExpr(c)
		in.e(x).s(" AS c", strconv.Itoa(i), ", ")
	}
	in.s("count(*) AS n_ FROM ").e(p.from()).s(" WHERE ").e(p.where)
	p.groupBy(&in)

	var b sqlBuilder
	b.s("SELECT * FROM (").e(expr{in.sb.String(), in.args}).s(") AS q WHERE n_ > 0")
	if !p.goSide {
		for _, h := range p.q.Havings {
			b.s(" AND c", strconv.Itoa(p.sqlIdx[keyOf(h.Calc)]), " ", string(h.Op), " ").p(h.Value)
		}
		var terms []string
		used := map[int]bool{}
		for _, o := range p.orders {
			dir := " ASC"
			if o.Desc {
				dir = " DESC"
			}
			if o.Calc != nil {
				terms = append(terms, "c"+strconv.Itoa(p.sqlIdx[keyOf(*o.Calc)])+dir+" NULLS LAST")
				continue
			}
			i := indexStr(p.q.Breakdowns, o.Breakdown)
			used[i] = true
			terms = append(terms, "g"+strconv.Itoa(i)+dir+" NULLS LAST")
		}
		for i := range p.groups {
			if !used[i] {
				terms = append(terms, "g"+strconv.Itoa(i)+" ASC NULLS LAST")
			}
		}
		if len(terms) > 0 {
			b.s(" ORDER BY ", strings.Join(terms, ", "))
		}
		b.s(" LIMIT ", strconv.Itoa(p.q.Limit))
	}
	return b.stmt("rows")
}

// SeriesStmt is the statement of the time series: bucket index tb, groups,
// and the SQL calculations.
func (p *AggPlan) SeriesStmt() Stmt {
	var b sqlBuilder
	b.s("SELECT ").e(p.timeBucket(p.src.Time)).s(" AS tb, ")
	p.selectGroups(&b)
	for i, c := range p.sqlCalcs {
		x, _ := p.calcExpr(c)
		b.e(x).s(" AS c", strconv.Itoa(i), ", ")
	}
	b.s("count(*) AS n_ FROM ").e(p.from()).s(" WHERE ").e(p.where)
	p.groupBy(&b, "tb")
	return b.stmt("series")
}

// HeatmapBoundsStmt selects min and max of every HEATMAP column.
func (p *AggPlan) HeatmapBoundsStmt() Stmt {
	var b sqlBuilder
	b.s("SELECT ")
	for i, col := range p.heatCols {
		if i > 0 {
			b.s(", ")
		}
		n := p.finite(col)
		b.s("min(").e(n).s("), max(").e(n).s(")")
	}
	b.s(" FROM ").e(p.from()).s(" WHERE ").e(p.where)
	return b.stmt("heatmap-bounds")
}

// HeatmapStmt counts the values of one HEATMAP column per group (and per
// time bucket when series is set) and bucket hb, given the bounds.
func (p *AggPlan) HeatmapStmt(col string, lo, width float64, series bool) Stmt {
	n := p.finite(col)
	var b sqlBuilder
	b.s("SELECT ")
	var extra []string
	if series {
		b.e(p.timeBucket(p.src.Time)).s(" AS tb, ")
		extra = append(extra, "tb")
	}
	p.selectGroups(&b)
	b.s("least(").s(p.f.floorInt("(" + n.sql + " - ?) / ?")).s(", ")
	b.args = append(b.args, n.args...)
	b.args = append(b.args, lo, width)
	b.p(int64(p.q.HeatmapBuckets - 1)).s(") AS hb, ")
	b.s(p.d.ToDouble("sum("+p.weight+")"), " AS n FROM ").e(p.from()).s(" WHERE ").e(p.where).s(" AND ").e(n).s(" IS NOT NULL")
	p.groupBy(&b, append(extra, "hb")...)
	return b.stmt("heatmap")
}

// ConcurrencyStmt computes the largest number of spans in progress at once
// per group (and per time bucket when series is set).
func (p *AggPlan) ConcurrencyStmt(series bool) Stmt {
	part := func(t, d string) expr {
		var b sqlBuilder
		b.s("SELECT ")
		p.selectGroups(&b)
		b.s(t, " AS t, ", d, " AS d FROM ").e(p.from()).s(" WHERE ").e(p.where).s(" AND ", p.f.isFinite(p.src.Duration))
		return expr{b.sb.String(), b.args}
	}
	// Durations are capped (at about 11 days) so the end time cannot overflow.
	end := p.src.Time + " + " + p.f.floorInt("least("+p.src.Duration+" * 1000000, 1e15)")
	var u sqlBuilder
	u.e(part(p.src.Time, p.weight)).s(" UNION ALL ").e(part(end, "-"+p.weight))

	var gnames []string
	for i := range p.groups {
		gnames = append(gnames, "g"+strconv.Itoa(i))
	}
	var w sqlBuilder
	w.s("SELECT ")
	for _, g := range gnames {
		w.s(g, ", ")
	}
	if p.d.missing["window"] {
		// Without window functions: each group's (t, d) pairs sorted into
		// one array, unnested with their running sum.
		w.s("t, c FROM (SELECT ")
		for _, g := range gnames {
			w.s(g, ", ")
		}
		w.s("arraySort(groupArray((t, d))) AS s_ FROM (").e(expr{u.sb.String(), u.args}).s(") AS u")
		if len(gnames) > 0 {
			w.s(" GROUP BY ", strings.Join(gnames, ", "))
		}
		w.s(") ARRAY JOIN arrayMap(x_ -> x_.1, s_) AS t, arrayCumSum(arrayMap(x_ -> x_.2, s_)) AS c")
	} else {
		w.s("t, sum(d) OVER (")
		if len(gnames) > 0 {
			w.s("PARTITION BY ", strings.Join(gnames, ", "), " ")
		}
		w.s("ORDER BY t, d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c FROM (").e(expr{u.sb.String(), u.args}).s(") AS u")
	}

	var b sqlBuilder
	b.s("SELECT ")
	var extra []string
	if series {
		b.e(p.timeBucket("t")).s(" AS tb, ")
		extra = append(extra, "tb")
	}
	for _, g := range gnames {
		b.s(g, ", ")
	}
	b.s(p.d.ToDouble("max(c)"), " AS c FROM (").e(expr{w.sb.String(), w.args}).s(") AS w")
	if series {
		b.s(" WHERE t < ").p(p.q.End.UnixNano())
	}
	all := append(extra, gnames...)
	if len(all) > 0 {
		b.s(" GROUP BY ", strings.Join(all, ", "))
	}
	return b.stmt("concurrency")
}

// Statements lists every statement the plan runs, with placeholder heatmap
// bounds; for golden tests and EXPLAIN.
func (p *AggPlan) Statements() []Stmt {
	out := []Stmt{p.RowsStmt()}
	series := p.gran > 0
	if series {
		out = append(out, p.SeriesStmt())
	}
	if len(p.heatCols) > 0 {
		out = append(out, p.HeatmapBoundsStmt())
		for _, c := range p.heatCols {
			out = append(out, p.HeatmapStmt(c, 0, 1, false))
			if series {
				out = append(out, p.HeatmapStmt(c, 0, 1, true))
			}
		}
	}
	if p.conc {
		out = append(out, p.ConcurrencyStmt(false))
		if series {
			out = append(out, p.ConcurrencyStmt(true))
		}
	}
	return out
}

// Aggregate compiles q and runs it with run.
func (d Dialect) Aggregate(ctx context.Context, q store.AggregateQuery, src AggSource, run QueryFunc) (store.AggregateResult, error) {
	p, err := d.PlanAggregate(q, src)
	if err != nil {
		return store.AggregateResult{}, err
	}
	return p.Run(ctx, run)
}

// group is one result group being assembled.
type group struct {
	vals  []any
	sql   []store.CalcValue // by sqlCalcs index
	heat  map[string]map[int]float64
	conc  store.CalcValue
	order int
	row   store.Row
}

// bucketVals are one group's values in one time bucket.
type bucketVals struct {
	sql  []store.CalcValue
	heat map[string]map[int]float64
	conc store.CalcValue
	has  bool
}

// Run executes the plan.
func (p *AggPlan) Run(ctx context.Context, run QueryFunc) (store.AggregateResult, error) {
	ng := len(p.groups)
	rows, err := p.exec(ctx, run, p.RowsStmt())
	if err != nil {
		return store.AggregateResult{}, err
	}
	groups := make(map[string]*group, len(rows))
	var order []*group
	for _, r := range rows {
		g := &group{vals: normGroup(r[:ng]), order: len(order)}
		for i := range p.sqlCalcs {
			g.sql = append(g.sql, calcValue(r[ng+i]))
		}
		groups[groupKey(g.vals)] = g
		order = append(order, g)
	}
	if len(order) == 0 {
		return store.AggregateResult{Rows: []store.Row{}, Series: []store.SeriesPoint{}}, nil
	}
	series := p.gran > 0
	nb := 0
	if series {
		nb = int((p.q.End.Sub(p.origin()) + p.gran - 1) / p.gran)
	}
	buckets := map[string][]bucketVals{} // group key → per bucket
	bucket := func(key string, tb any) *bucketVals {
		i, ok := asInt(tb)
		if !ok || i < 0 || i >= int64(nb) {
			return nil
		}
		bs := buckets[key]
		if bs == nil {
			bs = make([]bucketVals, nb)
			buckets[key] = bs
		}
		return &bs[i]
	}
	if series {
		rs, err := p.exec(ctx, run, p.SeriesStmt())
		if err != nil {
			return store.AggregateResult{}, err
		}
		for _, r := range rs {
			key := groupKey(normGroup(r[1 : 1+ng]))
			if groups[key] == nil {
				continue
			}
			if b := bucket(key, r[0]); b != nil {
				b.has = true
				for i := range p.sqlCalcs {
					b.sql = append(b.sql, calcValue(r[1+ng+i]))
				}
			}
		}
	}
	var lo, width []float64
	if len(p.heatCols) > 0 {
		rs, err := p.exec(ctx, run, p.HeatmapBoundsStmt())
		if err != nil {
			return store.AggregateResult{}, err
		}
		for i := range p.heatCols {
			l, ok1 := asFloat(rs[0][2*i])
			h, ok2 := asFloat(rs[0][2*i+1])
			if !ok1 || !ok2 {
				l, h = 0, 0
			}
			lo = append(lo, l)
			width = append(width, store.HeatmapBounds(l, h, p.q.HeatmapBuckets))
		}
		for ci, col := range p.heatCols {
			for _, ser := range []bool{false, true} {
				if ser && !series {
					continue
				}
				rs, err := p.exec(ctx, run, p.HeatmapStmt(col, lo[ci], width[ci], ser))
				if err != nil {
					return store.AggregateResult{}, err
				}
				off := 0
				if ser {
					off = 1
				}
				for _, r := range rs {
					key := groupKey(normGroup(r[off : off+ng]))
					g := groups[key]
					if g == nil {
						continue
					}
					hb, _ := asInt(r[off+ng])
					n, _ := asFloat(r[off+ng+1])
					var m *map[string]map[int]float64
					if ser {
						b := bucket(key, r[0])
						if b == nil {
							continue
						}
						b.has = true
						m = &b.heat
					} else {
						m = &g.heat
					}
					if *m == nil {
						*m = map[string]map[int]float64{}
					}
					if (*m)[col] == nil {
						(*m)[col] = map[int]float64{}
					}
					(*m)[col][int(hb)] += n
				}
			}
		}
	}
	if p.conc {
		for _, ser := range []bool{false, true} {
			if ser && !series {
				continue
			}
			rs, err := p.exec(ctx, run, p.ConcurrencyStmt(ser))
			if err != nil {
				return store.AggregateResult{}, err
			}
			off := 0
			if ser {
				off = 1
			}
			for _, r := range rs {
				key := groupKey(normGroup(r[off : off+ng]))
				g := groups[key]
				if g == nil {
					continue
				}
				v := calcValue(r[off+ng])
				if ser {
					if b := bucket(key, r[0]); b != nil {
						b.has = true
						b.conc = v
					}
				} else {
					g.conc = v
				}
			}
		}
	}

	hm := func(col string, counts map[int]float64) *store.Heatmap {
		ci := indexStr(p.heatCols, col)
		return store.NewHeatmap(lo[ci], width[ci], p.q.HeatmapBuckets, counts)
	}
	bucketTime := func(i int) time.Time { return p.origin().Add(time.Duration(i) * p.gran) }
	// Rates per group: per bucket and mean.
	rateOf := func(key string, c store.Calc) (map[time.Time]float64, store.CalcValue) {
		base, _ := store.RateBase(c)
		bi := p.sqlIdx[keyOf(base)]
		vals := map[time.Time]float64{}
		for i, b := range buckets[key] {
			if b.has && len(b.sql) > bi && !b.sql[bi].Null {
				vals[bucketTime(i)] = b.sql[bi].Num
			}
		}
		return store.Rates(vals, p.origin(), p.q.End, p.gran)
	}
	rates := map[string]map[int]map[time.Time]float64{} // group → calc index → bucket rates
	for key, g := range groups {
		g.row = store.Row{Group: g.vals, Values: make([]store.CalcValue, len(p.q.Calcs))}
		for i, c := range p.q.Calcs {
			switch {
			case inSQL(c.Op):
				g.row.Values[i] = g.sql[p.sqlIdx[keyOf(c)]]
			case c.Op == store.CalcHeatmap:
				g.row.Values[i] = store.CalcValue{Heatmap: hm(c.Column, g.heat[c.Column])}
			case c.Op == store.CalcConcurrency:
				g.row.Values[i] = g.conc
				if g.conc == (store.CalcValue{}) {
					g.row.Values[i] = store.CalcValue{Num: 0}
				}
			default:
				per, mean := rateOf(key, c)
				g.row.Values[i] = mean
				if rates[key] == nil {
					rates[key] = map[int]map[time.Time]float64{}
				}
				rates[key][i] = per
			}
		}
	}
	if p.goSide {
		kept := order[:0]
		for _, g := range order {
			if p.passHavings(g) {
				kept = append(kept, g)
			}
		}
		order = kept
		sort.SliceStable(order, func(i, j int) bool { return p.less(order[i], order[j]) })
		if len(order) > p.q.Limit {
			order = order[:p.q.Limit]
		}
	}
	res := store.AggregateResult{Rows: make([]store.Row, len(order)), Series: []store.SeriesPoint{}}
	for i, g := range order {
		res.Rows[i] = g.row
	}
	if p.q.Granularity > 0 {
		for bi := 0; bi < nb; bi++ {
			for _, g := range order {
				key := groupKey(g.vals)
				bs := buckets[key]
				if bs == nil || !bs[bi].has {
					continue
				}
				b := bs[bi]
				t := bucketTime(bi)
				pt := store.SeriesPoint{Time: t, Row: store.Row{Group: g.vals, Values: make([]store.CalcValue, len(p.q.Calcs))}}
				for i, c := range p.q.Calcs {
					switch {
					case inSQL(c.Op):
						if len(b.sql) > 0 {
							pt.Values[i] = b.sql[p.sqlIdx[keyOf(c)]]
						} else {
							pt.Values[i] = zeroOf(c)
						}
					case c.Op == store.CalcHeatmap:
						pt.Values[i] = store.CalcValue{Heatmap: hm(c.Column, b.heat[c.Column])}
					case c.Op == store.CalcConcurrency:
						pt.Values[i] = b.conc
						if b.conc == (store.CalcValue{}) {
							pt.Values[i] = store.CalcValue{Num: 0}
						}
					default:
						if r, ok := rates[key][i][t]; ok {
							pt.Values[i] = store.CalcValue{Num: r}
						} else {
							pt.Values[i] = store.CalcValue{Null: true}
						}
					}
				}
				res.Series = append(res.Series, pt)
			}
		}
	}
	return res, nil
}

func zeroOf(c store.Calc) store.CalcValue {
	if c.Op == store.CalcCount {
		return store.CalcValue{}
	}
	return store.CalcValue{Null: true}
}

func (p *AggPlan) exec(ctx context.Context, run QueryFunc, st Stmt) ([][]any, error) {
	rows, err := run(ctx, st.SQL, st.Args)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", st.Name, err)
	}
	return rows, nil
}

// value returns g's value of calculation c (which is in the query or SQL).
func (p *AggPlan) value(g *group, c store.Calc) store.CalcValue {
	if i := p.calcPos(c); i >= 0 {
		return g.row.Values[i]
	}
	if i, ok := p.sqlIdx[keyOf(c)]; ok {
		return g.sql[i]
	}
	return store.CalcValue{Null: true}
}

func (p *AggPlan) passHavings(g *group) bool {
	for _, h := range p.q.Havings {
		v := p.value(g, h.Calc)
		if v.Null || v.Heatmap != nil || !store.CompareHaving(v.Num, h.Op, h.Value) {
			return false
		}
	}
	return true
}

func (p *AggPlan) less(a, b *group) bool {
	used := map[int]bool{}
	for _, o := range p.orders {
		var c int
		if o.Calc != nil {
			va, vb := p.value(a, *o.Calc), p.value(b, *o.Calc)
			switch {
			case va.Null && vb.Null:
				c = 0
			case va.Null:
				return false // nulls last either way
			case vb.Null:
				return true
			case va.Num < vb.Num:
				c = -1
			case va.Num > vb.Num:
				c = 1
			}
		} else {
			i := indexStr(p.q.Breakdowns, o.Breakdown)
			used[i] = true
			va, vb := a.vals[i], b.vals[i]
			if (va == nil) != (vb == nil) {
				return vb == nil
			}
			c = store.CompareGroupValues(va, vb)
		}
		if o.Desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	for i := range a.vals {
		if used[i] {
			continue
		}
		if c := store.CompareGroupValues(a.vals[i], b.vals[i]); c != 0 {
			return c < 0
		}
	}
	return a.order < b.order
}

// normGroup converts driver values of breakdowns to string, int64,
// float64, bool or nil.
func normGroup(vals []any) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil, string, int64, float64, bool:
			out[i] = x
		case []byte:
			out[i] = string(x)
		case int8, int16, int32, int, uint8, uint16, uint32, uint64, uint:
			n, _ := asInt(x)
			out[i] = n
		case float32:
			out[i] = float64(x)
		case *big.Int:
			out[i] = x.Int64()
		default:
			out[i] = fmt.Sprint(x)
		}
	}
	return out
}

func groupKey(vals []any) string {
	var sb strings.Builder
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			sb.WriteString("n;")
		case string:
			sb.WriteString("s")
			sb.WriteString(strconv.Itoa(len(x)))
			sb.WriteString(":")
			sb.WriteString(x)
		case int64:
			sb.WriteString("i" + strconv.FormatInt(x, 10) + ";")
		case float64:
			sb.WriteString("f" + strconv.FormatFloat(x, 'g', -1, 64) + ";")
		case bool:
			sb.WriteString("b" + strconv.FormatBool(x) + ";")
		}
	}
	return sb.String()
}

func calcValue(v any) store.CalcValue {
	f, ok := asFloat(v)
	if !ok || math.IsNaN(f) {
		return store.CalcValue{Null: true}
	}
	return store.CalcValue{Num: f}
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case nil:
		return 0, false
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint:
		return int64(x), true
	case float64:
		return int64(x), true
	case *big.Int:
		return x.Int64(), true
	}
	return 0, false
}

// typed is a compiled derived-column expression.
type typed struct {
	expr
	kind model.Kind
}

func isNum(k model.Kind) bool { return k == model.KindInt || k == model.KindFloat }

func (p *AggPlan) asNum(t typed) typed {
	switch t.kind {
	case model.KindInt, model.KindFloat:
		return t
	case model.KindBool:
		return typed{t.wrap("(CASE WHEN ", " THEN 1 ELSE 0 END)"), model.KindInt}
	}
	return typed{expr{p.f.tryDouble(t.sql), t.args}, model.KindFloat}
}

func (p *AggPlan) asFloat(t typed) typed {
	t = p.asNum(t)
	if t.kind == model.KindInt {
		return typed{expr{p.d.ToDouble(t.sql), t.args}, model.KindFloat}
	}
	return t
}

func (p *AggPlan) asStr(t typed) typed {
	if t.kind == model.KindString {
		return t
	}
	return typed{expr{p.d.ToString(t.sql), t.args}, model.KindString}
}

func (p *AggPlan) asBool(t typed) typed {
	switch t.kind {
	case model.KindBool:
		return t
	case model.KindString:
		return typed{t.wrap("(lower(", ") = 'true')"), model.KindBool}
	}
	return typed{t.wrap("(", " <> 0)"), model.KindBool}
}

// unify converts values to one kind: their common kind, floats for mixed
// numbers, else strings.
func (p *AggPlan) unify(ts []typed) []typed {
	kind := ts[0].kind
	same, nums := true, true
	for _, t := range ts {
		same = same && t.kind == kind
		nums = nums && isNum(t.kind)
	}
	out := make([]typed, len(ts))
	for i, t := range ts {
		switch {
		case same:
			out[i] = t
		case nums:
			out[i] = p.asFloat(t)
		default:
			out[i] = p.asStr(t)
		}
	}
	return out
}

func join(ts []typed, pre, sep, post string, kind model.Kind) typed {
	var b sqlBuilder
	b.s(pre)
	for i, t := range ts {
		if i > 0 {
			b.s(sep)
		}
		b.e(t.expr)
	}
	b.s(post)
	return typed{expr{b.sb.String(), b.args}, kind}
}

// compileDerived compiles a derived-column expression to SQL.
func (p *AggPlan) compileDerived(e store.Expr, resolve Resolver, depth int) (typed, error) {
	if depth > 100 {
		return typed{}, fmt.Errorf("expression nested too deeply")
	}
	switch {
	case e.Column != "":
		cols := resolve(e.Column)
		switch len(cols) {
		case 0:
			return typed{expr{sql: "NULL"}, model.KindString}, nil
		case 1:
			return typed{expr{cols[0].Expr, cols[0].Args}, cols[0].Kind}, nil
		}
		var ts []typed
		for _, c := range cols {
			ts = append(ts, typed{expr{c.Expr, c.Args}, c.Kind})
		}
		u := p.unify(ts)
		return join(u, "COALESCE(", ", ", ")", u[0].kind), nil
	case e.Func == "":
		if e.Lit == nil {
			return typed{expr{sql: "NULL"}, model.KindString}, nil
		}
		v := *e.Lit
		switch v.Kind {
		case model.KindInt:
			return typed{expr{sql: strconv.FormatInt(v.Int, 10)}, model.KindInt}, nil
		case model.KindFloat:
			if math.IsNaN(v.Flt) || math.IsInf(v.Flt, 0) {
				return typed{expr{sql: "NULL"}, model.KindFloat}, nil
			}
			return typed{expr{sql: p.d.ToDouble(strconv.FormatFloat(v.Flt, 'g', -1, 64))}, model.KindFloat}, nil
		case model.KindBool:
			if v.AsBool() {
				return typed{expr{sql: "TRUE"}, model.KindBool}, nil
			}
			return typed{expr{sql: "FALSE"}, model.KindBool}, nil
		}
		return typed{expr{p.d.ToString("?"), []any{v.Str}}, model.KindString}, nil
	}
	args := make([]typed, len(e.Args))
	for i, a := range e.Args {
		t, err := p.compileDerived(a, resolve, depth+1)
		if err != nil {
			return typed{}, err
		}
		args[i] = t
	}
	need := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("%s needs %d arguments", e.Func, n)
		}
		return nil
	}
	mapAll := func(f func(typed) typed) []typed {
		out := make([]typed, len(args))
		for i, a := range args {
			out[i] = f(a)
		}
		return out
	}
	var err error
	switch e.Func {
	case "IF":
		// IF(cond, value[, cond2, value2]…[, default])
		if err = need(2); err != nil {
			break
		}
		var conds, vals []typed
		for i := 0; i+1 < len(args); i += 2 {
			conds = append(conds, args[i])
			vals = append(vals, args[i+1])
		}
		if len(args)%2 == 1 {
			vals = append(vals, args[len(args)-1])
		} else {
			vals = append(vals, typed{expr{sql: "NULL"}, vals[0].kind})
		}
		u := p.unify(vals)
		var b sqlBuilder
		b.s("(CASE")
		for i, c := range conds {
			b.s(" WHEN ").e(p.asBool(c).expr).s(" THEN ").e(u[i].expr)
		}
		b.s(" ELSE ").e(u[len(u)-1].expr).s(" END)")
		return typed{expr{b.sb.String(), b.args}, u[0].kind}, nil
	case "SWITCH":
		// SWITCH(x, case, value[, case2, value2]…[, default]): x compared
		// with each case as EQUALS compares.
		if err = need(3); err != nil {
			break
		}
		keys := []typed{args[0]}
		var vals []typed
		for i := 1; i+1 < len(args); i += 2 {
			keys = append(keys, args[i])
			vals = append(vals, args[i+1])
		}
		if len(args)%2 == 0 {
			vals = append(vals, args[len(args)-1])
		} else {
			vals = append(vals, typed{expr{sql: "NULL"}, vals[0].kind})
		}
		k, u := p.unify(keys), p.unify(vals)
		var b sqlBuilder
		b.s("(CASE")
		for i := 1; i < len(k); i++ {
			b.s(" WHEN ").e(k[0].expr).s(" = ").e(k[i].expr).s(" THEN ").e(u[i-1].expr)
		}
		b.s(" ELSE ").e(u[len(u)-1].expr).s(" END)")
		return typed{expr{b.sb.String(), b.args}, u[0].kind}, nil
	case "COALESCE":
		if err = need(1); err != nil {
			break
		}
		u := p.unify(args)
		return join(u, "COALESCE(", ", ", ")", u[0].kind), nil
	case "EQUALS", "IN":
		if err = need(2); err != nil {
			break
		}
		u := p.unify(args)
		if e.Func == "EQUALS" {
			return join(u, "(", " = ", ")", model.KindBool), nil
		}
		rest := join(u[1:], "(", ", ", "))", model.KindBool)
		var b sqlBuilder
		b.s("(").e(u[0].expr).s(" IN ").e(rest.expr)
		return typed{expr{b.sb.String(), b.args}, model.KindBool}, nil
	case "LT", "LTE", "GT", "GTE":
		if err = need(2); err != nil {
			break
		}
		op := map[string]string{"LT": " < ", "LTE": " <= ", "GT": " > ", "GTE": " >= "}[e.Func]
		pair := args[:2]
		if isNum(pair[0].kind) || isNum(pair[1].kind) {
			pair = []typed{p.asFloat(pair[0]), p.asFloat(pair[1])}
		} else {
			pair = p.unify(pair)
		}
		return join(pair, "(", op, ")", model.KindBool), nil
	case "EXISTS":
		if err = need(1); err != nil {
			break
		}
		return typed{args[0].wrap("(", " IS NOT NULL)"), model.KindBool}, nil
	case "NOT":
		if err = need(1); err != nil {
			break
		}
		return typed{p.asBool(args[0]).wrap("(NOT ", ")"), model.KindBool}, nil
	case "AND", "OR":
		if err = need(1); err != nil {
			break
		}
		return join(mapAll(p.asBool), "(", " "+e.Func+" ", ")", model.KindBool), nil
	case "SUM", "MUL":
		if err = need(1); err != nil {
			break
		}
		op := map[string]string{"SUM": " + ", "MUL": " * "}[e.Func]
		return join(mapAll(p.asFloat), "(", op, ")", model.KindFloat), nil
	case "SUB":
		if err = need(2); err != nil {
			break
		}
		return join(mapAll(p.asFloat)[:2], "(", " - ", ")", model.KindFloat), nil
	case "DIV", "MOD":
		if err = need(2); err != nil {
			break
		}
		op := map[string]string{"DIV": " / ", "MOD": " % "}[e.Func]
		a, b := p.asFloat(args[0]), p.asFloat(args[1])
		var sb sqlBuilder
		sb.s("(").e(a.expr).s(op, "NULLIF(").e(b.expr).s(", 0))")
		return typed{expr{sb.sb.String(), sb.args}, model.KindFloat}, nil
	case "MIN", "MAX":
		if err = need(1); err != nil {
			break
		}
		fn := map[string]string{"MIN": "least(", "MAX": "greatest("}[e.Func]
		return join(mapAll(p.asFloat), fn, ", ", ")", model.KindFloat), nil
	case "LOG10":
		if err = need(1); err != nil {
			break
		}
		a := p.asFloat(args[0])
		return typed{a.wrap("log10(CASE WHEN ", " > 0 THEN "+a.sql+" END)"), model.KindFloat}.withArgs(a.args, 2), nil
	case "BUCKET":
		if err = need(2); err != nil {
			break
		}
		a, b := p.asFloat(args[0]), p.asFloat(args[1])
		var sb sqlBuilder
		sb.s("(floor(").e(a.expr).s(" / NULLIF(").e(b.expr).s(", 0)) * ").e(b.expr).s(")")
		return typed{expr{sb.sb.String(), sb.args}, model.KindFloat}, nil
	case "INT":
		if err = need(1); err != nil {
			break
		}
		a := p.asFloat(args[0])
		return typed{expr{p.f.tryFloorInt("(CASE WHEN " + p.f.isFinite(a.sql) + " THEN " + a.sql + " END)"), append(append([]any(nil), a.args...), a.args...)}, model.KindInt}, nil
	case "FLOAT":
		if err = need(1); err != nil {
			break
		}
		return p.asFloat(args[0]), nil
	case "STRING":
		if err = need(1); err != nil {
			break
		}
		return p.asStr(args[0]), nil
	case "BOOL":
		if err = need(1); err != nil {
			break
		}
		return p.asBool(args[0]), nil
	case "CONCAT":
		if err = need(1); err != nil {
			break
		}
		return join(mapAll(p.asStr), "concat(", ", ", ")", model.KindString), nil
	case "STARTS_WITH", "ENDS_WITH", "CONTAINS":
		if err = need(2); err != nil {
			break
		}
		a, b := p.asStr(args[0]), p.asStr(args[1])
		fn := map[string]func(string, string) string{"STARTS_WITH": p.d.StartsWith, "ENDS_WITH": p.d.EndsWith, "CONTAINS": p.d.Contains}[e.Func]
		return typed{expr{fn(a.sql, b.sql), append(append([]any(nil), a.args...), b.args...)}, model.KindBool}, nil
	case "TO_LOWER", "TO_UPPER":
		if err = need(1); err != nil {
			break
		}
		fn := map[string]string{"TO_LOWER": "lower(", "TO_UPPER": "upper("}[e.Func]
		return typed{p.asStr(args[0]).wrap(fn, ")"), model.KindString}, nil
	case "LENGTH":
		if err = need(1); err != nil {
			break
		}
		return typed{p.asStr(args[0]).wrap("length(", ")"), model.KindInt}, nil
	case "REG_MATCH", "REG_VALUE", "REG_COUNT":
		// A first argument that is not a string matches nothing: REG_MATCH
		// is false, REG_VALUE null, REG_COUNT 0.
		if err = need(2); err != nil {
			break
		}
		pat, ok := stringLit(e.Args[1])
		if !ok {
			return typed{}, fmt.Errorf("%s: the regular expression must be a string literal", e.Func)
		}
		re, cerr := regexp.Compile(pat)
		if cerr != nil {
			return typed{}, fmt.Errorf("%s: %w", e.Func, cerr)
		}
		x := args[0]
		if x.kind != model.KindString {
			switch e.Func {
			case "REG_MATCH":
				return typed{expr{sql: "FALSE"}, model.KindBool}, nil
			case "REG_VALUE":
				return typed{expr{sql: "NULL"}, model.KindString}, nil
			}
			return typed{expr{sql: "0"}, model.KindInt}, nil
		}
		var b sqlBuilder
		switch e.Func {
		case "REG_MATCH":
			// An empty string matches nothing either.
			b.s("COALESCE((", x.sql, ") <> '' AND ", p.f.regMatch(x.sql, "?"), ", FALSE)")
			return typed{expr{b.sb.String(), append(append(append([]any(nil), x.args...), x.args...), pat)}, model.KindBool}, nil
		case "REG_VALUE":
			group := 0
			if re.NumSubexp() > 0 {
				group = 1
			}
			b.s("(CASE WHEN ", p.f.regMatch(x.sql, "?"), " THEN ", p.f.regValue(x.sql, "?", group), " END)")
			a := append(append(append(append([]any(nil), x.args...), pat), x.args...), pat)
			return typed{expr{b.sb.String(), a}, model.KindString}, nil
		}
		b.s("COALESCE(", p.f.regCount(x.sql, "?"), ", 0)")
		return typed{expr{b.sb.String(), append(append([]any(nil), x.args...), pat)}, model.KindInt}, nil
	case "EVENT_TIMESTAMP":
		return typed{expr{sql: "(" + p.d.ToDouble(p.src.Time) + " / 1e9)"}, model.KindFloat}, nil
	case "UNIX_TIMESTAMP":
		// RFC 3339 text only; anything else is null.
		if err = need(1); err != nil {
			break
		}
		x := args[0]
		if x.kind != model.KindString {
			return typed{expr{sql: "NULL"}, model.KindFloat}, nil
		}
		var b sqlBuilder
		b.s("(CASE WHEN ", p.f.regMatch(x.sql, "?"), " THEN ", p.f.unixSeconds(x.sql), " END)")
		return typed{expr{b.sb.String(), append(append(append([]any(nil), x.args...), rfc3339Pattern), x.args...)}, model.KindFloat}, nil
	case "FORMAT_TIME":
		if err = need(2); err != nil {
			break
		}
		f, ok := stringLit(e.Args[0])
		if !ok {
			return typed{}, fmt.Errorf("FORMAT_TIME: the format must be a string literal")
		}
		parts, ferr := timeFormatParts(f)
		if ferr != nil {
			return typed{}, fmt.Errorf("FORMAT_TIME: %w", ferr)
		}
		ts := p.asFloat(args[1])
		t := typed{expr{p.f.utcTime(ts.sql), ts.args}, model.KindFloat}
		var b sqlBuilder
		b.s("(CASE WHEN ").e(t.expr).s(" IS NOT NULL THEN ")
		if len(parts) > 1 {
			b.s("(")
		}
		for i, pc := range parts {
			if i > 0 {
				b.s(" || ")
			}
			if pc.conv == 0 {
				b.s(p.d.ToString("?")).args = append(b.args, pc.text)
				continue
			}
			b.s(p.f.timePart(t.sql, pc.conv)).args = append(b.args, t.args...)
		}
		if len(parts) > 1 {
			b.s(")")
		}
		b.s(" END)")
		return typed{expr{b.sb.String(), b.args}, model.KindString}, nil
	default:
		err = fmt.Errorf("unknown function %s", e.Func)
	}
	return typed{}, err
}

// rfc3339Pattern matches the text UNIX_TIMESTAMP converts.
const rfc3339Pattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`

// stringLit returns the text of a string literal expression.
func stringLit(e store.Expr) (string, bool) {
	if e.Func != "" || e.Column != "" || e.Lit == nil || e.Lit.Kind != model.KindString {
		return "", false
	}
	return e.Lit.Str, true
}

// withArgs repeats args n times (for expressions that use an operand n
// times).
func (t typed) withArgs(args []any, n int) typed {
	t.args = nil
	for range n {
		t.args = append(t.args, args...)
	}
	return t
}
