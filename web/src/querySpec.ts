import { hc } from "./api";

// Honeycomb query specs as the query builder edits them, and the pieces of
// a result it draws.

export interface Calc {
  op: string;
  column?: string;
  name?: string;
  // A calculation's own filters (a named calculation only), and how they
  // combine.
  filters?: Filter[];
  filter_combination?: "AND" | "OR";
}
// Formula is a named expression over named calculations
// (DIV($errors, $total)); a query with formulas returns them instead of
// its calculations.
export interface Formula {
  name: string;
  expression: string;
}
export interface Filter {
  column: string;
  op: string;
  value?: unknown;
}
export interface Order {
  op?: string;
  column?: string;
  order?: "ascending" | "descending";
}
export interface Having {
  calculate_op: string;
  column?: string;
  op: string;
  value: number;
}
export interface Spec {
  calculations?: Calc[];
  filters?: Filter[];
  filter_combination?: "AND" | "OR";
  breakdowns?: string[];
  orders?: Order[];
  havings?: Having[];
  limit?: number;
  time_range?: number;
  start_time?: number;
  end_time?: number;
  granularity?: number;
  formulas?: Formula[];
}

export const CALC_OPS = ["COUNT", "CONCURRENCY", "SUM", "AVG", "COUNT_DISTINCT", "MAX", "MIN", "P001", "P01", "P05", "P10", "P20", "P25", "P50", "P75", "P80", "P90", "P95", "P99", "P999", "HEATMAP", "RATE_AVG", "RATE_SUM", "RATE_MAX"];
export const UNARY_OPS = new Set(["COUNT", "CONCURRENCY"]);
export const FILTER_OPS = ["=", "!=", ">", ">=", "<", "<=", "starts-with", "does-not-start-with", "ends-with", "does-not-end-with", "exists", "does-not-exist", "contains", "does-not-contain", "in", "not-in"];
export const NO_VALUE_OPS = new Set(["exists", "does-not-exist"]);
export const HAVING_OPS = ["=", "!=", ">", ">=", "<", "<="];

export const TIME_RANGES: [number, string][] = [
  [600, "Last 10 minutes"],
  [1800, "Last 30 minutes"],
  [3600, "Last hour"],
  [7200, "Last 2 hours"],
  [21600, "Last 6 hours"],
  [86400, "Last 24 hours"],
  [604800, "Last 7 days"],
];

// label is the key of a calculation's value in result rows.
export function label(c: { op: string; column?: string; name?: string }): string {
  if (c.name) return c.name;
  if (UNARY_OPS.has(c.op) || !c.column) return c.op;
  return `${c.op}(${c.column})`;
}

// parseFilterValue turns the text typed for a filter into the JSON value
// the API takes: numbers and booleans as such, lists for in / not-in.
export function parseFilterValue(op: string, text: string): unknown {
  if (NO_VALUE_OPS.has(op)) return undefined;
  const one = (s: string): unknown => {
    const t = s.trim();
    if (t === "true") return true;
    if (t === "false") return false;
    if (t !== "" && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return Number(t);
    return t;
  };
  if (op === "in" || op === "not-in") return text.split(",").map(one);
  return one(text);
}

export function filterValueText(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.join(", ");
  return String(v);
}

// clean drops incomplete terms so a half-edited builder still runs.
export function clean(s: Spec): Spec {
  const out: Spec = { ...s };
  out.calculations = (s.calculations ?? [])
    .filter((c) => c.op && (UNARY_OPS.has(c.op) || c.column))
    .map((c) => {
      const { column, filters, filter_combination, name, ...rest } = c;
      const fs = (filters ?? []).filter((f) => f.column && f.op);
      return {
        ...rest,
        ...(UNARY_OPS.has(c.op) ? {} : { column }),
        ...(name ? { name } : {}),
        ...(fs.length ? { filters: fs, ...(filter_combination === "OR" ? { filter_combination } : {}) } : {}),
      };
    });
  out.formulas = (s.formulas ?? []).filter((f) => f.name.trim() && f.expression.trim());
  out.filters = (s.filters ?? []).filter((f) => f.column && f.op);
  out.breakdowns = (s.breakdowns ?? []).filter(Boolean);
  out.orders = (s.orders ?? []).filter((o) => o.op || o.column);
  out.havings = (s.havings ?? []).filter((h) => h.calculate_op && h.op && isFinite(h.value));
  for (const k of ["calculations", "filters", "breakdowns", "orders", "havings", "formulas"] as const) {
    if ((out[k] as unknown[]).length === 0) delete out[k];
  }
  if (out.filter_combination !== "OR") delete out.filter_combination;
  return out;
}

export interface HeatmapValue {
  buckets: { lower: number; upper: number; count: number }[];
}

export function isHeatmap(v: unknown): v is HeatmapValue {
  return typeof v === "object" && v !== null && Array.isArray((v as HeatmapValue).buckets);
}

export interface ResultData {
  series: { time: string; data: Record<string, unknown> }[];
  results: { data: Record<string, unknown> }[];
}

export interface QueryResult {
  id: string;
  complete: boolean;
  data?: ResultData;
}

// groupKey names a result group by its breakdown values.
export function groupKey(breakdowns: string[], data: Record<string, unknown>): string {
  if (breakdowns.length === 0) return "all";
  return breakdowns.map((b) => (data[b] === null || data[b] === undefined ? "(none)" : String(data[b]))).join(", ");
}

// groupFilters are filters that select one group's events.
export function groupFilters(breakdowns: string[], data: Record<string, unknown>): Filter[] {
  return breakdowns.map((b) => (data[b] === null || data[b] === undefined ? { column: b, op: "does-not-exist" } : { column: b, op: "=", value: data[b] }));
}

// runQuery creates the query, runs it and polls until complete.
export async function runQuery(dataset: string, spec: Spec, opts: { disable_series?: boolean } = {}): Promise<ResultData> {
  const q = await hc.post<{ id: string }>(`/1/queries/${encodeURIComponent(dataset)}`, spec);
  let r = await hc.post<QueryResult>(`/1/query_results/${encodeURIComponent(dataset)}`, { query_id: q.id, ...opts });
  for (let i = 0; !r.complete && i < 100; i++) {
    await new Promise((res) => setTimeout(res, 250));
    r = await hc.get<QueryResult>(`/1/query_results/${encodeURIComponent(dataset)}/${r.id}`);
  }
  if (!r.complete || !r.data) throw new Error("the query did not complete");
  return r.data;
}

