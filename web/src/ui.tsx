// Small shared pieces: error box, formatting, colours.
import { useEffect, useState } from "react";
import { APIError, hc, type Dataset } from "./api";

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  let msg = String(error);
  if (error instanceof APIError) msg = (error.code ? error.code + ": " : "") + error.message;
  else if (error instanceof Error) msg = error.message;
  return (
    <div className="error" role="alert">
      {msg}
    </div>
  );
}

export function fmtDuration(ms: number): string {
  if (!isFinite(ms)) return "–";
  if (ms < 1) return (ms * 1000).toFixed(0) + "µs";
  if (ms < 1000) return (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)) + "ms";
  if (ms < 60000) return (ms / 1000).toFixed(2) + "s";
  return (ms / 60000).toFixed(1) + "m";
}

export function fmtAgo(iso: string | null | undefined): string {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (!isFinite(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#4f46e5", "#ea580c", "#0d9488", "#7c3aed", "#ca8a04"];

// colorFor gives every service name a stable colour.
export function colorFor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(h) % PALETTE.length];
}

export function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="small"
      onClick={() => {
        navigator.clipboard?.writeText(text).then(() => setDone(true), () => setDone(false));
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? "Copied" : "Copy"}
    </button>
  );
}

// positionOf finds the place an error message names ("at column 14",
// "at line 2, column 3").
export function positionOf(msg: string): { line: number; col: number } | null {
  const m = /at line (\d+), column (\d+)/.exec(msg) ?? /at column (\d+)/.exec(msg);
  if (!m) return null;
  return m.length === 3 ? { line: Number(m[1]), col: Number(m[2]) } : { line: 1, col: Number(m[1]) };
}

/**
 * PositionError shows an API error about an expression with a caret under
 * the place it names. With flat, a column alone counts characters from the
 * start of the whole text, across its lines.
 */
export function PositionError({ expr, error, testId, flat = false }: { expr: string; error: unknown; testId: string; flat?: boolean }) {
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  let pos = error instanceof APIError ? positionOf(msg) : null;
  if (!pos) return <ErrorBox error={error} />;
  if (flat && !/at line \d+/.test(msg)) {
    const before = [...expr].slice(0, pos.col - 1).join("").split("\n");
    pos = { line: before.length, col: [...before[before.length - 1]].length + 1 };
  }
  const line = expr.split("\n")[pos.line - 1] ?? "";
  return (
    <div className="error" role="alert" data-testid={testId}>
      <div>{msg}</div>
      <pre className="pos">
        {line}
        {"\n"}
        {" ".repeat(Math.max(0, pos.col - 1))}^
      </pre>
    </div>
  );
}

/** fieldError is the description a 422 gives of field, if it names it. */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof APIError)) return undefined;
  return error.fields.find((f) => f.field === field || f.field.startsWith(field + ".") || f.field.startsWith(field + "["))?.description;
}

/** useDatasets lists the environment's datasets (empty on failure); loaded once the answer came. */
export function useDatasets(): { datasets: Dataset[]; loaded: boolean } {
  const [state, setState] = useState<{ datasets: Dataset[]; loaded: boolean }>({ datasets: [], loaded: false });
  useEffect(() => {
    hc.get<Dataset[]>("/1/datasets").then(
      (datasets) => setState({ datasets, loaded: true }),
      () => setState({ datasets: [], loaded: true }),
    );
  }, []);
  return state;
}

/** DatasetSelect picks a dataset, or __all__ (the environment's objects) when allowAll. */
export function DatasetSelect({ value, onChange, datasets, allLabel }: { value: string; onChange: (v: string) => void; datasets: Dataset[]; allLabel?: string }) {
  return (
    <label>
      Dataset
      <select name="dataset" value={value} onChange={(e) => onChange(e.target.value)}>
        {allLabel && <option value="__all__">{allLabel}</option>}
        {!value && <option value="">choose a dataset</option>}
        {value && value !== "__all__" && !datasets.some((d) => d.slug === value) && <option value={value}>{value}</option>}
        {datasets.map((d) => (
          <option key={d.slug} value={d.slug}>{d.name}</option>
        ))}
      </select>
    </label>
  );
}

/** FieldRow is one labelled row of a form grid, marked when the API named it in a 422. */
export function FieldRow({ label, problem, children }: { label: string; problem?: string; children: React.ReactNode }) {
  return (
    <>
      <span className="lbl">{label}</span>
      <div className={"row" + (problem ? " invalid" : "")}>
        {children}
        {problem && <span className="field-err">{problem}</span>}
      </div>
    </>
  );
}
