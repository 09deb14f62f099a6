// Compares two traces as one merged tree: spans are matched by service and
// name along their path from the root, so that repeated calls of one path
// (a loop, a retry) are added up on each side.
import type { Span, Tree } from "./trace";

// Side is what one trace has at a path: how many spans, their summed
// duration (ms), whether any of them failed, and the spans themselves.
export interface Side {
  count: number;
  dur: number;
  error: boolean;
  spans: Span[];
}

export interface CompareNode {
  id: string; // the path: the [service, name] of every step from the root, as JSON
  service: string;
  name: string;
  depth: number;
  a: Side | null; // null: the path is only in B
  b: Side | null; // null: the path is only in A
  children: CompareNode[];
}

export type Status = "only-a" | "only-b" | "slower" | "faster" | "same";

// Threshold: B differs from A when the difference is more than pct percent
// of A's duration and more than ms milliseconds.
export interface Threshold {
  pct: number;
  ms: number;
}

export const DEFAULT_THRESHOLD: Threshold = { pct: 10, ms: 1 };

const keyOf = (s: Span) => JSON.stringify([s.service, s.name]);

function side(spans: Span[]): Side | null {
  if (spans.length === 0) return null;
  return { count: spans.length, dur: spans.reduce((n, s) => n + s.dur, 0), error: spans.some((s) => s.error), spans };
}

// group splits spans by service and name, keeping the order in which each
// pair first appears.
function group(spans: Span[]): Map<string, Span[]> {
  const m = new Map<string, Span[]>();
  for (const s of spans) {
    const k = keyOf(s);
    const g = m.get(k);
    if (g) g.push(s);
    else m.set(k, [s]);
  }
  return m;
}

// merge builds the merged nodes for the spans of A and of B found at one
// path; the children of a node are those of all its spans on each side.
// It runs with an explicit stack, as traces can be deep.
function merge(aSpans: Span[], bSpans: Span[]): CompareNode[] {
  const top: CompareNode[] = [];
  const work: { aSpans: Span[]; bSpans: Span[]; parentId: string; depth: number; out: CompareNode[] }[] = [{ aSpans, bSpans, parentId: "", depth: 0, out: top }];
  while (work.length) {
    const w = work.pop()!;
    const ga = group(w.aSpans);
    const gb = group(w.bSpans);
    const keys = [...ga.keys()];
    for (const k of gb.keys()) if (!ga.has(k)) keys.push(k);
    for (const k of keys) {
      const as = ga.get(k) ?? [];
      const bs = gb.get(k) ?? [];
      const first = as[0] ?? bs[0];
      const id = w.parentId ? w.parentId.slice(0, -1) + "," + k + "]" : "[" + k + "]";
      const node: CompareNode = { id, service: first.service, name: first.name, depth: w.depth, a: side(as), b: side(bs), children: [] };
      w.out.push(node);
      const ca = as.flatMap((s) => s.children);
      const cb = bs.flatMap((s) => s.children);
      if (ca.length || cb.length) work.push({ aSpans: ca, bSpans: cb, parentId: id, depth: w.depth + 1, out: node.children });
    }
  }
  return top;
}

// compareTrees merges trace A's and trace B's span trees.
export function compareTrees(a: Tree, b: Tree): CompareNode[] {
  return merge(a.roots, b.roots);
}

// diff is B's duration less A's at a node, in ms: for a path only in one
// trace, the time that trace alone spends there (negative for A).
export function diff(n: CompareNode): number {
  return (n.b?.dur ?? 0) - (n.a?.dur ?? 0);
}

// pct is the difference as a percentage of A's duration; null when the
// path is only in one trace or A's duration is 0.
export function pct(n: CompareNode): number | null {
  if (!n.a || !n.b || n.a.dur === 0) return null;
  return ((n.b.dur - n.a.dur) / n.a.dur) * 100;
}

export function status(n: CompareNode, t: Threshold = DEFAULT_THRESHOLD): Status {
  if (!n.b) return "only-a";
  if (!n.a) return "only-b";
  const d = diff(n);
  if (Math.abs(d) <= t.ms) return "same";
  const p = pct(n);
  // A's duration is 0 and B's is not: any difference past ms counts.
  if (p !== null && Math.abs(p) <= t.pct) return "same";
  return d > 0 ? "slower" : "faster";
}

// flatten lists the nodes in tree order (each node before its children).
export function flatten(roots: CompareNode[]): CompareNode[] {
  const out: CompareNode[] = [];
  const stack = [...roots].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out;
}

export type SortKey = "tree" | "diff-desc" | "diff-asc" | "abs-diff" | "pct-desc";

// sortRows orders the flattened nodes: "tree" keeps tree order, the others
// order by the difference (B slower first, B faster first, the largest
// either way first) or by its percentage (nodes without one last); ties
// keep tree order.
export function sortRows(rows: CompareNode[], key: SortKey): CompareNode[] {
  if (key === "tree") return rows;
  const val = (n: CompareNode): number => {
    switch (key) {
      case "diff-desc":
        return -diff(n);
      case "diff-asc":
        return diff(n);
      case "abs-diff":
        return -Math.abs(diff(n));
      case "pct-desc": {
        const p = pct(n);
        return p === null ? Infinity : -p;
      }
    }
  };
  const idx = new Map(rows.map((n, i) => [n, i]));
  return [...rows].sort((x, y) => {
    const vx = val(x),
      vy = val(y);
    return vx === vy ? idx.get(x)! - idx.get(y)! : vx < vy ? -1 : 1;
  });
}

export interface Summary {
  aTotal: number; // ms from the trace's first span start to its last span end
  bTotal: number;
  aSpans: number;
  bSpans: number;
  onlyA: number; // spans of A at paths B does not have
  onlyB: number;
  slower: number; // paths at which B is slower past the threshold
  faster: number;
  biggest: CompareNode[]; // paths in both traces, largest difference first
}

const total = (t: Tree) => Math.max(t.end - t.start, 0);

// summarize counts what differs between the traces; biggest lists up to
// top paths present in both whose duration differs, the largest difference
// (either way) first.
export function summarize(a: Tree, b: Tree, roots: CompareNode[], t: Threshold = DEFAULT_THRESHOLD, top = 5): Summary {
  const rows = flatten(roots);
  let onlyA = 0,
    onlyB = 0,
    slower = 0,
    faster = 0;
  for (const n of rows) {
    const st = status(n, t);
    if (st === "only-a") onlyA += n.a!.count;
    else if (st === "only-b") onlyB += n.b!.count;
    else if (st === "slower") slower++;
    else if (st === "faster") faster++;
  }
  const biggest = sortRows(
    rows.filter((n) => n.a && n.b && diff(n) !== 0),
    "abs-diff",
  ).slice(0, top);
  return { aTotal: total(a), bTotal: total(b), aSpans: a.spans.length, bSpans: b.spans.length, onlyA, onlyB, slower, faster, biggest };
}

// pathNames lists the "service name" of each step of a node's path.
export function pathNames(n: CompareNode): string[] {
  const steps = JSON.parse(n.id) as [string, string][];
  return steps.map(([service, name]) => (service ? `${service} ${name}` : name));
}
