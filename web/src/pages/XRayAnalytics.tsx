// The X-Ray page's Analytics tab: the response-time distribution, the time
// series and breakdown tables of the traces a filter expression matches,
// optionally compared with a second filter's, as the X-Ray console's
// Analytics page shows them. Everything is computed in the browser from
// GetTraceSummaries' pages.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { xray, type Doors } from "../api";
import { DoorsPicker, useDoors } from "../doors";
import { Link, navigate, useLocation } from "../router";
import { PositionError, fmtDuration } from "../ui";
import { TIME_RANGES } from "../querySpec";

interface RootCauseEntity {
  Name?: string;
  Exceptions?: { Name?: string; Message?: string }[];
}
interface RootCause {
  Services?: { Name?: string; Type?: string; EntityPath?: RootCauseEntity[] }[];
}

export interface AnalyticsTrace {
  Id: string;
  StartTime?: number;
  ResponseTime?: number;
  HasError?: boolean;
  HasFault?: boolean;
  Http?: { HttpURL?: string; HttpStatus?: number; HttpMethod?: string };
  Users?: { UserName?: string }[];
  ServiceIds?: { Name?: string; Type?: string }[];
  FaultRootCauses?: RootCause[];
  ErrorRootCauses?: RootCause[];
  ResponseTimeRootCauses?: RootCause[];
}

interface SummariesPage {
  TraceSummaries?: AnalyticsTrace[];
  NextToken?: string;
  TracesProcessedCount?: number;
}

/** At most CAP summaries are read per filter. */
export const CAP = 2000;

interface TraceSet {
  expr: string;
  traces: AnalyticsTrace[];
  scanned: number | null;
  /** more traces matched than the CAP read */
  capped: boolean;
}

async function loadSet(expr: string, start: number, end: number, doors: Doors): Promise<TraceSet> {
  const traces: AnalyticsTrace[] = [];
  const seen = new Set<string>();
  let scanned: number | null = null;
  let token: string | undefined;
  let capped = false;
  // A page holds 100 summaries by default; the bound stops a server that
  // hands out tokens forever.
  for (let i = 0; i < 200; i++) {
    const r = await xray<SummariesPage>(
      "TraceSummaries",
      { StartTime: start, EndTime: end, ...(expr.trim() ? { FilterExpression: expr } : {}), ...(token ? { NextToken: token } : {}) },
      doors,
    );
    for (const t of r.TraceSummaries ?? []) {
      if (seen.has(t.Id)) continue;
      if (traces.length >= CAP) {
        capped = true;
        break;
      }
      seen.add(t.Id);
      traces.push(t);
    }
    if (r.TracesProcessedCount !== undefined) scanned = r.TracesProcessedCount;
    token = r.NextToken;
    if (!token) break;
    if (traces.length >= CAP) {
      capped = true;
      break;
    }
  }
  return { expr, traces, scanned, capped };
}

// --- response-time buckets: a 1-2-5 series (1 µs, 2 µs, 5 µs, 10 µs, …) ---

const MANT = [1, 2, 5];
/** edge(k) is the k-th value of the 1-2-5 series from 1 µs, in seconds. */
export function edge(k: number): number {
  return Number(`${MANT[((k % 3) + 3) % 3]}e${Math.floor(k / 3) - 6}`);
}
// The last bucket ends at edge(MAX_K), 10,000 s; slower traces count in it.
const MAX_K = 3 * 10;
/** bucketOf is the k with edge(k) <= v < edge(k+1), clamped to [0, MAX_K). */
export function bucketOf(v: number): number {
  if (!(v > 0)) return 0;
  let k = Math.max(0, Math.min(MAX_K - 1, 3 * Math.floor(Math.log10(v) + 6) - 1));
  while (k > 0 && edge(k) > v) k--;
  while (k < MAX_K - 1 && edge(k + 1) <= v) k++;
  return k;
}

interface Bin {
  lo: number;
  hi: number;
  label: string;
  a: number;
  b: number;
}

/**
 * rtBins counts a and b per response-time bucket, over the buckets that
 * span the traces of all (so that the buckets stay when a and b narrow).
 */
function rtBins(all: AnalyticsTrace[], a: AnalyticsTrace[], b: AnalyticsTrace[] | null): Bin[] {
  if (all.length === 0) return [];
  let kmin = Infinity;
  let kmax = -Infinity;
  for (const t of all) {
    const k = bucketOf(t.ResponseTime ?? 0);
    kmin = Math.min(kmin, k);
    kmax = Math.max(kmax, k);
  }
  // One empty bucket each side, for context.
  kmin = Math.max(0, kmin - 1);
  kmax = Math.min(MAX_K - 1, kmax + 1);
  const bins: Bin[] = [];
  for (let k = kmin; k <= kmax; k++) bins.push({ lo: edge(k), hi: edge(k + 1), label: fmtDuration(edge(k) * 1000), a: 0, b: 0 });
  for (const t of a) bins[bucketOf(t.ResponseTime ?? 0) - kmin].a++;
  for (const t of b ?? []) bins[bucketOf(t.ResponseTime ?? 0) - kmin].b++;
  return bins;
}

const TIME_BINS = 60;

function timeStep(start: number, end: number): [number, number] {
  const step = Math.max(1, Math.ceil((end - start) / TIME_BINS));
  return [step, Math.max(1, Math.ceil((end - start) / step))];
}

/** timeIndex is the time bucket a trace's start falls in (the ends clamped). */
function timeIndex(start: number, end: number, t: AnalyticsTrace): number {
  const [step, n] = timeStep(start, end);
  return Math.min(n - 1, Math.max(0, Math.floor(((t.StartTime ?? start) - start) / step)));
}

function timeBins(start: number, end: number, a: AnalyticsTrace[], b: AnalyticsTrace[] | null): Bin[] {
  const [step, n] = timeStep(start, end);
  const bins: Bin[] = [];
  for (let i = 0; i < n; i++) {
    const lo = start + i * step;
    bins.push({ lo, hi: lo + step, label: new Date(lo * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), a: 0, b: 0 });
  }
  for (const t of a) bins[timeIndex(start, end, t)].a++;
  for (const t of b ?? []) bins[timeIndex(start, end, t)].b++;
  return bins;
}

// --- breakdown tables ---

function rootCauseValues(rcs: RootCause[] | undefined): string[] {
  const out: string[] = [];
  for (const rc of rcs ?? []) {
    const svc = rc.Services?.[rc.Services.length - 1];
    if (!svc) continue;
    const ent = svc.EntityPath?.[svc.EntityPath.length - 1];
    const exc = ent?.Exceptions?.[0]?.Name;
    out.push((svc.Name ?? "?") + (exc ? ": " + exc : ""));
  }
  return out;
}

/**
 * rootCauseClause is the filter expression matching a root cause value as
 * rootCauseValues writes it: the last service of the path by name, and the
 * exception by name when the value ends in one.
 */
export function rootCauseClause(kind: "fault" | "error" | "responsetime", v: string): string {
  const i = v.lastIndexOf(": ");
  const exc = i > 0 && kind !== "responsetime" && /^[\w.$]+$/.test(v.slice(i + 2)) ? v.slice(i + 2) : "";
  const svc = exc ? v.slice(0, i) : v;
  const c = `rootcause.${kind}.service { name = ${q(svc)} AND last }`;
  return exc ? `${c} AND rootcause.${kind}.exception { name = ${q(exc)} }` : c;
}

/** q quotes a string for a filter expression. */
const q = (v: string) => JSON.stringify(v);

interface Dimension {
  key: string;
  title: string;
  values: (t: AnalyticsTrace) => (string | undefined)[];
  /** clause is the filter expression for the traces with value v. */
  clause: (v: string) => string;
}

export const DIMENSIONS: Dimension[] = [
  { key: "service", title: "Service", values: (t) => (t.ServiceIds ?? []).map((s) => s.Name), clause: (v) => `service(${q(v)})` },
  { key: "method", title: "HTTP method", values: (t) => [t.Http?.HttpMethod], clause: (v) => `http.method = ${q(v)}` },
  { key: "status", title: "HTTP status code", values: (t) => [t.Http?.HttpStatus ? String(t.Http.HttpStatus) : undefined], clause: (v) => `http.status = ${Number(v)}` },
  { key: "url", title: "URL", values: (t) => [t.Http?.HttpURL], clause: (v) => `http.url = ${q(v)}` },
  { key: "user", title: "User", values: (t) => (t.Users ?? []).map((u) => u.UserName), clause: (v) => `user = ${q(v)}` },
  { key: "fault", title: "Fault root cause", values: (t) => rootCauseValues(t.FaultRootCauses), clause: (v) => rootCauseClause("fault", v) },
  { key: "error", title: "Error root cause", values: (t) => rootCauseValues(t.ErrorRootCauses), clause: (v) => rootCauseClause("error", v) },
  { key: "responsetime", title: "Response time root cause", values: (t) => rootCauseValues(t.ResponseTimeRootCauses), clause: (v) => rootCauseClause("responsetime", v) },
];

/** A value picked in a breakdown table. */
interface Pick {
  dim: string;
  value: string;
}

const hasPick = (p: Pick) => {
  const d = DIMENSIONS.find((x) => x.key === p.dim)!;
  return (t: AnalyticsTrace) => d.values(t).includes(p.value);
};

/** counts is, per value, the number of traces that have it (once per trace). */
function counts(traces: AnalyticsTrace[], d: Dimension): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of traces) {
    for (const v of new Set(d.values(t))) {
      if (v === undefined || v === "") continue;
      m.set(v, (m.get(v) ?? 0) + 1);
    }
  }
  return m;
}

const pct = (n: number, total: number) => (total ? (100 * n) / total : 0);
const fmtPct = (p: number) => p.toFixed(1) + "%";

function Breakdown({ d, a, b, picked, onPick }: { d: Dimension; a: AnalyticsTrace[]; b: AnalyticsTrace[] | null; picked: string | null; onPick: (v: string | null) => void }) {
  const [all, setAll] = useState(false);
  const rows = useMemo(() => {
    const ca = counts(a, d);
    const cb = b ? counts(b, d) : new Map<string, number>();
    const values = new Set([...ca.keys(), ...cb.keys()]);
    return [...values]
      .map((v) => {
        const ac = ca.get(v) ?? 0;
        const bc = cb.get(v) ?? 0;
        const as = pct(ac, a.length);
        const bs = b ? pct(bc, b.length) : 0;
        return { v, ac, bc, as, bs, diff: bs - as };
      })
      .sort((x, y) => Math.max(y.as, y.bs) - Math.max(x.as, x.bs) || y.ac + y.bc - (x.ac + x.bc) || x.v.localeCompare(y.v));
  }, [a, b, d]);
  const shown = all ? rows : rows.slice(0, 10);
  return (
    <section className="xa-table" data-testid={"breakdown-" + d.key} data-rows={rows.length}>
      <h3>{d.title}</h3>
      {rows.length === 0 ? (
        <p className="muted">No traces with a value.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>{d.title}</th>
              <th className="num">{b ? "A" : "Traces"}</th>
              <th className="num">{b ? "A %" : "%"}</th>
              {b && (
                <>
                  <th className="num">B</th>
                  <th className="num">B %</th>
                  <th className="num" title="B's share minus A's, in percentage points">Δ</th>
                </>
              )}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.v} className={picked === r.v ? "picked" : ""} data-value={r.v} data-a-count={r.ac} data-a-share={r.as.toFixed(1)} {...(b ? { "data-b-count": r.bc, "data-b-share": r.bs.toFixed(1), "data-diff": r.diff.toFixed(1) } : {})}>
                <td className="xa-value">
                  <span className="xa-sharebar a" style={{ width: r.as + "%" }} />
                  {b && <span className="xa-sharebar b" style={{ width: r.bs + "%" }} />}
                  <button type="button" className="xa-label" aria-pressed={picked === r.v} title={`${r.v}\nShow only the traces with this value`} onClick={() => onPick(picked === r.v ? null : r.v)}>
                    {r.v}
                  </button>
                </td>
                <td className="num">{r.ac}</td>
                <td className="num">{fmtPct(r.as)}</td>
                {b && (
                  <>
                    <td className="num">{r.bc}</td>
                    <td className="num">{fmtPct(r.bs)}</td>
                    <td className={"num " + (r.diff > 0 ? "xa-up" : r.diff < 0 ? "xa-down" : "")}>
                      {(r.diff > 0 ? "+" : "") + r.diff.toFixed(1)}
                    </td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows.length > 10 && (
        <button type="button" className="small" onClick={() => setAll(!all)}>
          {all ? "Show the first 10" : `Show all ${rows.length}`}
        </button>
      )}
    </section>
  );
}

// --- a bar chart with a selectable range of bins ---

type Sel = [number, number] | null;

function Bars({ testId, bins, compare, normalise, sel, onSelect, fmtRange }: {
  testId: string;
  bins: Bin[];
  compare: boolean;
  normalise: boolean;
  sel: Sel;
  onSelect: (s: Sel) => void;
  fmtRange: (lo: number, hi: number) => string;
}) {
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const dragRef = useRef(drag);
  dragRef.current = drag;
  const onSelectRef = useRef(onSelect);
  onSelectRef.current = onSelect;
  useEffect(() => {
    const up = () => {
      const d = dragRef.current;
      if (!d) return;
      setDrag(null);
      onSelectRef.current([Math.min(d.from, d.to), Math.max(d.from, d.to)]);
    };
    window.addEventListener("mouseup", up);
    return () => window.removeEventListener("mouseup", up);
  }, []);
  const totalA = bins.reduce((s, x) => s + x.a, 0);
  const totalB = bins.reduce((s, x) => s + x.b, 0);
  const ya = (x: Bin) => (normalise ? pct(x.a, totalA) : x.a);
  const yb = (x: Bin) => (normalise ? pct(x.b, totalB) : x.b);
  const max = Math.max(1e-9, ...bins.map((x) => Math.max(ya(x), compare ? yb(x) : 0)));
  const shownSel: Sel = drag ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)] : sel;
  // At most about 12 axis labels.
  const every = Math.max(1, Math.ceil(bins.length / 12));
  return (
    <div
      className="xa-chart"
      data-testid={testId}
      data-bins={JSON.stringify(bins.map((x) => [x.lo, x.hi, x.a, x.b]))}
      data-selection={sel ? JSON.stringify([bins[sel[0]]?.lo, bins[sel[1]]?.hi]) : ""}
    >
      <div className="xa-ymax muted">{normalise ? fmtPct(max) : Math.round(max) + " traces"}</div>
      <div className="xa-plot">
        {bins.map((x, i) => {
          const on = shownSel && i >= shownSel[0] && i <= shownSel[1];
          return (
            <div
              key={i}
              className={"xa-bin" + (on ? " sel" : "")}
              data-bin={i}
              data-lo={x.lo}
              data-hi={x.hi}
              data-a={x.a}
              data-b={x.b}
              tabIndex={0}
              role="button"
              aria-label={`${fmtRange(x.lo, x.hi)}: ${x.a} traces${compare ? `, B ${x.b}` : ""}`}
              title={`${fmtRange(x.lo, x.hi)}\nA: ${x.a} (${fmtPct(pct(x.a, totalA))})` + (compare ? `\nB: ${x.b} (${fmtPct(pct(x.b, totalB))})` : "")}
              onMouseDown={(e) => {
                if (e.button !== 0) return;
                e.preventDefault();
                setDrag({ from: i, to: i });
              }}
              onMouseEnter={() => {
                if (dragRef.current) setDrag({ from: dragRef.current.from, to: i });
              }}
              onKeyDown={(e) => {
                if (e.key === "Enter" || e.key === " ") {
                  e.preventDefault();
                  onSelect([i, i]);
                }
              }}
            >
              <span className="xa-bar a" style={{ height: (100 * ya(x)) / max + "%" }} />
              {compare && <span className="xa-bar b" style={{ height: (100 * yb(x)) / max + "%" }} />}
            </div>
          );
        })}
      </div>
      <div className="xa-axis">
        {bins.map((x, i) => (
          <span key={i}>{i % every === 0 ? x.label : ""}</span>
        ))}
      </div>
    </div>
  );
}

const fmtRT = (lo: number, hi: number) => `${fmtDuration(lo * 1000)} – ${fmtDuration(hi * 1000)}`;
const fmtTime = (lo: number, hi: number) => `${new Date(lo * 1000).toLocaleTimeString()} – ${new Date(hi * 1000).toLocaleTimeString()}`;

/** andClause narrows expr by clause. */
function andClause(expr: string, clause: string): string {
  const e = expr.trim();
  if (!clause) return e;
  return e ? `(${e}) AND ${clause}` : clause;
}

/** tracesLink opens the Traces tab with expr, narrowed by clause and to a response-time range. */
function tracesLink(expr: string, clause: string, rt: [number, number] | null, doors: Doors): string {
  let f = andClause(expr, clause);
  if (rt) {
    const r = `responsetime >= ${rt[0]} AND responsetime < ${rt[1]}`;
    f = f ? `(${f}) AND ${r}` : r;
  }
  const p = new URLSearchParams();
  if (f) p.set("filter", f);
  if (doors !== "xray") p.set("doors", doors);
  const q = p.toString();
  return "/xray" + (q ? "?" + q : "");
}

interface Run {
  start: number;
  end: number;
  doors: Doors;
  a: TraceSet;
  b: TraceSet | null;
}

export default function Analytics() {
  const [doors, setDoors] = useDoors();
  const loc = useLocation();
  const [exprState, setExpr] = useState(() => loc.params.get("filter") ?? "");
  const [cmpState, setCmp] = useState(() => loc.params.get("compare") ?? "");
  const [comparing, setComparing] = useState(() => loc.params.has("compare"));
  const [range, setRange] = useState(() => {
    const r = Number(loc.params.get("range"));
    return TIME_RANGES.some(([s]) => s === r) && r <= 86400 ? r : 3600;
  });
  const [run, setRun] = useState<Run | null>(null);
  const [errA, setErrA] = useState<unknown>(null);
  const [errB, setErrB] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [normalise, setNormalise] = useState(false);
  const [rtSel, setRtSel] = useState<Sel>(null);
  const [timeSel, setTimeSel] = useState<Sel>(null);
  const gen = useRef(0);

  const [pick, setPick] = useState<Pick | null>(null);
  const go = useCallback(
    async (d: Doors, override?: { expr: string; cmp: string }) => {
      const expr = override?.expr ?? exprState;
      const cmp = override?.cmp ?? cmpState;
      const g = ++gen.current;
      const end = Math.floor(Date.now() / 1000);
      const start = end - range;
      const withB = comparing;
      // Keep the search in the address, so it can be shared and reloaded.
      const p = new URLSearchParams(window.location.search);
      if (expr) p.set("filter", expr);
      else p.delete("filter");
      if (withB) p.set("compare", cmp);
      else p.delete("compare");
      p.set("range", String(range));
      navigate("/xray/analytics?" + p.toString(), true);
      setBusy(true);
      setErrA(null);
      setErrB(null);
      const [ra, rb] = await Promise.allSettled([loadSet(expr, start, end, d), withB ? loadSet(cmp, start, end, d) : Promise.resolve(null)]);
      if (g !== gen.current) return;
      setBusy(false);
      if (ra.status === "rejected") setErrA(ra.reason);
      if (rb.status === "rejected") setErrB(rb.reason);
      if (ra.status === "rejected" || rb.status === "rejected") {
        setRun(null);
        return;
      }
      setRtSel(null);
      setTimeSel(null);
      setPick(null);
      setRun({ start, end, doors: d, a: ra.value, b: rb.value });
    },
    [exprState, cmpState, comparing, range],
  );
  useEffect(() => {
    go(doors);
    // Run on open and when the data picker changes; other runs are asked for.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [doors]);

  const a = run?.a.traces ?? [];
  const b = run?.b ? run.b.traces : null;
  // A value picked in a table narrows the charts and the other tables.
  const pa = useMemo(() => (pick ? a.filter(hasPick(pick)) : a), [a, pick]);
  const pb = useMemo(() => (pick && b ? b.filter(hasPick(pick)) : b), [b, pick]);
  const rt = useMemo(() => rtBins(b ? [...a, ...b] : a, pa, pb), [a, b, pa, pb]);
  const ts = useMemo(() => (run ? timeBins(run.start, run.end, pa, pb) : []), [run, pa, pb]);
  // The selections narrow the tables: a response-time range (lo inclusive,
  // hi exclusive, by bucket) and a time range.
  const rtRange: [number, number] | null = rtSel && rt.length ? [rt[rtSel[0]].lo, rt[rtSel[1]].hi] : null;
  const tRange: [number, number] | null = timeSel && ts.length ? [ts[timeSel[0]].lo, ts[timeSel[1]].hi] : null;
  const narrow = useCallback(
    (xs: AnalyticsTrace[]) =>
      xs.filter((t) => {
        if (rtRange) {
          const k = bucketOf(t.ResponseTime ?? 0);
          if (edge(k) < rtRange[0] || edge(k) >= rtRange[1]) return false;
        }
        if (timeSel && run) {
          const i = timeIndex(run.start, run.end, t);
          if (i < timeSel[0] || i > timeSel[1]) return false;
        }
        return true;
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [rtRange?.[0], rtRange?.[1], timeSel?.[0], timeSel?.[1], run],
  );
  const na = useMemo(() => narrow(a), [a, narrow]);
  const nb = useMemo(() => (b ? narrow(b) : null), [b, narrow]);
  const npa = useMemo(() => narrow(pa), [pa, narrow]);
  const npb = useMemo(() => (pb ? narrow(pb) : null), [pb, narrow]);
  const pickDim = pick ? DIMENSIONS.find((d) => d.key === pick.dim)! : null;
  const pickClause = pick && pickDim ? pickDim.clause(pick.value) : "";

  const summary = (name: string, s: TraceSet, shown: number) => (
    <span className={"xa-count " + name.toLowerCase()} data-testid={"xa-count-" + name.toLowerCase()} data-matching={s.traces.length} data-shown={shown} data-scanned={s.scanned ?? ""} data-capped={s.capped ? "1" : "0"}>
      <b>{name}</b>: {s.capped ? `the first ${s.traces.length.toLocaleString()} matching traces (more match; capped at ${CAP.toLocaleString()})` : `${s.traces.length.toLocaleString()} matching traces`}
      {s.scanned !== null && ` of ${s.scanned.toLocaleString()} scanned`}
      {(rtRange || tRange || pick) && `; ${shown} in the selection`}
      {" · "}
      <Link href={tracesLink(s.expr, pickClause, rtRange, run!.doors)} data-testid={"xa-open-" + name.toLowerCase()}>
        open in Traces
      </Link>
    </span>
  );

  return (
    <div className="xa">
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          go(doors);
        }}
      >
        <div className="inline">
          <DoorsPicker doors={doors} onChange={setDoors} />
        </div>
        <div className={comparing ? "xa-filters two-col" : "xa-filters"}>
          <label>
            <span className="muted">
              {comparing ? <span className="xa-key a">A</span> : null}Filter expression, e.g. <code>service("backend")</code> or <code>http.status = 500</code> (empty: every trace)
            </span>
            <textarea rows={2} name="filter" value={exprState} onChange={(e) => setExpr(e.target.value)} spellCheck={false} />
            <PositionError expr={run?.a.expr ?? exprState} error={errA} testId="filter-error" />
          </label>
          {comparing && (
            <label>
              <span className="muted">
                <span className="xa-key b">B</span>Compare with
              </span>
              <textarea rows={2} name="compare" value={cmpState} onChange={(e) => setCmp(e.target.value)} spellCheck={false} />
              <PositionError expr={cmpState} error={errB} testId="compare-error" />
            </label>
          )}
        </div>
        <div className="inline">
          <select value={range} onChange={(e) => setRange(Number(e.target.value))} aria-label="Time range">
            {TIME_RANGES.filter(([s]) => s <= 86400).map(([s, l]) => (
              <option key={s} value={s}>{l}</option>
            ))}
          </select>
          <button type="submit" disabled={busy}>{busy ? "Analysing…" : "Analyse"}</button>
          <button
            type="button"
            onClick={() => {
              // Removing the comparison drops B from what is shown at once.
              if (comparing) setRun((r) => r && { ...r, b: null });
              setComparing(!comparing);
            }}
          >
            {comparing ? "Remove comparison" : "Compare"}
          </button>
          <label>
            <input type="checkbox" checked={normalise} onChange={(e) => setNormalise(e.target.checked)} /> Share of each set
          </label>
        </div>
      </form>
      {run && (
        <>
          <div className="card xa-summary" data-testid="xa-summary">
            {summary("A", run.a, npa.length)}
            {run.b && npb && summary("B", run.b, npb.length)}
            {pick && pickDim && (
              <div className="inline" data-testid="xa-pick" data-clause={pickClause}>
                <span>
                  Only traces with {pickDim.title} <b>{pick.value}</b> (<code>{pickClause}</code>)
                </span>
                <button
                  type="button"
                  className="small"
                  onClick={() => {
                    const next = { expr: andClause(exprState, pickClause), cmp: comparing ? andClause(cmpState, pickClause) : cmpState };
                    setExpr(next.expr);
                    setCmp(next.cmp);
                    go(doors, next);
                  }}
                >
                  Add to filter{comparing ? "s" : ""}
                </button>
                <button type="button" className="small" onClick={() => setPick(null)}>Clear</button>
              </div>
            )}
          </div>
          <div className="xa-charts">
            <section className="card">
              <div className="xa-head">
                <h3>Response time distribution</h3>
                {rtRange && (
                  <span data-testid="rt-selection">
                    {fmtRT(rtRange[0], rtRange[1])}{" "}
                    <button type="button" className="small" onClick={() => setRtSel(null)}>Clear</button>
                  </span>
                )}
              </div>
              <p className="muted xa-note">Traces per response-time bucket, the buckets on a 1-2-5 log scale (…, 10ms, 20ms, 50ms, 100ms, …). Drag across bars to narrow the tables to those traces.</p>
              <Bars testId="rt-dist" bins={rt} compare={!!b} normalise={normalise} sel={rtSel} onSelect={setRtSel} fmtRange={fmtRT} />
            </section>
            <section className="card">
              <div className="xa-head">
                <h3>Time series activity</h3>
                {tRange && (
                  <span data-testid="time-selection">
                    {fmtTime(tRange[0], tRange[1])}{" "}
                    <button type="button" className="small" onClick={() => setTimeSel(null)}>Clear</button>
                  </span>
                )}
              </div>
              <p className="muted xa-note">Traces by start time, {fmtDuration(((run.end - run.start) / ts.length) * 1000)} buckets. Drag across bars to narrow the tables.</p>
              <Bars testId="time-series" bins={ts} compare={!!b} normalise={normalise} sel={timeSel} onSelect={setTimeSel} fmtRange={fmtTime} />
            </section>
          </div>
          <div className="xa-tables">
            {DIMENSIONS.map((d) => (
              <Breakdown
                key={d.key}
                d={d}
                a={pick && pick.dim !== d.key ? npa : na}
                b={pick && pick.dim !== d.key ? npb : nb}
                picked={pick?.dim === d.key ? pick.value : null}
                onPick={(v) => setPick(v === null ? null : { dim: d.key, value: v })}
              />
            ))}
          </div>
        </>
      )}
    </div>
  );
}
