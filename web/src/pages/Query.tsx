import { useEffect, useMemo, useState } from "react";
import { hc, type BubbleUpSelection, type Column, type Dataset, type Session } from "../api";
import { BubbleUpPanel } from "../BubbleUp";
import { Link, navigate, useLocation } from "../router";
import { ErrorBox, fmtDuration } from "../ui";
import { HeatmapChartView, TimeChart, type LineSeries } from "../Chart";
import { bucketTimes, fillPoints, isCounting, queryWindow } from "../buckets";
import {
  CALC_OPS, FILTER_OPS, HAVING_OPS, NO_VALUE_OPS, TIME_RANGES, UNARY_OPS,
  clean, filterValueText, groupFilters, groupKey, isHeatmap, label, parseFilterValue,
  runQuery, type Calc, type Filter, type ResultData, type Spec,
} from "../querySpec";
import { clearHistory, loadHistory, recordQuery, summary, type HistoryEntry } from "../queryHistory";
import { tracesHereURL } from "./Traces";

const DEFAULT_SPEC: Spec = { calculations: [{ op: "COUNT" }], time_range: 7200 };

export function queryURL(dataset: string, spec: Spec, path = "/query", omitMissing = false) {
  return path + "?" + new URLSearchParams({ dataset, q: JSON.stringify(spec), ...(omitMissing ? { omit_missing: "1" } : {}) }).toString();
}

export default function QueryPage({ session }: { session: Session }) {
  const loc = useLocation();
  const env = session.env?.slug ?? "";
  const [history, setHistory] = useState<HistoryEntry[]>(() => loadHistory(env));
  // A click on a history entry already in the address runs it again.
  const [rerun, setRerun] = useState(0);
  const dataset = loc.params.get("dataset") || "__all__";
  const qParam = loc.params.get("q");
  const savedId = loc.params.get("query");
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [columns, setColumns] = useState<Column[]>([]);
  const [draft, setDraft] = useState<Spec>(DEFAULT_SPEC);
  const [ran, setRan] = useState<{ spec: Spec; at: number } | null>(null);
  const omitMissing = loc.params.get("omit_missing") === "1";
  const [data, setData] = useState<ResultData | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const [drill, setDrill] = useState<{ title: string; filters: Filter[]; start?: number; end?: number } | null>(null);
  const [bubble, setBubble] = useState<{ query: Spec; selection: BubbleUpSelection } | null>(null);

  useEffect(() => {
    hc.get<Dataset[]>("/1/datasets").then(setDatasets, () => setDatasets([]));
  }, []);
  useEffect(() => {
    hc.get<Column[]>(`/1/columns/${encodeURIComponent(dataset)}`).then(setColumns, () => setColumns([]));
  }, [dataset]);

  // The URL holds the query; a change of URL (re)runs it.
  useEffect(() => {
    let cancelled = false;
    const run = async () => {
      let spec: Spec;
      try {
        if (qParam) spec = JSON.parse(qParam);
        else if (savedId) spec = await hc.get<Spec>(`/1/queries/${encodeURIComponent(dataset)}/${encodeURIComponent(savedId)}`);
        else spec = DEFAULT_SPEC;
      } catch (e) {
        setErr(e);
        return;
      }
      delete (spec as any).id;
      setDraft(spec);
      setDrill(null);
      setBubble(null);
      setErr(null);
      setRunning(true);
      try {
        const at = Date.now();
        const d = await runQuery(dataset, spec);
        if (!cancelled) {
          setData(d);
          setRan({ spec, at });
          // The page's default query, run when the address names none, is
          // not one the user ran.
          if (qParam || savedId) setHistory(recordQuery(env, { dataset, spec, at }));
        }
      } catch (e) {
        if (!cancelled) {
          setErr(e);
          setData(null);
        }
      } finally {
        if (!cancelled) setRunning(false);
      }
    };
    run();
    return () => {
      cancelled = true;
    };
  }, [dataset, qParam, savedId, rerun, env]);

  const submit = (e?: React.FormEvent) => {
    e?.preventDefault();
    navigate(queryURL(dataset, clean(draft), loc.path, omitMissing));
  };

  return (
    <div className="query">
      <div className="query-top">
        <form className="card" onSubmit={submit} data-testid="query-builder">
          <div className="inline">
            <label>
              Dataset
              <select value={dataset} onChange={(e) => navigate(queryURL(e.target.value, clean(draft), loc.path, omitMissing))} name="dataset">
                <option value="__all__">All datasets</option>
                {datasets.map((d) => (
                  <option key={d.slug} value={d.slug}>{d.name}</option>
                ))}
              </select>
            </label>
            <TimePicker spec={draft} onChange={setDraft} />
            <button type="submit" disabled={running}>{running ? "Running…" : "Run query"}</button>
          </div>
          <Builder spec={draft} onChange={setDraft} columns={columns} />
          <datalist id="columns">
            {columns.map((c) => (
              <option key={c.id} value={c.key_name} />
            ))}
          </datalist>
          {/* Filters and breakdowns also take relational fields: a column of
              the trace's root span, the event's parent, any or no span. */}
          <datalist id="columns-rel">
            {columns.map((c) => (
              <option key={c.id} value={c.key_name} />
            ))}
            {RELATIONAL.flatMap((p) => columns.map((c) => <option key={p + c.id} value={p + c.key_name} />))}
          </datalist>
        </form>
        <QueryHistory
          entries={history}
          onRun={(h) => {
            setRerun((n) => n + 1);
            navigate(queryURL(h.dataset, h.spec, loc.path, omitMissing));
          }}
          onClear={() => {
            clearHistory(env);
            setHistory([]);
          }}
        />
      </div>
      <ErrorBox error={err} />
      {data && ran && (
        <Results
          dataset={dataset}
          spec={ran.spec}
          ranAt={ran.at}
          data={data}
          omitMissing={omitMissing}
          onOmitMissing={(on) => {
            const p = new URLSearchParams(loc.params);
            if (on) p.set("omit_missing", "1");
            else p.delete("omit_missing");
            navigate(loc.path + "?" + p.toString(), true);
          }}
          onDrill={(d) => setDrill(d)}
          onBubbleUp={(query, selection) => setBubble({ query, selection })}
        />
      )}
      {bubble && ran && (
        <BubbleUpPanel
          dataset={dataset}
          query={bubble.query}
          selection={bubble.selection}
          onClose={() => setBubble(null)}
          onWhere={(filters) => navigate(queryURL(dataset, clean({ ...ran.spec, filters: [...(ran.spec.filters ?? []), ...filters] }), loc.path, omitMissing))}
          onGroupBy={(col) => {
            const b = ran.spec.breakdowns ?? [];
            if (!b.includes(col)) navigate(queryURL(dataset, clean({ ...ran.spec, breakdowns: [...b, col] }), loc.path, omitMissing));
          }}
        />
      )}
      {drill && ran && <TracesBehind dataset={dataset} spec={ran.spec} drill={drill} onClose={() => setDrill(null)} />}
    </div>
  );
}

// QueryHistory lists the queries run in this browser, newest first; a
// click puts one back in the builder and runs it.
function QueryHistory({ entries, onRun, onClear }: { entries: HistoryEntry[]; onRun: (h: HistoryEntry) => void; onClear: () => void }) {
  return (
    <div className="card query-history" data-testid="query-history">
      <div className="inline" style={{ justifyContent: "space-between" }}>
        <h3>History</h3>
        {entries.length > 0 && (
          <button type="button" className="small" onClick={onClear}>Clear</button>
        )}
      </div>
      {entries.length === 0 ? (
        <p className="muted">The queries you run here are listed, newest first, in this browser.</p>
      ) : (
        <ol>
          {entries.map((h) => (
            <li key={h.at + ":" + h.dataset + ":" + JSON.stringify(h.spec)}>
              <button type="button" data-testid="history-entry" title={"Run again on " + (h.dataset === "__all__" ? "all datasets" : h.dataset)} onClick={() => onRun(h)}>
                <span className="meta">
                  <span className="when">{new Date(h.at).toLocaleString()}</span>
                  <span className="muted">{h.dataset === "__all__" ? "all datasets" : h.dataset}</span>
                </span>
                <span className="what" title={summary(h.spec)}>{summary(h.spec)}</span>
              </button>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function TimePicker({ spec, onChange }: { spec: Spec; onChange: (s: Spec) => void }) {
  const absolute = spec.start_time !== undefined && spec.end_time !== undefined;
  return (
    <label>
      Time
      <select
        name="time_range"
        value={absolute ? "abs" : String(spec.time_range ?? 7200)}
        onChange={(e) => {
          const { start_time: _s, end_time: _e, granularity: _g, ...rest } = spec;
          onChange({ ...rest, time_range: Number(e.target.value) });
        }}
      >
        {absolute && (
          <option value="abs">
            {new Date(spec.start_time! * 1000).toISOString().slice(0, 16)} – {new Date(spec.end_time! * 1000).toISOString().slice(11, 16)} UTC
          </option>
        )}
        {TIME_RANGES.map(([s, l]) => (
          <option key={s} value={s}>{l}</option>
        ))}
      </select>
    </label>
  );
}

// CalcFilters edits a calculation's own filters.
function CalcFilters({
  calc,
  colInput,
  onChange,
}: {
  calc: Calc;
  colInput: (value: string | undefined, onValue: (v: string) => void, name: string) => React.ReactNode;
  onChange: (filters: Filter[], comb: "AND" | "OR" | undefined) => void;
}) {
  const fs = calc.filters ?? [];
  const comb = calc.filter_combination;
  const put = (next: Filter[]) => onChange(next, comb);
  return (
    <span className="calc-filters" data-testid="calc-filters">
      <span className="muted">where</span>
      {fs.map((f, k) => (
        <span className="term" key={k}>
          {colInput(f.column, (v) => put(fs.map((x, j) => (j === k ? { ...x, column: v } : x))), "calculation filter column")}
          <select value={f.op} onChange={(e) => put(fs.map((x, j) => (j === k ? { ...x, op: e.target.value, value: NO_VALUE_OPS.has(e.target.value) ? undefined : x.value } : x)))} aria-label="calculation filter operator">
            {FILTER_OPS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
          {!NO_VALUE_OPS.has(f.op) && (
            <input
              defaultValue={filterValueText(f.value)}
              onBlur={(e) => put(fs.map((x, j) => (j === k ? { ...x, value: parseFilterValue(x.op, e.target.value) } : x)))}
              placeholder="value"
              aria-label="calculation filter value"
            />
          )}
          <button type="button" className="x" aria-label="remove" onClick={() => put(fs.filter((_, j) => j !== k))}>×</button>
        </span>
      ))}
      {fs.length > 1 && (
        <select value={comb ?? "AND"} onChange={(e) => onChange(fs, e.target.value as "AND" | "OR")} aria-label="calculation filter combination">
          <option>AND</option>
          <option>OR</option>
        </select>
      )}
    </span>
  );
}

// RELATIONAL are Honeycomb's relational field prefixes, which filters and
// breakdowns take (every filter of one prefix applies to one span, and they
// join the other filters with AND; none. cannot be grouped by).
const RELATIONAL = ["root.", "parent.", "any.", "none."];

function Builder({ spec, onChange, columns }: { spec: Spec; onChange: (s: Spec) => void; columns: Column[] }) {
  const set = <K extends keyof Spec>(k: K, v: Spec[K]) => onChange({ ...spec, [k]: v });
  const calcs = spec.calculations ?? [];
  const filters = spec.filters ?? [];
  const breakdowns = spec.breakdowns ?? [];
  const orders = spec.orders ?? [];
  const havings = spec.havings ?? [];
  const formulas = spec.formulas ?? [];
  const orderTerms = [...breakdowns.map((b) => ({ key: "col:" + b, label: b, term: { column: b } })), ...calcs.map((c) => ({ key: "calc:" + label(c), label: label(c), term: { op: c.op, ...(c.column ? { column: c.column } : {}) } }))];
  const colInput = (value: string | undefined, onValue: (v: string) => void, name: string, list = "columns") => (
    <input list={list} value={value ?? ""} onChange={(e) => onValue(e.target.value)} placeholder="column" aria-label={name} name={name} autoComplete="off" />
  );
  const numericCols = columns.filter((c) => c.type === "integer" || c.type === "float");
  return (
    <div className="qb">
      <div className="clause">VISUALIZE</div>
      <div className="terms" data-testid="visualize">
        {calcs.map((c, i) => (
          <span className="term" key={i}>
            <select value={c.op} onChange={(e) => set("calculations", calcs.map((x, j) => (j === i ? { ...x, op: e.target.value } : x)))} aria-label="calculation">
              {CALC_OPS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
            {!UNARY_OPS.has(c.op) && colInput(c.column, (v) => set("calculations", calcs.map((x, j) => (j === i ? { ...x, column: v } : x))), "calculation column")}
            <input
              className="calc-name"
              value={c.name ?? ""}
              onChange={(e) => set("calculations", calcs.map((x, j) => (j === i ? { ...x, name: e.target.value || undefined } : x)))}
              placeholder="name"
              aria-label="calculation name"
              title="A name: formulas refer to it as $name; a calculation with filters of its own needs one"
              size={8}
            />
            <button
              type="button"
              className="small"
              aria-label="add a filter of this calculation"
              title="Filters of this calculation only (it needs a name)"
              onClick={() => set("calculations", calcs.map((x, j) => (j === i ? { ...x, filters: [...(x.filters ?? []), { column: "", op: "=" }] } : x)))}
            >
              + where
            </button>
            <button type="button" className="x" aria-label="remove" onClick={() => set("calculations", calcs.filter((_, j) => j !== i))}>×</button>
            {(c.filters ?? []).length > 0 && (
              <CalcFilters
                calc={c}
                colInput={colInput}
                onChange={(fs, comb) => set("calculations", calcs.map((x, j) => (j === i ? { ...x, filters: fs, filter_combination: comb } : x)))}
              />
            )}
          </span>
        ))}
        <button type="button" className="small" onClick={() => set("calculations", [...calcs, { op: "COUNT" }])}>+ add</button>
        {numericCols.length > 0 && calcs.every((c) => c.op !== "HEATMAP") && (
          <button type="button" className="small" onClick={() => set("calculations", [...calcs, { op: "HEATMAP", column: "duration_ms" }])}>+ HEATMAP(duration_ms)</button>
        )}
      </div>
      <div className="clause">FORMULAS</div>
      <div className="terms" data-testid="formulas">
        {formulas.map((f, i) => (
          <span className="term" key={i}>
            <input value={f.name} onChange={(e) => set("formulas", formulas.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} placeholder="name" aria-label="formula name" size={10} />
            =
            <input
              value={f.expression}
              onChange={(e) => set("formulas", formulas.map((x, j) => (j === i ? { ...x, expression: e.target.value } : x)))}
              placeholder="DIV($errors, $total)"
              aria-label="formula expression"
              size={28}
              spellCheck={false}
            />
            <button type="button" className="x" aria-label="remove" onClick={() => set("formulas", formulas.filter((_, j) => j !== i))}>×</button>
          </span>
        ))}
        <button type="button" className="small" onClick={() => set("formulas", [...formulas, { name: "", expression: "" }])}>+ add</button>
        {formulas.length > 0 && <span className="muted">Formulas replace the calculations in the results; they name calculations as $name.</span>}
      </div>
      <div className="clause">WHERE</div>
      <div className="terms" data-testid="where">
        {filters.map((f, i) => (
          <span className="term" key={i}>
            {colInput(f.column, (v) => set("filters", filters.map((x, j) => (j === i ? { ...x, column: v } : x))), "filter column", "columns-rel")}
            <select value={f.op} onChange={(e) => set("filters", filters.map((x, j) => (j === i ? { ...x, op: e.target.value, value: NO_VALUE_OPS.has(e.target.value) ? undefined : x.value } : x)))} aria-label="filter operator">
              {FILTER_OPS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
            {!NO_VALUE_OPS.has(f.op) && (
              <input
                defaultValue={filterValueText(f.value)}
                onBlur={(e) => set("filters", filters.map((x, j) => (j === i ? { ...x, value: parseFilterValue(x.op, e.target.value) } : x)))}
                placeholder="value"
                aria-label="filter value"
              />
            )}
            <button type="button" className="x" aria-label="remove" onClick={() => set("filters", filters.filter((_, j) => j !== i))}>×</button>
          </span>
        ))}
        <button type="button" className="small" onClick={() => set("filters", [...filters, { column: "", op: "=" }])}>+ add</button>
        {filters.length > 1 && (
          <select value={spec.filter_combination ?? "AND"} onChange={(e) => set("filter_combination", e.target.value as "AND" | "OR")} aria-label="filter combination">
            <option>AND</option>
            <option>OR</option>
          </select>
        )}
      </div>
      <div className="clause">GROUP BY</div>
      <div className="terms" data-testid="group-by">
        {breakdowns.map((b, i) => (
          <span className="term" key={i}>
            {colInput(b, (v) => set("breakdowns", breakdowns.map((x, j) => (j === i ? v : x))), "group by column", "columns-rel")}
            <button type="button" className="x" aria-label="remove" onClick={() => set("breakdowns", breakdowns.filter((_, j) => j !== i))}>×</button>
          </span>
        ))}
        <button type="button" className="small" onClick={() => set("breakdowns", [...breakdowns, ""])}>+ add</button>
      </div>
      <div className="clause">ORDER BY</div>
      <div className="terms">
        {orders.map((o, i) => {
          const key = o.op ? "calc:" + label({ op: o.op, column: o.column }) : "col:" + o.column;
          return (
            <span className="term" key={i}>
              <select value={key} onChange={(e) => set("orders", orders.map((x, j) => (j === i ? { ...orderTerms.find((t) => t.key === e.target.value)!.term, order: x.order } : x)))} aria-label="order term">
                {!orderTerms.some((t) => t.key === key) && <option value={key}>{key.slice(key.indexOf(":") + 1)}</option>}
                {orderTerms.map((t) => (
                  <option key={t.key} value={t.key}>{t.label}</option>
                ))}
              </select>
              <select value={o.order ?? "ascending"} onChange={(e) => set("orders", orders.map((x, j) => (j === i ? { ...x, order: e.target.value as "ascending" | "descending" } : x)))} aria-label="order direction">
                <option value="descending">desc</option>
                <option value="ascending">asc</option>
              </select>
              <button type="button" className="x" aria-label="remove" onClick={() => set("orders", orders.filter((_, j) => j !== i))}>×</button>
            </span>
          );
        })}
        {orderTerms.length > 0 && (
          <button type="button" className="small" onClick={() => set("orders", [...orders, { ...orderTerms[orderTerms.length - 1].term, order: "descending" }])}>+ add</button>
        )}
      </div>
      <div className="clause">LIMIT</div>
      <div className="terms">
        <input type="number" min={1} max={1000} value={spec.limit ?? ""} placeholder="100" onChange={(e) => set("limit", e.target.value ? Number(e.target.value) : undefined)} aria-label="limit" style={{ width: 90 }} />
      </div>
      <div className="clause">HAVING</div>
      <div className="terms">
        {havings.map((h, i) => (
          <span className="term" key={i}>
            <select
              value={label({ op: h.calculate_op, column: h.column })}
              onChange={(e) => {
                const c = calcs.find((c) => label(c) === e.target.value)!;
                set("havings", havings.map((x, j) => (j === i ? { ...x, calculate_op: c.op, column: c.column } : x)));
              }}
              aria-label="having calculation"
            >
              {calcs.filter((c) => c.op !== "HEATMAP").map((c) => (
                <option key={label(c)}>{label(c)}</option>
              ))}
            </select>
            <select value={h.op} onChange={(e) => set("havings", havings.map((x, j) => (j === i ? { ...x, op: e.target.value } : x)))} aria-label="having operator">
              {HAVING_OPS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
            <input type="number" value={h.value} onChange={(e) => set("havings", havings.map((x, j) => (j === i ? { ...x, value: Number(e.target.value) } : x)))} style={{ width: 90 }} aria-label="having value" />
            <button type="button" className="x" aria-label="remove" onClick={() => set("havings", havings.filter((_, j) => j !== i))}>×</button>
          </span>
        ))}
        {calcs.some((c) => c.op !== "HEATMAP") && (
          <button
            type="button"
            className="small"
            onClick={() => {
              const c = calcs.find((c) => c.op !== "HEATMAP")!;
              set("havings", [...havings, { calculate_op: c.op, ...(c.column ? { column: c.column } : {}), op: ">", value: 0 }]);
            }}
          >
            + add
          </button>
        )}
      </div>
    </div>
  );
}

function fmtCell(v: unknown, col: string): React.ReactNode {
  if (v === null || v === undefined) return <span className="muted">–</span>;
  if (isHeatmap(v)) return <span className="muted">{v.buckets.reduce((n, b) => n + b.count, 0)} values</span>;
  if (typeof v === "number") {
    if (/duration_ms/.test(col)) return fmtDuration(v);
    return Number.isInteger(v) ? String(v) : v.toFixed(3);
  }
  return String(v);
}

function Results({
  dataset,
  spec,
  ranAt,
  data,
  omitMissing,
  onOmitMissing,
  onDrill,
  onBubbleUp,
}: {
  dataset: string;
  spec: Spec;
  ranAt: number;
  data: ResultData;
  omitMissing: boolean;
  onOmitMissing: (on: boolean) => void;
  onDrill: (d: { title: string; filters: Filter[]; start?: number; end?: number }) => void;
  onBubbleUp: (query: Spec, selection: BubbleUpSelection) => void;
}) {
  const breakdowns = spec.breakdowns ?? [];
  // A query with formulas returns them instead of its calculations.
  const calcs: Calc[] = spec.formulas?.length
    ? spec.formulas.map((f) => ({ op: "FORMULA", name: f.name }))
    : spec.calculations?.length
      ? spec.calculations
      : [{ op: "COUNT" }];
  // Every bucket of the query's window, not only those with events: the
  // API leaves a group's empty buckets out of its series.
  const win = useMemo(() => queryWindow(spec, ranAt), [spec, ranAt]);
  const times = useMemo(() => bucketTimes(win, data.series.map((s) => Date.parse(s.time))), [win, data]);
  const step = win.granularity;
  // BubbleUp compares within the time range the charts show.
  const absolute = useMemo<Spec>(() => {
    const { time_range: _r, ...rest } = spec;
    return { ...rest, start_time: Math.floor(win.start / 1000), end_time: Math.ceil(win.end / 1000) };
  }, [spec, win]);
  const range: [number, number] = [times[0] ?? win.start, Math.max(win.end, (times[times.length - 1] ?? win.end) + step)];
  const hasGaps = calcs.some((c) => c.op !== "HEATMAP" && !isCounting(c.op));
  const charts = calcs.map((c) => {
    const l = label(c);
    if (c.op === "HEATMAP") {
      // Sum every group's buckets per time; bounds are the query's.
      let bounds: { lower: number; upper: number }[] = [];
      const counts = new Map<string, number>();
      const index = new Map(times.map((t, i) => [t, i]));
      for (const s of data.series) {
        const v = s.data[l];
        if (!isHeatmap(v)) continue;
        if (v.buckets.length > bounds.length) bounds = v.buckets.map((b) => ({ lower: b.lower, upper: b.upper }));
        const ti = index.get(Date.parse(s.time))!;
        v.buckets.forEach((b, bi) => counts.set(ti + ":" + bi, (counts.get(ti + ":" + bi) ?? 0) + b.count));
      }
      const cells: [number, number, number][] = [];
      counts.forEach((n, k) => {
        const [ti, bi] = k.split(":").map(Number);
        cells.push([ti, bi, n]);
      });
      cells.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      return (
        <HeatmapChartView
          key={l}
          title={l}
          times={times}
          granularity={step}
          buckets={bounds}
          cells={cells}
          dataset={dataset}
          onCell={(cell) =>
            onDrill({
              title: `${l} ${fmtCell(cell.lower, c.column ?? "")}–${fmtCell(cell.upper, c.column ?? "")} at ${new Date(cell.time).toISOString().slice(11, 19)}`,
              filters: [
                { column: c.column!, op: ">=", value: cell.lower },
                { column: c.column!, op: "<=", value: cell.upper },
              ],
              start: Math.floor(cell.time / 1000),
              end: Math.ceil((cell.time + step) / 1000),
            })
          }
          onSelect={(r) => onBubbleUp(absolute, { start_time: r.from / 1000, end_time: r.to / 1000, column: c.column, min: r.lower, max: r.upper })}
        />
      );
    }
    const groups = new Map<string, LineSeries>();
    const groupData = new Map<string, Record<string, unknown>>();
    for (const s of data.series) {
      const k = groupKey(breakdowns, s.data);
      if (!groups.has(k)) {
        groups.set(k, { name: k, points: [] });
        groupData.set(k, s.data);
      }
      const v = s.data[l];
      groups.get(k)!.points.push([Date.parse(s.time), typeof v === "number" ? v : null]);
    }
    const series = [...groups.values()].map((g) => ({ name: g.name, points: fillPoints(c.op, g.points, times, omitMissing), real: g.points.map((p) => p[0]) }));
    return (
      <TimeChart
        key={l}
        title={l}
        series={series}
        range={range}
        dataset={dataset}
        connectNulls={omitMissing}
        onPoint={(p) =>
          onDrill({
            title: `${p.series} at ${new Date(p.time).toISOString().slice(11, 19)}`,
            filters: groupFilters(breakdowns, groupData.get(p.series) ?? {}),
            start: Math.floor(p.time / 1000),
            end: Math.ceil((p.time + step) / 1000),
          })
        }
        onSelectRange={(from, to) => onBubbleUp(absolute, { start_time: from / 1000, end_time: to / 1000 })}
      />
    );
  });

  const cols = [...breakdowns, ...calcs.map(label)];
  return (
    <div className="card">
      {!breakdowns.includes("trace.trace_id") && data.series.length > 0 && hasGaps && (
        <label className="muted graph-setting" title="A bucket without events is drawn as 0, as Honeycomb does; with this setting, the line of an AVG, a percentile, MIN or MAX goes straight across such buckets instead. Counts stay 0.">
          <input type="checkbox" name="omit_missing" checked={omitMissing} onChange={(e) => onOmitMissing(e.target.checked)} /> Omit missing values
        </label>
      )}
      {breakdowns.includes("trace.trace_id") ? null : data.series.length > 0 ? charts : <p className="muted">No time series in this result.</p>}
      {!breakdowns.includes("trace.trace_id") && data.series.length > 0 && (
        <p className="muted" data-testid="bubbleup-hint">BubbleUp: drag over a heatmap or across a chart (or use a row's bubbleup) to see what is different about those events.</p>
      )}
      <h3 style={{ marginTop: 16 }}>Results ({data.results.length})</h3>
      <table className="grid" data-testid="results">
        <thead>
          <tr>
            {cols.map((c) => (
              <th key={c} className={breakdowns.includes(c) ? "" : "num"}>{c}</th>
            ))}
            <th></th>
          </tr>
        </thead>
        <tbody>
          {data.results.map((r, i) => (
            <tr key={i}>
              {cols.map((c) => (
                <td key={c} className={breakdowns.includes(c) ? "" : "num"}>
                  {c === "trace.trace_id" && r.data[c] ? <Link href={"/trace/" + encodeURIComponent(String(r.data[c]))}>{String(r.data[c])}</Link> : fmtCell(r.data[c], c)}
                </td>
              ))}
              <td>
                {!breakdowns.includes("trace.trace_id") && (
                  <button type="button" className="link" onClick={() => onDrill({ title: groupKey(breakdowns, r.data), filters: groupFilters(breakdowns, r.data) })}>
                    traces
                  </button>
                )}
                {breakdowns.length > 0 && !breakdowns.includes("trace.trace_id") && (
                  <button
                    type="button"
                    className="link"
                    title="BubbleUp: what is different about this group's events"
                    onClick={() => onBubbleUp(absolute, { group: breakdowns.map((b) => ({ column: b, value: r.data[b] ?? null })) })}
                  >
                    bubbleup
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        Query in the URL: share this page's address. <Link href={queryURL(dataset, spec)}>Permalink</Link>
      </p>
    </div>
  );
}

// hereOf is the selection of a traces-behind query for the traces list.
function hereOf(s: Spec) {
  const end = s.end_time ?? Math.ceil(Date.now() / 1000);
  const start = s.start_time ?? end - (s.time_range ?? 7200);
  return { start, end, filters: s.filters ?? [], combination: s.filter_combination === "OR" ? ("OR" as const) : ("AND" as const) };
}

// TracesBehind lists the slowest traces among the events behind a chart
// point, a heatmap cell or a result row.
function TracesBehind({ dataset, spec, drill, onClose }: { dataset: string; spec: Spec; drill: { title: string; filters: Filter[]; start?: number; end?: number }; onClose: () => void }) {
  const [rows, setRows] = useState<Record<string, unknown>[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const tspec = useMemo<Spec>(() => {
    const s: Spec = {
      calculations: [{ op: "MAX", column: "duration_ms" }, { op: "COUNT" }],
      breakdowns: ["trace.trace_id"],
      filters: [...(spec.filters ?? []), ...drill.filters],
      orders: [{ op: "MAX", column: "duration_ms", order: "descending" }],
      limit: 20,
    };
    if (spec.filter_combination === "OR" && spec.filters?.length) {
      // Keep the query's OR semantics only when the drill adds nothing.
      if (drill.filters.length === 0) s.filter_combination = "OR";
    }
    if (drill.start !== undefined && drill.end !== undefined) {
      s.start_time = drill.start;
      s.end_time = Math.max(drill.end, drill.start + 1);
    } else if (spec.start_time !== undefined && spec.end_time !== undefined) {
      s.start_time = spec.start_time;
      s.end_time = spec.end_time;
    } else s.time_range = spec.time_range ?? 7200;
    return s;
  }, [spec, drill]);
  useEffect(() => {
    setRows(null);
    setErr(null);
    runQuery(dataset, tspec, { disable_series: true }).then((d) => setRows(d.results.map((r) => r.data)), setErr);
  }, [dataset, tspec]);
  return (
    <div className="card" data-testid="traces-behind">
      <div className="inline" style={{ justifyContent: "space-between" }}>
        <h3>Traces behind {drill.title}</h3>
        <button type="button" className="small" onClick={onClose}>Close</button>
      </div>
      <ErrorBox error={err} />
      {!rows && !err && <p className="muted">Loading…</p>}
      {rows && rows.length === 0 && <p className="muted">No traces.</p>}
      {rows && rows.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th>Trace</th>
              <th className="num">Slowest span</th>
              <th className="num">Matching spans</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td>
                  <Link href={"/trace/" + encodeURIComponent(String(r["trace.trace_id"]))}>{String(r["trace.trace_id"])}</Link>
                </td>
                <td className="num">{fmtCell(r["MAX(duration_ms)"], "duration_ms")}</td>
                <td className="num">{fmtCell(r["COUNT"], "")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">
        <Link href={queryURL(dataset, tspec)}>Open as a query</Link> ·{" "}
        <Link href={tracesHereURL(dataset, hereOf(tspec))} data-testid="traces-here-link">
          Show these traces in the traces list
        </Link>
      </p>
    </div>
  );
}
