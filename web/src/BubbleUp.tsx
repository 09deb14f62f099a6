// BubbleUp: what is different about a selection of a query's events. The
// server (POST /1/bubbleup/{dataset}) compares the selection with the rest
// of the query's events (the baseline) column by column; each column is
// drawn as paired bars (selection vs baseline), most different first, and
// each value is one click from a WHERE or a GROUP BY.
import { useEffect, useState } from "react";
import { bubbleUp, type BubbleUpColumn, type BubbleUpResult, type BubbleUpSelection } from "./api";
import type { Filter, Spec } from "./querySpec";
import { ErrorBox } from "./ui";

const pct = (x: number) => (x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1) + "%";
const fmtNum = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2));
const valueText = (v: unknown) => (v === null || v === undefined ? "(none)" : String(v));

/** describeSelection names a selection for the panel's title. */
export function describeSelection(s: BubbleUpSelection): string {
  const parts: string[] = [];
  if (s.start_time !== undefined && s.end_time !== undefined) {
    const t = (x: number) => new Date(x * 1000).toISOString().slice(11, 19);
    parts.push(`${t(s.start_time)}–${t(s.end_time)} UTC`);
  }
  if (s.column) parts.push(`${s.column} ${s.min !== undefined ? fmtNum(s.min) : "…"}–${s.max !== undefined ? fmtNum(s.max) : "…"}`);
  for (const g of s.group ?? []) parts.push(`${g.column} = ${valueText(g.value)}`);
  return parts.join(", ");
}

export function BubbleUpPanel({
  dataset,
  query,
  selection,
  onWhere,
  onGroupBy,
  onClose,
}: {
  dataset: string;
  /** the query as run, with absolute start_time and end_time */
  query: Spec;
  selection: BubbleUpSelection;
  onWhere: (filters: Filter[]) => void;
  onGroupBy: (column: string) => void;
  onClose: () => void;
}) {
  const [res, setRes] = useState<BubbleUpResult | null>(null);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    setRes(null);
    setErr(null);
    bubbleUp(dataset, query, selection).then(
      (r) => live && setRes(r),
      (e) => live && setErr(e),
    );
    return () => {
      live = false;
    };
  }, [dataset, query, selection]);
  return (
    <div className="card bubbleup" data-testid="bubbleup">
      <div className="inline" style={{ justifyContent: "space-between" }}>
        <h3>
          BubbleUp: <span className="bu-sel-key">selection</span> {describeSelection(selection)} vs <span className="bu-base-key">baseline</span>
        </h3>
        <button type="button" className="small" onClick={onClose}>Close</button>
      </div>
      <ErrorBox error={err} />
      {!res && !err && <p className="muted">Comparing…</p>}
      {res && (
        <>
          <p className="muted" data-testid="bubbleup-counts">
            {res.selection_count} events selected, {res.baseline_count} in the baseline (the rest of the query). Columns whose values differ most come first.
          </p>
          {res.columns.length === 0 && <p className="muted">No column to compare.</p>}
          <div className="bu-grid">
            {res.columns.map((c) => (
              <ColumnCard key={c.column} c={c} onWhere={onWhere} onGroupBy={onGroupBy} />
            ))}
          </div>
        </>
      )}
    </div>
  );
}

function Bars({ s }: { s: { selection: number; baseline: number } }) {
  return (
    <span className="bu-bars">
      <span className="bu-bar sel" style={{ width: `${s.selection * 100}%` }} title={`selection ${pct(s.selection)}`} />
      <span className="bu-bar base" style={{ width: `${s.baseline * 100}%` }} title={`baseline ${pct(s.baseline)}`} />
    </span>
  );
}

function ColumnCard({ c, onWhere, onGroupBy }: { c: BubbleUpColumn; onWhere: (f: Filter[]) => void; onGroupBy: (col: string) => void }) {
  return (
    <div className="bu-col" data-testid="bubbleup-column" data-column={c.column} data-score={c.score}>
      <div className="bu-head">
        <b title={c.column}>{c.column}</b>
        <span className="muted" title="How far apart the two distributions are (total variation distance): 0 alike, 100% nothing in common">
          {pct(c.score)}
        </span>
        <button type="button" className="link" onClick={() => onGroupBy(c.column)} title={`GROUP BY ${c.column}`}>group by</button>
      </div>
      {c.values && (
        <table className="bu-values">
          <tbody>
            {c.values.map((v, i) => (
              <tr key={i} data-testid="bubbleup-value" data-value={valueText(v.value)}>
                <td className="bu-label">
                  <button
                    type="button"
                    className="link"
                    title={v.value === null ? `WHERE ${c.column} does-not-exist` : `WHERE ${c.column} = ${valueText(v.value)}`}
                    onClick={() => onWhere([v.value === null ? { column: c.column, op: "does-not-exist" } : { column: c.column, op: "=", value: v.value }])}
                  >
                    {valueText(v.value)}
                  </button>
                </td>
                <td className="bu-cell">
                  <Bars s={v} />
                </td>
                <td className="num bu-pct">
                  <span className="bu-sel-key">{pct(v.selection)}</span> <span className="bu-base-key">{pct(v.baseline)}</span>
                </td>
              </tr>
            ))}
            {c.other && (
              <tr className="muted">
                <td className="bu-label">(other values)</td>
                <td className="bu-cell">
                  <Bars s={c.other} />
                </td>
                <td className="num bu-pct">
                  {pct(c.other.selection)} {pct(c.other.baseline)}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {c.buckets && <Histogram c={c} onWhere={onWhere} />}
    </div>
  );
}

// Histogram draws a numeric column's buckets as pairs of columns; a click
// on a pair filters the query to that bucket.
function Histogram({ c, onWhere }: { c: BubbleUpColumn; onWhere: (f: Filter[]) => void }) {
  const buckets = c.buckets ?? [];
  const top = Math.max(...buckets.map((b) => Math.max(b.selection, b.baseline)), 0.0001);
  const last = buckets.length - 1;
  return (
    <div>
      <div className="bu-hist">
        {buckets.map((b, i) => (
          <button
            type="button"
            key={i}
            className="bu-pair"
            data-testid="bubbleup-bucket"
            title={`${fmtNum(b.lower)} – ${fmtNum(b.upper)}: selection ${pct(b.selection)}, baseline ${pct(b.baseline)} (click: WHERE)`}
            onClick={() =>
              onWhere([
                { column: c.column, op: ">=", value: b.lower },
                { column: c.column, op: i === last ? "<=" : "<", value: b.upper },
              ])
            }
          >
            <span className="bu-vbar sel" style={{ height: `${(b.selection / top) * 100}%` }} />
            <span className="bu-vbar base" style={{ height: `${(b.baseline / top) * 100}%` }} />
          </button>
        ))}
      </div>
      <div className="bu-axis muted">
        <span>{buckets.length ? fmtNum(buckets[0].lower) : ""}</span>
        <span>{buckets.length ? fmtNum(buckets[last].upper) : ""}</span>
      </div>
      {c.missing && (
        <div className="muted bu-missing">
          without {c.column}: <span className="bu-sel-key">{pct(c.missing.selection)}</span> <span className="bu-base-key">{pct(c.missing.baseline)}</span>
        </div>
      )}
    </div>
  );
}
