// Calls to the UI door's JSON API (/ui-api/...). Every call carries the
// X-Tracecomb-UI header the door requires, and the selected environment.

/** One invalid field of a 422 answer (the problem body's type_detail). */
export interface ProblemField {
  field: string;
  code: string;
  description: string;
}

export class APIError extends Error {
  constructor(
    public status: number,
    message: string,
    public code = "",
    public fields: ProblemField[] = [],
  ) {
    super(message);
  }
}

const ENV_KEY = "tracecomb.env";

export function selectedEnv(): string {
  return localStorage.getItem(ENV_KEY) ?? "";
}

export function selectEnv(slug: string) {
  localStorage.setItem(ENV_KEY, slug);
}

async function call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
  const headers: Record<string, string> = { ...extra, "X-Tracecomb-UI": "1" };
  const env = selectedEnv();
  if (env) headers["X-Tracecomb-Env"] = env;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/ui-api" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: text };
    }
  }
  if (!res.ok) {
    const msg = data?.error ?? data?.Message ?? data?.message ?? data?.detail ?? data?.title ?? res.statusText;
    const code = res.headers.get("X-Amzn-ErrorType")?.split(":")[0] ?? data?.__type ?? "";
    const fields = Array.isArray(data?.type_detail) ? (data.type_detail as ProblemField[]) : [];
    throw new APIError(res.status, String(msg), code, fields);
  }
  return data as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>("POST", path, body, headers);
export const put = <T>(path: string, body?: unknown) => call<T>("PUT", path, body);
export const del = <T>(path: string) => call<T>("DELETE", path);

// Honeycomb-side API (forwarded to the API door).
export const hc = {
  get: <T>(path: string) => get<T>("/hc" + path),
  post: <T>(path: string, body?: unknown) => post<T>("/hc" + path, body),
  put: <T>(path: string, body?: unknown) => put<T>("/hc" + path, body),
  del: <T>(path: string) => del<T>("/hc" + path),
};

/** A path segment: a dataset slug, an id. */
export const seg = (s: string) => encodeURIComponent(s);

// Which data the X-Ray views read, on the UI door only (header
// X-Tracecomb-Doors): "xray", what was sent to X-Ray's doors, as AWS X-Ray
// shows it (the default); "honeycomb", the same views computed over the
// OpenTelemetry data sent to Honeycomb's doors; "honeycomb,xray", both.
export type Doors = "xray" | "honeycomb" | "honeycomb,xray";
export const DOORS: Doors[] = ["xray", "honeycomb", "honeycomb,xray"];

// X-Ray API (forwarded to the X-Ray handler).
export const xray = <T>(op: string, body: unknown = {}, doors?: Doors) => post<T>("/xray/" + op, body, doors ? { "X-Tracecomb-Doors": doors } : undefined);

export interface Env {
  slug: string;
  name: string;
}

export interface Session {
  mode: "open" | "login";
  logged_in: boolean;
  /** logged in with a key (key management needs it, in open mode too) */
  key_login: boolean;
  team?: string;
  env?: Env;
  environments: Env[];
  endpoints: { otlp_http: string; otlp_grpc: string; xray_daemon: string };
  xray: boolean;
}

export interface Dataset {
  name: string;
  slug: string;
  description: string;
  created_at: string;
  last_written_at: string | null;
  regular_columns_count: number | null;
}

export interface Column {
  id: string;
  key_name: string;
  type: string;
  hidden: boolean;
  last_written: string;
}

export interface KeyInfo {
  id: string;
  env: string;
  name: string;
  /** ingest, configuration, management, or "" for a key that may do everything */
  kind: string;
  permissions?: string[];
  created_at: string;
  revoked_at?: string;
  current?: boolean;
}

export type HEvent = Record<string, unknown>;

export interface TraceResponse {
  trace_id: string;
  events: HEvent[];
  // The doors the trace's events were sent to: "honeycomb", "xray".
  doors?: string[];
}

/** Retention bounds: max_age a duration ("168h", "0" for none), max_bytes 0 for none. */
export interface RetentionBounds {
  max_age: string;
  max_age_seconds: number;
  max_bytes: number;
}

/** An environment's retention as GET /ui-api/settings/retention reports it. */
export interface RetentionInfo extends RetentionBounds {
  env: string;
  name: string;
  /** "environment": its own setting; "default": the --retention-* flags */
  source: "environment" | "default";
  default: RetentionBounds;
  /** the environment's data in the store's file (checkpointed data) */
  data_bytes: number;
  /** recent data of every environment not yet in the file */
  wal_bytes: number;
  oldest?: string;
  measured_at?: string;
  last_enforced_at?: string;
  interval_seconds: number;
  deleted_events: number;
}

/** A recipient of trigger notifications (/1/recipients). */
export interface Recipient {
  id: string;
  type: "email" | "webhook" | "slack" | "pagerduty" | "msteams" | "msteams_workflow";
  details: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** A marker (/1/markers/{dataset}): times in Unix seconds, color from its type's marker setting. */
export interface Marker {
  id: string;
  start_time: number;
  end_time?: number;
  message: string;
  type: string;
  url: string;
  color: string;
}

/** The part of a query's events BubbleUp explains (POST /1/bubbleup/{dataset}): times in Unix seconds, a value range of a numeric column (inclusive), a group of the query's breakdowns. */
export interface BubbleUpSelection {
  start_time?: number;
  end_time?: number;
  column?: string;
  min?: number;
  max?: number;
  group?: { column: string; value: unknown }[];
}

/** The parts of the selection's and of the baseline's events with a value. */
export interface BubbleUpShares {
  selection: number;
  baseline: number;
  selection_count: number;
  baseline_count: number;
}

/** One column's comparison: values (categorical) or buckets (numeric). */
export interface BubbleUpColumn {
  column: string;
  type: "categorical" | "numeric";
  score: number;
  values?: (BubbleUpShares & { value: unknown })[];
  buckets?: (BubbleUpShares & { lower: number; upper: number })[];
  other?: BubbleUpShares;
  missing?: BubbleUpShares;
}

export interface BubbleUpResult {
  selection_count: number;
  baseline_count: number;
  columns: BubbleUpColumn[];
}

/** bubbleUp compares a selection of the query's events with the rest, column by column. */
export const bubbleUp = (dataset: string, query: unknown, selection: BubbleUpSelection) =>
  hc.post<BubbleUpResult>(`/1/bubbleup/${seg(dataset)}`, { query, selection });
