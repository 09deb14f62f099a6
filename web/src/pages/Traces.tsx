import { useEffect, useMemo, useState } from "react";
import { hc, type Dataset, type Session } from "../api";
import { Link, navigate, useLocation } from "../router";
import { ErrorBox, fmtDuration } from "../ui";
import { runQuery, TIME_RANGES, type Filter, type Spec } from "../querySpec";

// The traces list: the slowest root spans of a time range with, per trace,
// its span and error counts, from the Query API.

export interface TraceRow {
  id: string;
  time: number | null; // start of the query bucket the root span starts in, ms
  service: string;
  name: string;
  duration: number; // ms
  spans: number | null;
  errors: number | null;
}

type SortKey = "time" | "service" | "name" | "duration" | "spans" | "errors";
const COLUMNS: [SortKey, string, boolean][] = [
  ["time", "Time (UTC)", false],
  ["service", "Root service", false],
  ["name", "Root name", false],
  ["duration", "Duration", true],
  ["spans", "Spans", true],
  ["errors", "Errors", true],
];

// rootsSpec asks for the limit slowest root spans (spans without a parent)
// in [start, end), grouped by trace, at the finest granularity the range
// allows so that each root's time series bucket says when it started.
export function rootsSpec(start: number, end: number, limit: number): Spec {
  return {
    calculations: [{ op: "MAX", column: "duration_ms" }],
    breakdowns: ["trace.trace_id", "service.name", "name"],
    filters: [
      { column: "trace.trace_id", op: "exists" },
      { column: "trace.parent_id", op: "does-not-exist" },
    ],
    orders: [{ op: "MAX", column: "duration_ms", order: "descending" }],
    limit,
    start_time: start,
    end_time: end,
    granularity: granularityFor(end - start),
  };
}

export const granularityFor = (rangeSec: number) => Math.max(1, Math.floor(rangeSec / 1000));

// countsSpec counts the spans of the traces ids by their distinct span ids
// (COUNT would weigh each span by its sample rate), split by their error
// field; span events and links are events of their own and left out.
export function countsSpec(ids: string[], start: number, end: number): Spec {
  return {
    calculations: [{ op: "COUNT_DISTINCT", column: "trace.span_id" }],
    breakdowns: ["trace.trace_id", "error"],
    filters: [
      { column: "trace.trace_id", op: "in", value: ids },
      { column: "meta.annotation_type", op: "does-not-exist" },
    ],
    limit: 1000,
    start_time: start,
    end_time: end,
  };
}

// Here is a "show traces here" selection from a chart: the traces with an
// event matching the chart's query's filters in [start, end) (for a
// heatmap cell, also its value range).
export interface Here {
  start: number; // epoch seconds
  end: number;
  filters: Filter[];
  combination: "AND" | "OR";
}

// tracesHereURL is the traces list of the traces with an event in here.
export function tracesHereURL(dataset: string, here: Here): string {
  const p = new URLSearchParams({ dataset, start: String(Math.floor(here.start)), end: String(Math.ceil(here.end)) });
  if (here.filters.length > 0) p.set("filters", JSON.stringify(here.filters));
  if (here.combination === "OR") p.set("combination", "OR");
  return "/traces?" + p.toString();
}

function hereFrom(params: URLSearchParams): Here | null {
  const start = Number(params.get("start")),
    end = Number(params.get("end"));
  if (!(start > 0 && end > start)) return null;
  let filters: Filter[] = [];
  try {
    const f = JSON.parse(params.get("filters") || "[]");
    if (Array.isArray(f)) filters = f;
  } catch {
    /* no filters */
  }
  return { start, end, filters, combination: params.get("combination") === "OR" ? "OR" : "AND" };
}

// matchingSpec asks for the limit traces (by their slowest matching event)
// with an event that here's filters match in its range.
export function matchingSpec(here: Here, limit: number): Spec {
  return {
    calculations: [{ op: "MAX", column: "duration_ms" }],
    breakdowns: ["trace.trace_id"],
    filters: here.filters,
    filter_combination: here.combination,
    orders: [{ op: "MAX", column: "duration_ms", order: "descending" }],
    limit,
    start_time: here.start,
    end_time: here.end,
  };
}

// A trace's root may start before the selection and end after it: its
// roots are looked for this much around it.
const HERE_MARGIN = 3600;

const queryURL = (dataset: string, spec: Spec) => "/query?" + new URLSearchParams({ dataset, q: JSON.stringify(spec) }).toString();

const filterText = (f: Filter) => `${f.column} ${f.op}${f.value === undefined ? "" : " " + (Array.isArray(f.value) ? f.value.join(",") : String(f.value))}`;

const str = (v: unknown) => (v === null || v === undefined ? "" : String(v));

export default function TracesPage(_: { session: Session }) {
  const loc = useLocation();
  const dataset = loc.params.get("dataset") || "__all__";
  const range = Number(loc.params.get("range")) || 3600;
  const limit = Math.min(Math.max(Number(loc.params.get("limit")) || 100, 1), 300);
  const sortKey = (COLUMNS.some(([k]) => k === loc.params.get("sort")) ? loc.params.get("sort") : "duration") as SortKey;
  const desc = loc.params.get("dir") !== "asc";
  const hereKey = ["start", "end", "filters", "combination"].map((k) => loc.params.get(k) ?? "").join("|");
  const here = useMemo(() => hereFrom(loc.params), [hereKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [rows, setRows] = useState<TraceRow[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [ranSpec, setRanSpec] = useState<Spec | null>(null);
  const [reload, setReload] = useState(0);
  // The traces ticked for a comparison, in the order ticked; a third tick
  // drops the first.
  const [picked, setPicked] = useState<string[]>([]);
  const pick = (id: string, on: boolean) => setPicked((p) => (on ? [...p.filter((x) => x !== id), id].slice(-2) : p.filter((x) => x !== id)));

  useEffect(() => {
    hc.get<Dataset[]>("/1/datasets").then(setDatasets, () => setDatasets([]));
  }, []);

  useEffect(() => {
    let cancelled = false;
    setRows(null);
    setErr(null);
    (async () => {
      let end = Math.ceil(Date.now() / 1000);
      let start = end - range;
      let spec = rootsSpec(start, end, limit);
      let matched: string[] | null = null;
      if (here) {
        // The traces with a matching event here, then their roots.
        const m = await runQuery(dataset, matchingSpec(here, limit), { disable_series: true });
        matched = [...new Set(m.results.map((r) => str(r.data["trace.trace_id"])).filter((id) => id !== ""))];
        start = here.start - HERE_MARGIN;
        end = here.end + HERE_MARGIN;
        spec = rootsSpec(start, end, limit);
        spec.filters = [...(spec.filters ?? []), { column: "trace.trace_id", op: "in", value: matched }];
      }
      // A trace's spans are in several datasets: the matched traces' roots
      // and counts are looked for in all of them.
      const whole = here ? "__all__" : dataset;
      const roots = matched && matched.length === 0 ? { results: [], series: [] } : await runQuery(whole, spec);
      const byId = new Map<string, TraceRow>();
      for (const r of roots.results) {
        const id = str(r.data["trace.trace_id"]);
        if (!id || byId.has(id)) continue;
        byId.set(id, { id, time: null, service: str(r.data["service.name"]), name: str(r.data["name"]), duration: Number(r.data["MAX(duration_ms)"] ?? 0), spans: null, errors: null });
      }
      for (const s of roots.series) {
        const row = byId.get(str(s.data["trace.trace_id"]));
        const t = Date.parse(s.time);
        if (row && (row.time === null || t < row.time)) row.time = t;
      }
      // A matching trace whose root was not found (not sent, or outside the
      // margin) is listed without one.
      for (const id of matched ?? []) if (!byId.has(id)) byId.set(id, { id, time: null, service: "", name: "(root span not found)", duration: 0, spans: null, errors: null });
      const list = [...byId.values()];
      if (cancelled) return;
      setRanSpec(spec);
      setRows(list);
      if (list.length === 0) return;
      // The traces' spans start at their root's start or later and before
      // it ends: from a minute before the range to a minute past the end
      // of the longest listed trace.
      const longest = Math.max(...list.map((r) => r.duration));
      const counts = await runQuery(whole, countsSpec(list.map((r) => r.id), start - 60, end + Math.ceil(longest / 1000) + 60), { disable_series: true });
      const spans = new Map<string, number>();
      const errors = new Map<string, number>();
      for (const r of counts.results) {
        const id = str(r.data["trace.trace_id"]);
        const n = Number(r.data["COUNT_DISTINCT(trace.span_id)"] ?? 0);
        spans.set(id, (spans.get(id) ?? 0) + n);
        if (r.data["error"] === true || r.data["error"] === "true") errors.set(id, (errors.get(id) ?? 0) + n);
      }
      if (cancelled) return;
      setRows(list.map((r) => ({ ...r, spans: spans.get(r.id) ?? 0, errors: errors.get(r.id) ?? 0 })));
    })().catch((e) => {
      if (!cancelled) setErr(e);
    });
    return () => {
      cancelled = true;
    };
  }, [dataset, range, limit, reload, here]);

  const sorted = useMemo(() => {
    if (!rows) return null;
    const val = (r: TraceRow): number | string => {
      const v = r[sortKey];
      return v === null ? -Infinity : v;
    };
    const out = [...rows];
    out.sort((a, b) => {
      const x = val(a),
        y = val(b);
      const c = typeof x === "string" || typeof y === "string" ? String(x).localeCompare(String(y)) : x - y;
      return (desc ? -c : c) || a.id.localeCompare(b.id);
    });
    return out;
  }, [rows, sortKey, desc]);

  const setParams = (p: Record<string, string>, replace = false) => {
    const next = new URLSearchParams(loc.params);
    for (const [k, v] of Object.entries(p)) next.set(k, v);
    navigate("/traces?" + next.toString(), replace);
  };
  const sortBy = (k: SortKey) => {
    // A new column sorts text A→Z and figures largest first; the same column again reverses.
    const dir = k === sortKey ? (desc ? "asc" : "desc") : k === "service" || k === "name" ? "asc" : "desc";
    setParams({ sort: k, dir }, true);
  };
  const gran = here ? granularityFor(here.end - here.start + 2 * HERE_MARGIN) : granularityFor(range);

  return (
    <div className="traces-page">
      <div className="card">
        <div className="inline">
          <label>
            Dataset
            <select name="dataset" value={dataset} onChange={(e) => setParams({ dataset: e.target.value })}>
              <option value="__all__">All datasets</option>
              {datasets.map((d) => (
                <option key={d.slug} value={d.slug}>{d.name}</option>
              ))}
            </select>
          </label>
          {!here && <label>
            Time
            <select name="time_range" value={String(range)} onChange={(e) => setParams({ range: e.target.value })}>
              {!TIME_RANGES.some(([s]) => s === range) && <option value={range}>Last {range} s</option>}
              {TIME_RANGES.map(([s, l]) => (
                <option key={s} value={s}>{l}</option>
              ))}
            </select>
          </label>}
          <button type="button" onClick={() => setReload((n) => n + 1)}>Refresh</button>
          <button
            type="button"
            data-testid="compare-picked"
            disabled={picked.length !== 2}
            title={picked.length === 2 ? "Compare the two ticked traces: the first ticked is A" : "Tick two traces to compare them"}
            onClick={() => navigate("/compare?" + new URLSearchParams({ a: picked[0], b: picked[1] }).toString())}
          >
            Compare{picked.length > 0 ? ` (${picked.length}/2)` : ""}
          </button>
        </div>
        {here && (
          <div className="notice" data-testid="traces-here">
            Traces with an event {here.filters.length > 0 ? <>matching <code>{here.filters.map(filterText).join(here.combination === "OR" ? " OR " : " AND ")}</code> </> : ""}
            from {new Date(here.start * 1000).toISOString().replace("T", " ").slice(0, 19)} to {new Date(here.end * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC (the slowest {limit}).{" "}
            <Link href={"/traces?" + new URLSearchParams({ dataset }).toString()}>Show all traces</Link>
          </div>
        )}
        <p className="muted">
          {here ? "Each matching trace's root span (looked for an hour around the selection)." : `Up to the ${limit} slowest traces whose root span started in the range.`} Time is that of the root span, to the {gran} s bucket of the query; spans and errors
          count the trace's spans (each once, whatever its sample rate), and those with <code>error</code> true.
        </p>
        <ErrorBox error={err} />
        {!sorted && !err && <p className="muted">Loading…</p>}
        {sorted && sorted.length === 0 && <p className="muted">No traces in this range.</p>}
        {sorted && sorted.length > 0 && (
          <table className="grid traces-list" data-testid="traces-list">
            <thead>
              <tr>
                <th aria-label="Compare"></th>
                {COLUMNS.map(([k, label, num]) => (
                  <th key={k} className={num ? "num" : ""} aria-sort={k === sortKey ? (desc ? "descending" : "ascending") : "none"} data-col={k}>
                    <button type="button" className="sort" onClick={() => sortBy(k)}>
                      {label} {k === sortKey ? (desc ? "▼" : "▲") : ""}
                    </button>
                  </th>
                ))}
                <th>Trace</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((r) => (
                <tr key={r.id} data-testid="trace-row" data-trace-id={r.id} className="clickable" onClick={() => navigate("/trace/" + encodeURIComponent(r.id))}>
                  <td onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      data-testid="compare-pick"
                      aria-label={"Pick " + r.id + " to compare"}
                      checked={picked.includes(r.id)}
                      onChange={(e) => pick(r.id, e.target.checked)}
                    />
                    {picked.includes(r.id) && <span className="muted"> {picked.indexOf(r.id) === 0 ? "A" : "B"}</span>}
                  </td>
                  <td data-col="time" title={r.time === null ? "" : `the root span started in the ${gran} s from this time`}>
                    {r.time === null ? "–" : new Date(r.time).toISOString().replace("T", " ").slice(0, 19)}
                  </td>
                  <td data-col="service">{r.service}</td>
                  <td data-col="name">{r.name}</td>
                  <td data-col="duration" className="num" data-value={r.duration}>{fmtDuration(r.duration)}</td>
                  <td data-col="spans" className="num">{r.spans ?? "…"}</td>
                  <td data-col="errors" className={"num" + (r.errors ? " err-text" : "")}>{r.errors ?? "…"}</td>
                  <td>
                    <Link href={"/trace/" + encodeURIComponent(r.id)} onClick={(e) => e.stopPropagation()}>
                      {r.id}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {ranSpec && (
          <p className="muted">
            <Link href={queryURL(here ? "__all__" : dataset, ranSpec)}>Open the roots as a query</Link>
          </p>
        )}
      </div>
    </div>
  );
}
