import { useEffect, useMemo, useState } from "react";
import { hc, type TraceResponse } from "../api";
import { buildTree, type Tree } from "../trace";
import { compareTrees, DEFAULT_THRESHOLD, diff, flatten, pathNames, pct, sortRows, status, summarize, type CompareNode, type Side, type SortKey, type Threshold } from "../compare";
import { Link, navigate, useLocation } from "../router";
import { colorFor, ErrorBox, fmtDuration } from "../ui";

// The comparison of two traces, A (?a=) and B (?b=): one merged tree of
// their spans matched by service and name along the path from the root.

const SORTS: [SortKey, string][] = [
  ["tree", "Tree order"],
  ["diff-desc", "B slower first"],
  ["diff-asc", "B faster first"],
  ["abs-diff", "Largest difference first"],
  ["pct-desc", "Largest % slower first"],
];

export const compareURL = (a: string, b: string) => "/compare?" + new URLSearchParams({ a, b }).toString();

function useTrace(id: string): { tree: Tree | null; err: unknown } {
  const [state, setState] = useState<{ id: string; tree: Tree | null; err: unknown }>({ id: "", tree: null, err: null });
  useEffect(() => {
    if (!id) return;
    let cancelled = false;
    setState({ id, tree: null, err: null });
    hc.get<TraceResponse>("/api/traces/" + encodeURIComponent(id)).then(
      (d) => !cancelled && setState({ id, tree: buildTree(d.events), err: null }),
      (e) => !cancelled && setState({ id, tree: null, err: e }),
    );
    return () => {
      cancelled = true;
    };
  }, [id]);
  return state.id === id ? state : { tree: null, err: null };
}

const signed = (ms: number) => (ms === 0 ? "±0ms" : (ms > 0 ? "+" : "−") + fmtDuration(Math.abs(ms)));
const signedPct = (p: number | null) => (p === null ? "–" : (p > 0 ? "+" : p < 0 ? "−" : "±") + Math.abs(p).toFixed(1) + "%");

function SideCell({ s, which }: { s: Side | null; which: "a" | "b" }) {
  if (!s) return <td className="num muted" data-col={which}>–</td>;
  return (
    <td className={"num" + (s.error ? " err-text" : "")} data-col={which} data-ms={s.dur} data-count={s.count} title={s.count > 1 ? `${s.count} spans, ${fmtDuration(s.dur / s.count)} each on average` : ""}>
      {fmtDuration(s.dur)}
      {s.count > 1 && <span className="cmp-count"> ×{s.count}</span>}
    </td>
  );
}

const STATUS_TEXT: Record<string, string> = { "only-a": "only in A", "only-b": "only in B", slower: "slower", faster: "faster", same: "" };

export default function ComparePage() {
  const loc = useLocation();
  const a = (loc.params.get("a") ?? "").trim();
  const b = (loc.params.get("b") ?? "").trim();
  const sortKey = (SORTS.some(([k]) => k === loc.params.get("sort")) ? loc.params.get("sort") : "tree") as SortKey;
  const thresholdPct = Number(loc.params.get("pct") ?? DEFAULT_THRESHOLD.pct);
  const threshold: Threshold = { pct: isFinite(thresholdPct) && thresholdPct >= 0 ? thresholdPct : DEFAULT_THRESHOLD.pct, ms: DEFAULT_THRESHOLD.ms };
  const [ia, setIa] = useState(a);
  const [ib, setIb] = useState(b);
  useEffect(() => {
    setIa(a);
    setIb(b);
  }, [a, b]);
  const A = useTrace(a);
  const B = useTrace(b);

  const setParams = (p: Record<string, string>, replace = false) => {
    const next = new URLSearchParams(loc.params);
    for (const [k, v] of Object.entries(p)) next.set(k, v);
    navigate("/compare?" + next.toString(), replace);
  };

  const roots = useMemo(() => (A.tree && B.tree ? compareTrees(A.tree, B.tree) : null), [A.tree, B.tree]);
  const rows = useMemo(() => (roots ? sortRows(flatten(roots), sortKey) : null), [roots, sortKey]);
  const sum = useMemo(() => (A.tree && B.tree && roots ? summarize(A.tree, B.tree, roots, threshold) : null), [A.tree, B.tree, roots, threshold.pct, threshold.ms]);
  const flat = sortKey !== "tree";

  return (
    <div className="compare-page">
      <form
        className="card inline"
        data-testid="compare-form"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ a: ia.trim(), b: ib.trim() });
        }}
      >
        <label>
          Trace A
          <input name="a" value={ia} onChange={(e) => setIa(e.target.value)} placeholder="trace id" size={36} />
        </label>
        <label>
          Trace B
          <input name="b" value={ib} onChange={(e) => setIb(e.target.value)} placeholder="trace id" size={36} />
        </label>
        <button type="submit" disabled={!ia.trim() || !ib.trim()}>Compare</button>
        <button type="button" className="small" disabled={!a || !b} onClick={() => setParams({ a: b, b: a })} title="Swap A and B">
          Swap
        </button>
      </form>
      {(!a || !b) && <p className="muted">Give two trace ids, or tick two traces in the Traces list and press Compare.</p>}
      {A.err ? (
        <div data-testid="error-a">
          <b>Trace A:</b> <ErrorBox error={A.err} />
        </div>
      ) : null}
      {B.err ? (
        <div data-testid="error-b">
          <b>Trace B:</b> <ErrorBox error={B.err} />
        </div>
      ) : null}
      {a && b && !A.err && !B.err && !rows && <div className="loading">Loading traces…</div>}
      {sum && rows && (
        <>
          <div className="card" data-testid="compare-summary">
            <table className="grid cmp-totals">
              <thead>
                <tr>
                  <th></th>
                  <th>Trace</th>
                  <th className="num">Duration</th>
                  <th className="num">Spans</th>
                  <th className="num">Spans only here</th>
                </tr>
              </thead>
              <tbody>
                <tr>
                  <td><b>A</b></td>
                  <td><Link href={"/trace/" + encodeURIComponent(a)}>{a}</Link></td>
                  <td className="num" data-testid="total-a">{fmtDuration(sum.aTotal)}</td>
                  <td className="num">{sum.aSpans}</td>
                  <td className="num" data-testid="only-a-count">{sum.onlyA}</td>
                </tr>
                <tr>
                  <td><b>B</b></td>
                  <td><Link href={"/trace/" + encodeURIComponent(b)}>{b}</Link></td>
                  <td className="num" data-testid="total-b">{fmtDuration(sum.bTotal)}</td>
                  <td className="num">{sum.bSpans}</td>
                  <td className="num" data-testid="only-b-count">{sum.onlyB}</td>
                </tr>
                <tr>
                  <td><b>B − A</b></td>
                  <td className="muted">
                    {sum.slower} {sum.slower === 1 ? "path" : "paths"} slower, {sum.faster} faster by more than {threshold.pct}% (and {threshold.ms}ms)
                  </td>
                  <td className={"num " + deltaClass(sum.bTotal - sum.aTotal, sum.aTotal ? ((sum.bTotal - sum.aTotal) / sum.aTotal) * 100 : null, threshold)} data-testid="total-diff">
                    {signed(sum.bTotal - sum.aTotal)} ({signedPct(sum.aTotal ? ((sum.bTotal - sum.aTotal) / sum.aTotal) * 100 : null)})
                  </td>
                  <td className="num">{sum.bSpans - sum.aSpans > 0 ? "+" : ""}{sum.bSpans - sum.aSpans}</td>
                  <td></td>
                </tr>
              </tbody>
            </table>
            {sum.biggest.length > 0 && (
              <>
                <h3>Biggest differences</h3>
                <ol className="cmp-biggest" data-testid="biggest">
                  {sum.biggest.map((n) => (
                    <li key={n.id} data-path={n.id} className={"cmp-" + status(n, threshold)}>
                      <span className="cmp-delta">{signed(diff(n))}</span> ({signedPct(pct(n))}) <b>{n.service}</b> {n.name}{" "}
                      <span className="muted">{fmtDuration(n.a!.dur)} → {fmtDuration(n.b!.dur)}</span>
                    </li>
                  ))}
                </ol>
              </>
            )}
          </div>
          <div className="card">
            <div className="inline">
              <label>
                Order
                <select name="sort" value={sortKey} onChange={(e) => setParams({ sort: e.target.value }, true)} data-testid="compare-sort">
                  {SORTS.map(([k, l]) => (
                    <option key={k} value={k}>{l}</option>
                  ))}
                </select>
              </label>
              <label>
                Highlight past
                <input type="number" name="pct" min={0} step={1} value={threshold.pct} onChange={(e) => setParams({ pct: e.target.value }, true)} style={{ width: 70 }} /> %
              </label>
              <span className="legend muted">
                <span className="cmp-swatch cmp-slower" /> B slower <span className="cmp-swatch cmp-faster" /> B faster <span className="cmp-swatch cmp-only-a" /> only in A{" "}
                <span className="cmp-swatch cmp-only-b" /> only in B
              </span>
            </div>
            <table className="grid cmp-table" data-testid="compare-table">
              <thead>
                <tr>
                  <th>Span (service, name){flat ? ": path" : ""}</th>
                  <th className="num">A</th>
                  <th className="num">B</th>
                  <th className="num">
                    <button type="button" className="sort" onClick={() => setParams({ sort: sortKey === "diff-desc" ? "diff-asc" : "diff-desc" }, true)} data-testid="sort-diff">
                      B − A {sortKey === "diff-desc" ? "▼" : sortKey === "diff-asc" ? "▲" : ""}
                    </button>
                  </th>
                  <th className="num">
                    <button type="button" className="sort" onClick={() => setParams({ sort: "pct-desc" }, true)}>
                      % {sortKey === "pct-desc" ? "▼" : ""}
                    </button>
                  </th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                {rows.map((n) => (
                  <CompareRow key={n.id} n={n} threshold={threshold} flat={flat} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

function deltaClass(d: number, p: number | null, t: Threshold): string {
  if (Math.abs(d) <= t.ms || (p !== null && Math.abs(p) <= t.pct)) return "";
  return d > 0 ? "cmp-slower" : "cmp-faster";
}

function CompareRow({ n, threshold, flat }: { n: CompareNode; threshold: Threshold; flat: boolean }) {
  const st = status(n, threshold);
  const d = diff(n);
  const p = pct(n);
  const both = n.a !== null && n.b !== null;
  return (
    <tr className={"cmp-row cmp-" + st} data-testid="compare-row" data-path={n.id} data-status={st} data-service={n.service} data-name={n.name}>
      <td>
        <span className="cmp-name" style={{ paddingLeft: flat ? 0 : n.depth * 16 }}>
          <i className="svc-dot" style={{ background: colorFor(n.service) }} /> <b>{n.service || "(no service)"}</b> {n.name}
        </span>
        {flat && n.depth > 0 && <div className="muted cmp-path">{pathNames(n).slice(0, -1).join(" › ")}</div>}
      </td>
      <SideCell s={n.a} which="a" />
      <SideCell s={n.b} which="b" />
      <td className="num cmp-delta" data-col="diff" data-ms={both ? d : ""}>{both ? signed(d) : "–"}</td>
      <td className="num" data-col="pct">{signedPct(p)}</td>
      <td className="cmp-status" data-col="status">
        {STATUS_TEXT[st]}
        {both && n.a!.count !== n.b!.count && <span className="muted"> ({n.a!.count} → {n.b!.count} spans)</span>}
      </td>
    </tr>
  );
}
