// The queries run on the Query page, kept in this browser's localStorage
// per environment: newest first, at most HISTORY_MAX, a query run again
// moving to the top rather than being listed twice.
import { label, type Spec } from "./querySpec";

export interface HistoryEntry {
  dataset: string;
  spec: Spec;
  at: number; // ms since the epoch, when it ran
}

export const HISTORY_MAX = 50;

export const historyKey = (env: string) => "tracecomb.queryHistory" + (env ? ":" + env : "");

const sameQuery = (x: HistoryEntry, y: HistoryEntry) => x.dataset === y.dataset && JSON.stringify(x.spec) === JSON.stringify(y.spec);

// addEntry puts e first and drops an earlier entry of the same query and
// the entries past max.
export function addEntry(list: HistoryEntry[], e: HistoryEntry, max = HISTORY_MAX): HistoryEntry[] {
  return [e, ...list.filter((x) => !sameQuery(x, e))].slice(0, Math.max(max, 0));
}

// parseHistory reads the stored text, keeping only well-formed entries.
export function parseHistory(text: string | null): HistoryEntry[] {
  if (!text) return [];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.filter(
    (e): e is HistoryEntry =>
      typeof e === "object" && e !== null && typeof e.dataset === "string" && typeof e.at === "number" && typeof e.spec === "object" && e.spec !== null && !Array.isArray(e.spec),
  );
}

function rangeText(spec: Spec): string {
  if (spec.start_time !== undefined && spec.end_time !== undefined) {
    const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
    return `${iso(spec.start_time)} – ${iso(spec.end_time).slice(11)} UTC`;
  }
  const s = spec.time_range ?? 7200;
  if (s % 86400 === 0) return `last ${s / 86400}d`;
  if (s % 3600 === 0) return `last ${s / 3600}h`;
  if (s % 60 === 0) return `last ${s / 60}m`;
  return `last ${s}s`;
}

const valueText = (v: unknown) => (Array.isArray(v) ? "(" + v.map((x) => JSON.stringify(x)).join(", ") + ")" : typeof v === "string" ? JSON.stringify(v) : String(v));

// summary writes a query on one line: its calculations, then WHERE,
// GROUP BY, ORDER BY, HAVING and LIMIT clauses when it has them, and its
// time range.
export function summary(spec: Spec): string {
  const parts: string[] = [(spec.calculations?.length ? spec.calculations : [{ op: "COUNT" }]).map(label).join(", ")];
  if (spec.filters?.length) {
    const join = spec.filter_combination === "OR" ? " OR " : " AND ";
    parts.push("WHERE " + spec.filters.map((f) => (f.value === undefined ? `${f.column} ${f.op}` : `${f.column} ${f.op} ${valueText(f.value)}`)).join(join));
  }
  if (spec.breakdowns?.length) parts.push("GROUP BY " + spec.breakdowns.join(", "));
  if (spec.orders?.length) {
    parts.push("ORDER BY " + spec.orders.map((o) => (o.op ? label({ op: o.op, column: o.column }) : (o.column ?? "")) + (o.order === "descending" ? " desc" : "")).join(", "));
  }
  if (spec.havings?.length) parts.push("HAVING " + spec.havings.map((h) => `${label({ op: h.calculate_op, column: h.column })} ${h.op} ${h.value}`).join(", "));
  if (spec.limit !== undefined) parts.push("LIMIT " + spec.limit);
  parts.push("· " + rangeText(spec));
  return parts.join(" ");
}

export function loadHistory(env: string): HistoryEntry[] {
  try {
    return parseHistory(localStorage.getItem(historyKey(env)));
  } catch {
    return [];
  }
}

// recordQuery adds a run query to the stored history and returns the new
// list; a full or disabled storage leaves the history as it was.
export function recordQuery(env: string, e: HistoryEntry): HistoryEntry[] {
  const next = addEntry(loadHistory(env), e);
  try {
    localStorage.setItem(historyKey(env), JSON.stringify(next));
  } catch {
    return loadHistory(env);
  }
  return next;
}

export function clearHistory(env: string) {
  try {
    localStorage.removeItem(historyKey(env));
  } catch {
    /* storage unavailable: nothing stored */
  }
}
