// Turns a trace's flat Honeycomb events into a span tree.
import type { HEvent } from "./api";

export interface Span {
  id: string;
  parent: string;
  name: string;
  service: string;
  // Which SDK or API produced the span ("otlp", "xray", "events") and which
  // service's doors it was sent to ("honeycomb", "xray"); "" when the
  // server does not say.
  source: string;
  door: string;
  start: number; // ms since the epoch, sub-ms precision kept
  dur: number; // ms
  error: boolean;
  ev: HEvent;
  children: Span[];
  events: HEvent[]; // span events
  logs: HEvent[]; // log records written inside the span (OTLP logs with its trace context)
  links: HEvent[];
  depth: number;
  count: number; // spans in this subtree, itself included
}

export interface Tree {
  roots: Span[];
  spans: Span[];
  start: number;
  end: number;
  services: string[];
  sources: string[]; // the spans' sources, sorted
}

// parseTime reads an RFC 3339 timestamp keeping digits past the
// millisecond (Date.parse drops them), or a number of epoch seconds/ms.
export function parseTime(v: unknown): number {
  if (typeof v === "number") return v > 1e12 ? v : v * 1000;
  if (typeof v !== "string") return NaN;
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(v);
  if (!m) return Date.parse(v);
  const base = Date.parse(m[1] + (m[3] || "Z"));
  const frac = m[2] ? parseFloat("0" + m[2]) * 1000 : 0;
  return base + frac;
}

const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));

export function isError(ev: HEvent): boolean {
  if (ev["error"] === true || ev["error"] === "true") return true;
  const sc = ev["status_code"];
  if (sc === 2 || sc === "2" || sc === "ERROR" || sc === "STATUS_CODE_ERROR") return true;
  return ev["aws.xray.fault"] === true || ev["fault"] === true;
}

// isLog tells a log record from a span event: Honeycomb stores a log that
// carries trace context as a span event of its span (trace.parent_id is
// the span's id), with meta.signal_type "log".
export function isLog(ev: HEvent): boolean {
  return str(ev["meta.signal_type"]) === "log";
}

// logSeverity is a log's severity in lower case (trace, debug, info, warn,
// error, fatal), "" when it has none.
export function logSeverity(ev: HEvent): string {
  const sev = str(ev["severity"]).toLowerCase();
  if (sev && sev !== "unspecified") return sev;
  return str(ev["severity_text"]).toLowerCase();
}

// logMessage is the text a log says: its body (a kvlist body's message or
// msg field when it has one), else its event name.
export function logMessage(ev: HEvent): string {
  for (const k of ["body.message", "body.msg", "body"]) {
    const v = ev[k];
    if (v !== undefined && v !== null && v !== "") return typeof v === "string" ? v.trim() : JSON.stringify(v);
  }
  return str(ev["event.name"]) || str(ev["name"]) || "(empty log)";
}

// eventLabel names a span event or log for the waterfall: a log's severity
// and message, an event's name.
export function eventLabel(ev: HEvent): string {
  if (!isLog(ev)) return str(ev["name"]) || "event";
  const sev = logSeverity(ev);
  return (sev ? sev.toUpperCase() + " " : "") + logMessage(ev);
}

export function buildTree(events: HEvent[]): Tree {
  const byId = new Map<string, Span>();
  const spans: Span[] = [];
  const annotations: HEvent[] = [];
  for (const ev of events) {
    const kind = str(ev["meta.annotation_type"]);
    if (kind === "span_event" || kind === "link") {
      annotations.push(ev);
      continue;
    }
    const start = parseTime(ev["timestamp"]);
    const dur = Number(ev["duration_ms"] ?? 0) || 0;
    const s: Span = {
      id: str(ev["trace.span_id"]),
      parent: str(ev["trace.parent_id"]),
      name: str(ev["name"]) || "(unnamed)",
      service: str(ev["service.name"]),
      source: str(ev["meta.tracecomb.source"]),
      door: str(ev["meta.tracecomb.door"]),
      start,
      dur,
      error: isError(ev),
      ev,
      children: [],
      events: [],
      logs: [],
      links: [],
      depth: 0,
      count: 1,
    };
    spans.push(s);
    if (s.id && !byId.has(s.id)) byId.set(s.id, s);
  }
  for (const a of annotations) {
    const owner = byId.get(str(a["trace.parent_id"]));
    if (!owner) continue;
    if (str(a["meta.annotation_type"]) === "link") owner.links.push(a);
    else if (isLog(a)) owner.logs.push(a);
    else owner.events.push(a);
  }
  const roots: Span[] = [];
  for (const s of spans) {
    const p = s.parent && s.parent !== s.id ? byId.get(s.parent) : undefined;
    if (p && p !== s) p.children.push(s);
    else roots.push(s);
  }
  const byStart = (a: Span, b: Span) => a.start - b.start || a.name.localeCompare(b.name);
  roots.sort(byStart);
  // Depths and subtree sizes, iteratively (traces can be deep); a cycle
  // in bad data is cut by the visited set.
  const visited = new Set<Span>();
  const order: Span[] = [];
  const stack = roots.map((r) => r).reverse();
  while (stack.length) {
    const s = stack.pop()!;
    if (visited.has(s)) continue;
    visited.add(s);
    order.push(s);
    s.children.sort(byStart);
    for (let i = s.children.length - 1; i >= 0; i--) {
      s.children[i].depth = s.depth + 1;
      stack.push(s.children[i]);
    }
  }
  // Spans caught in a parent cycle become roots.
  for (const s of spans) {
    if (!visited.has(s)) {
      s.depth = 0;
      s.children = [];
      roots.push(s);
      visited.add(s);
      order.push(s);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i];
    s.count = 1 + s.children.reduce((n, c) => n + c.count, 0);
  }
  let start = Infinity,
    end = -Infinity;
  const services = new Set<string>();
  const sources = new Set<string>();
  for (const s of spans) {
    if (s.source) sources.add(s.source);
    if (isFinite(s.start)) {
      start = Math.min(start, s.start);
      end = Math.max(end, s.start + s.dur);
    }
    if (s.service) services.add(s.service);
  }
  if (!isFinite(start)) start = end = 0;
  return { roots, spans, start, end, services: [...services].sort(), sources: [...sources].sort() };
}

// SOURCES names what produced a span, for its badge.
export const SOURCES: Record<string, { badge: string; title: string }> = {
  otlp: { badge: "OTel", title: "an OpenTelemetry SDK (OTLP)" },
  xray: { badge: "X-Ray", title: "an X-Ray SDK (segment documents)" },
  events: { badge: "Events", title: "Honeycomb's Events API" },
};

export const DOOR_NAMES: Record<string, string> = { honeycomb: "Honeycomb", xray: "X-Ray" };

// visibleRows lists the spans shown when the spans in collapsed hide their
// subtrees, in tree order.
export function visibleRows(roots: Span[], collapsed: Set<Span>): Span[] {
  const out: Span[] = [];
  const stack = [...roots].reverse();
  const seen = new Set<Span>();
  while (stack.length) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(s);
    if (collapsed.has(s)) continue;
    for (let i = s.children.length - 1; i >= 0; i--) stack.push(s.children[i]);
  }
  return out;
}

// fieldText is a field's value as the search and the field sidebar read it.
export function fieldText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// searchTexts caches each span's searchable text: its name, service and
// every field's value, in lower case, one per line.
const searchTexts = new WeakMap<Span, string>();

function searchText(s: Span): string {
  let t = searchTexts.get(s);
  if (t === undefined) {
    const parts = [s.name, s.service];
    for (const k in s.ev) parts.push(fieldText(s.ev[k]));
    t = parts.join("\n").toLowerCase();
    searchTexts.set(s, t);
  }
  return t;
}

// spanMatcher reads a search of a trace's spans. "field = value" matches
// the spans whose field, as text, is value (case-insensitive; quotes
// around value are dropped); any other text matches the spans whose name,
// service or a field's value contains it (case-insensitive). An empty
// search is null.
export function spanMatcher(query: string): ((s: Span) => boolean) | null {
  const q = query.trim();
  if (!q) return null;
  const m = /^([^\s=!<>"']+)\s*=\s*(.+)$/.exec(q);
  if (m) {
    const field = m[1];
    let want = m[2].trim();
    if (want.length >= 2 && (want[0] === '"' || want[0] === "'") && want[want.length - 1] === want[0]) want = want.slice(1, -1);
    want = want.toLowerCase();
    return (s) => {
      const v = s.ev[field];
      return v !== undefined && v !== null && fieldText(v).toLowerCase() === want;
    };
  }
  const needle = q.toLowerCase();
  return (s) => searchText(s).includes(needle);
}

// parents maps each span of the tree to its parent span.
export function parents(tree: Tree): Map<Span, Span> {
  const m = new Map<Span, Span>();
  for (const s of tree.spans) for (const c of s.children) m.set(c, s);
  return m;
}

const spanEnd = (s: Span) => s.start + s.dur;

// criticalPath is the set of spans on the trace's critical path: the chain
// of work that the trace's end waited for. From the first root (the
// earliest), walking back from a span's end: the child that ended last
// before the cursor is on the path (its end clamped to the cursor), the
// cursor moves to that child's start, and so on until the span's start;
// each child on the path is walked the same way. Children that start after
// the cursor are off the path (nothing waited for them). Iterative, so a
// trace of any depth is walked.
export function criticalPath(tree: Tree): Set<Span> {
  const out = new Set<Span>();
  const root = tree.roots[0];
  if (!root || !isFinite(root.start)) return out;
  const stack: { s: Span; cursor: number }[] = [{ s: root, cursor: spanEnd(root) }];
  while (stack.length) {
    const { s, cursor } = stack.pop()!;
    if (out.has(s)) continue;
    out.add(s);
    const kids = s.children.filter((k) => isFinite(k.start)).sort((a, b) => spanEnd(b) - spanEnd(a) || b.start - a.start);
    let cur = Math.min(cursor, spanEnd(s));
    for (const k of kids) {
      if (cur <= s.start) break;
      if (k.start >= cur) continue;
      stack.push({ s: k, cursor: Math.min(spanEnd(k), cur) });
      cur = k.start;
    }
  }
  return out;
}

// Link is a span link: the trace and span it points at.
export interface Link {
  traceId: string;
  spanId: string;
  ev: HEvent;
}

// spanLinks reads a span's links (Honeycomb's link events carry
// trace.link.trace_id and trace.link.span_id).
export function spanLinks(s: Span): Link[] {
  return s.links.map((ev) => ({ traceId: str(ev["trace.link.trace_id"]), spanId: str(ev["trace.link.span_id"]), ev })).filter((l) => l.traceId !== "");
}
