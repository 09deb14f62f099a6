import { memo, useCallback, useDeferredValue, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { hc, type HEvent, type TraceResponse } from "../api";
import { buildTree, criticalPath, DOOR_NAMES, eventLabel, fieldText, logMessage, logSeverity, parents, parseTime, SOURCES, spanLinks, spanMatcher, visibleRows, type Span, type Tree } from "../trace";
import { colorFor, ErrorBox, fmtDuration } from "../ui";
import { Link, navigate } from "../router";

const ROW = 24; // px per waterfall row
const OVERSCAN = 12;

export function TracePage({ id }: { id: string }) {
  const [data, setData] = useState<TraceResponse | null>(null);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => {
    setData(null);
    setErr(null);
    hc.get<TraceResponse>("/api/traces/" + encodeURIComponent(id)).then(setData, setErr);
  }, [id]);
  const tree = useMemo(() => (data ? buildTree(data.events) : null), [data]);
  if (err) return <ErrorBox error={err} />;
  if (!tree || !data) return <div className="loading">Loading trace…</div>;
  return <Waterfall traceId={data.trace_id} tree={tree} doors={data.doors ?? []} />;
}

export function SourceBadge({ span }: { span: Span }) {
  const src = SOURCES[span.source];
  if (!src) return null;
  const door = DOOR_NAMES[span.door];
  return (
    <span className={"src-badge src-" + span.source} title={`Produced by ${src.title}${door ? `, sent to ${door}'s doors` : ""}`} data-testid="source-badge">
      {src.badge}
    </span>
  );
}

// spanFromURL is the span the page's ?span= names, if the trace has it.
function spanFromURL(tree: Tree): Span | null {
  const id = new URLSearchParams(window.location.search).get("span");
  return id ? (tree.spans.find((s) => s.id === id) ?? null) : null;
}

// selectInURL records the selected span in the address (?span=), replacing
// the history entry, so that the address links to it. It goes around the
// router on purpose: no page reads the parameter but this one, on load.
function selectInURL(s: Span) {
  const u = new URL(window.location.href);
  u.searchParams.set("span", s.id);
  history.replaceState(history.state, "", u);
}

// CompareWith asks for another trace id and opens the comparison of this
// trace (A) with it (B).
function CompareWith({ traceId }: { traceId: string }) {
  const [open, setOpen] = useState(false);
  const [other, setOther] = useState("");
  if (!open)
    return (
      <button type="button" className="small" data-testid="compare-with" onClick={() => setOpen(true)}>
        Compare with…
      </button>
    );
  return (
    <form
      className="compare-with"
      onSubmit={(e) => {
        e.preventDefault();
        if (other.trim()) navigate("/compare?" + new URLSearchParams({ a: traceId, b: other.trim() }).toString());
      }}
    >
      <input name="compare-b" aria-label="Trace id to compare with" placeholder="another trace id" value={other} onChange={(e) => setOther(e.target.value)} autoFocus size={34} />
      <button type="submit" className="small" disabled={!other.trim()}>Compare</button>
      <button type="button" className="small" onClick={() => setOpen(false)}>Cancel</button>
    </form>
  );
}

const isTyping = (t: EventTarget | null) => t instanceof HTMLElement && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);

function Waterfall({ traceId, tree, doors }: { traceId: string; tree: Tree; doors: string[] }) {
  const linked = useMemo(() => spanFromURL(tree), [tree]);
  const [collapsed, setCollapsed] = useState<Set<Span>>(() => new Set());
  const [selected, setSelected] = useState<Span | null>(linked ?? tree.roots[0] ?? null);
  // The span to bring into view once the rows that show it are drawn.
  const [focus, setFocus] = useState<{ span: Span } | null>(linked ? { span: linked } : null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [query, setQuery] = useState("");
  const [matchPos, setMatchPos] = useState(-1);
  const [showCritical, setShowCritical] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const rows = useMemo(() => visibleRows(tree.roots, collapsed), [tree, collapsed]);
  // Every span in tree order, collapsed or not, and its place in it.
  const order = useMemo(() => visibleRows(tree.roots, new Set()), [tree]);
  const place = useMemo(() => new Map(order.map((s, i) => [s, i])), [order]);
  const parentOf = useMemo(() => parents(tree), [tree]);
  const total = Math.max(tree.end - tree.start, 1e-3);
  const errorSpans = useMemo(() => order.filter((s) => s.error), [order]);
  const logs = useMemo(() => tree.spans.reduce((n, s) => n + s.logs.length, 0), [tree]);
  const bySource = useMemo(() => {
    const m = new Map<string, number>();
    for (const s of tree.spans) if (s.source) m.set(s.source, (m.get(s.source) ?? 0) + 1);
    return m;
  }, [tree]);
  const joined = doors.includes("honeycomb") && doors.includes("xray");
  const root = tree.roots[0];

  // The search runs over every span, on the deferred value React gives
  // while typing goes on; of the rows, only those drawn (a window of about
  // 60) depend on its result.
  const deferredQuery = useDeferredValue(query);
  const matches = useMemo(() => {
    const f = spanMatcher(deferredQuery);
    return f ? order.filter(f) : null;
  }, [deferredQuery, order]);
  const matchSet = useMemo(() => (matches ? new Set(matches) : null), [matches]);
  const current = matches && matchPos >= 0 ? (matches[matchPos] ?? null) : null;
  // The critical path is walked only once asked for.
  const critical = useMemo(() => (showCritical ? criticalPath(tree) : null), [showCritical, tree]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // reveal expands the collapsed ancestors of s and scrolls it into view.
  const reveal = useCallback(
    (s: Span) => {
      setCollapsed((c) => {
        let next = c;
        for (let p = parentOf.get(s); p; p = parentOf.get(p)) {
          if (next.has(p)) {
            if (next === c) next = new Set(c);
            next.delete(p);
          }
        }
        return next;
      });
      setFocus({ span: s });
    },
    [parentOf],
  );

  const select = useCallback((s: Span) => {
    setSelected(s);
    selectInURL(s);
  }, []);

  // jumpTo selects and shows the span of this trace with the given id.
  const byId = useMemo(() => new Map(tree.spans.map((s) => [s.id, s])), [tree]);
  const jumpTo = useCallback(
    (spanId: string) => {
      const s = byId.get(spanId);
      if (!s) return false;
      select(s);
      reveal(s);
      return true;
    },
    [byId, select, reveal],
  );
  // linkedFrom lists, for each span, the spans of this trace that link to it.
  const linkedFrom = useMemo(() => {
    const m = new Map<string, Span[]>();
    for (const s of tree.spans)
      for (const l of spanLinks(s))
        if (l.traceId === traceId && l.spanId) {
          const list = m.get(l.spanId) ?? [];
          list.push(s);
          m.set(l.spanId, list);
        }
    return m;
  }, [tree, traceId]);

  // A new search makes its first match the current one and shows it.
  useEffect(() => {
    if (matches && matches.length > 0) {
      setMatchPos(0);
      reveal(matches[0]);
    } else setMatchPos(-1);
  }, [matches, reveal]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!focus || !el) return;
    const idx = rows.indexOf(focus.span);
    if (idx >= 0) {
      const top = idx * ROW;
      if (top < el.scrollTop || top + ROW > el.scrollTop + el.clientHeight) {
        el.scrollTop = Math.max(0, top - el.clientHeight / 2 + ROW / 2);
        setScrollTop(el.scrollTop);
      }
    }
    setFocus(null);
  }, [focus, rows]);

  const stepMatch = (dir: 1 | -1) => {
    if (!matches || matches.length === 0) return;
    const i = (matchPos + dir + matches.length) % matches.length;
    setMatchPos(i);
    select(matches[i]);
    reveal(matches[i]);
  };

  // stepError selects the next (or previous) error span after the selected
  // span in tree order, going round at the ends.
  const stepError = (dir: 1 | -1) => {
    const n = errorSpans.length;
    if (n === 0) return;
    const at = selected ? (place.get(selected) ?? -1) : -1;
    let i: number;
    if (dir === 1) {
      i = errorSpans.findIndex((s) => place.get(s)! > at);
      if (i < 0) i = 0;
    } else {
      i = -1;
      for (let j = n - 1; j >= 0; j--) {
        if (place.get(errorSpans[j])! < at) {
          i = j;
          break;
        }
      }
      if (i < 0) i = n - 1;
    }
    select(errorSpans[i]);
    reveal(errorSpans[i]);
  };
  const errorIndex = selected && selected.error ? errorSpans.indexOf(selected) : -1;

  // Keys: "e" / "E" next / previous error, "/" the search box.
  const keys = useRef<(e: KeyboardEvent) => void>(() => {});
  keys.current = (e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    if (e.key === "e" || e.key === "E") {
      e.preventDefault();
      stepError(e.key === "E" ? -1 : 1);
    } else if (e.key === "/") {
      e.preventDefault();
      searchBox.current?.focus();
    }
  };
  useEffect(() => {
    const on = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (el) setScrollTop(el.scrollTop);
  };

  const toggle = useCallback((s: Span) => {
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(s)) next.delete(s);
      else next.add(s);
      return next;
    });
  }, []);
  const collapseAll = () => setCollapsed(new Set(tree.spans.filter((s) => s.children.length > 0 && s.depth >= 1)));

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <div className="trace">
      <div className="trace-head">
        <h2>
          Trace <code data-testid="trace-id">{traceId}</code> <CompareWith traceId={traceId} />
        </h2>
        {joined && (
          <div className="notice joined-note" data-testid="joined-note">
            <b>tracecomb's joined view:</b> spans from Honeycomb and X-Ray joined by trace id — each service alone shows only its own. Each span is marked with the SDK that produced it.
          </div>
        )}
        <div className="trace-summary" data-testid="trace-summary">
          {root && (
            <span className="root">
              <i className="svc-dot" style={{ background: colorFor(root.service) }} /> <b data-testid="root-service">{root.service || "(no service)"}</b> <span data-testid="root-name">{root.name}</span>
            </span>
          )}
          <span data-testid="trace-duration">{fmtDuration(total)}</span>
          <span data-testid="span-count">{tree.spans.length} spans</span>
          <span data-testid="service-count">
            {tree.services.length} {tree.services.length === 1 ? "service" : "services"}
          </span>
          <span data-testid="error-count" className={errorSpans.length > 0 ? "err-text" : ""}>
            {errorSpans.length} {errorSpans.length === 1 ? "error" : "errors"}
          </span>
          <span className="muted">{new Date(tree.start).toISOString()}</span>
        </div>
        <div className="trace-stats">
          {logs > 0 && <span data-testid="log-count">{logs} {logs === 1 ? "log" : "logs"}</span>}
          {bySource.size > 0 && (
            <span className="legend" data-testid="source-legend">
              {[...bySource].map(([src, n]) => (
                <span key={src} className="svc">
                  <span className={"src-badge src-" + src}>{SOURCES[src]?.badge ?? src}</span>
                  {n}
                </span>
              ))}
            </span>
          )}
          <span className="legend">
            {tree.services.map((s) => (
              <span key={s} className="svc">
                <i style={{ background: colorFor(s) }} />
                {s}
              </span>
            ))}
          </span>
          <button className="small" onClick={() => setCollapsed(new Set())}>Expand all</button>
          <button className="small" onClick={collapseAll}>Collapse all</button>
          <button className={"small" + (showCritical ? " on" : "")} aria-pressed={showCritical} data-testid="critical-toggle" onClick={() => setShowCritical((v) => !v)}>
            Critical path
          </button>
          {critical && (
            <span className="muted" data-testid="critical-count">
              {critical.size} {critical.size === 1 ? "span" : "spans"} on the critical path
            </span>
          )}
        </div>
        <div className="trace-tools">
          <input
            ref={searchBox}
            type="search"
            className="trace-search"
            placeholder="Search spans: text, or field = value  ( / )"
            aria-label="Search spans"
            data-testid="trace-search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                stepMatch(e.shiftKey ? -1 : 1);
              } else if (e.key === "Escape") setQuery("");
            }}
          />
          <span className="muted" data-testid="search-count">
            {matches ? (matches.length === 0 ? "no matches" : `${matchPos + 1} of ${matches.length}`) : ""}
          </span>
          <button className="small" aria-label="Previous match" title="Previous match (Shift+Enter)" disabled={!matches?.length} onClick={() => stepMatch(-1)}>
            ▲
          </button>
          <button className="small" aria-label="Next match" title="Next match (Enter)" disabled={!matches?.length} onClick={() => stepMatch(1)}>
            ▼
          </button>
          <span className="sep" />
          <button className="small" aria-label="Previous error" title="Previous error (Shift+E)" disabled={errorSpans.length === 0} onClick={() => stepError(-1)}>
            ◀ error
          </button>
          <button className="small" aria-label="Next error" title="Next error (E)" disabled={errorSpans.length === 0} onClick={() => stepError(1)}>
            error ▶
          </button>
          <span className={errorSpans.length > 0 ? "err-text" : "muted"} data-testid="error-pos">
            {errorIndex >= 0 ? `error ${errorIndex + 1} of ${errorSpans.length}` : errorSpans.length === 0 ? "no errors" : `${errorSpans.length} ${errorSpans.length === 1 ? "error" : "errors"}`}
          </span>
        </div>
      </div>
      <div className="trace-body">
        <div className="waterfall">
          <Minimap rows={rows} t0={tree.start} total={total} critical={critical} scrollTop={scrollTop} height={height} scroller={scroller} />
          <div className="wf-axis">
            <div className="wf-name">Span</div>
            <div className="wf-bars">
              {ticks.map((t) => (
                <span key={t} style={{ left: `${t * 100}%` }}>{fmtDuration(t * total)}</span>
              ))}
            </div>
          </div>
          <div className="wf-scroll" ref={scroller} onScroll={onScroll} data-testid="waterfall">
            <div style={{ height: rows.length * ROW, position: "relative" }}>
              {rows.slice(first, last).map((s, i) => {
                const idx = first + i;
                return (
                  <Row
                    key={idx + ":" + s.id}
                    span={s}
                    idx={idx}
                    t0={tree.start}
                    total={total}
                    selected={selected === s}
                    mark={matchSet ? (matchSet.has(s) ? "match" : "dimmed") : critical && !critical.has(s) ? "dimmed" : ""}
                    critical={critical ? critical.has(s) : false}
                    current={current === s}
                    collapsed={collapsed.has(s)}
                    onSelect={select}
                    onToggle={toggle}
                  />
                );
              })}
            </div>
          </div>
        </div>
        {selected && <Detail span={selected} t0={tree.start} traceId={traceId} jumpTo={jumpTo} linkedFrom={linkedFrom.get(selected.id) ?? []} />}
      </div>
    </div>
  );
}

interface RowProps {
  span: Span;
  idx: number;
  t0: number;
  total: number;
  selected: boolean;
  mark: "" | "match" | "dimmed";
  critical: boolean;
  current: boolean;
  collapsed: boolean;
  onSelect: (s: Span) => void;
  onToggle: (s: Span) => void;
}

// Row is one waterfall row; it draws again only when what it shows changes.
const Row = memo(function Row({ span: s, idx, t0, total, selected, mark, critical, current, collapsed, onSelect, onToggle }: RowProps) {
  const left = ((s.start - t0) / total) * 100;
  const width = Math.max((s.dur / total) * 100, 0.15);
  const color = colorFor(s.service);
  return (
    <div
      className={"wf-row" + (selected ? " selected" : "") + (s.error ? " has-error" : "") + (mark ? " " + mark : "") + (current ? " current" : "") + (critical ? " critical" : "")}
      style={{ top: idx * ROW, height: ROW }}
      onClick={() => onSelect(s)}
      data-testid="span-row"
      data-span-id={s.id}
      data-source={s.source}
      data-door={s.door}
      data-critical={critical ? "1" : undefined}
    >
      <div className="wf-name" style={{ paddingLeft: 6 + s.depth * 14 }}>
        {s.children.length > 0 ? (
          <button
            className="twisty"
            aria-label={collapsed ? "Expand" : "Collapse"}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(s);
            }}
          >
            {collapsed ? "▸" : "▾"}
          </button>
        ) : (
          <span className="twisty" />
        )}
        <i className="svc-dot" style={{ background: color }} title={s.service} />
        {s.error && <span className="err-mark" title="error">!</span>}
        <SourceBadge span={s} />
        <span className="svc-name">{s.service}</span>
        <span className="span-name">{s.name}</span>
        {s.logs.length > 0 && (
          <span className={"log-chip sev-" + (logSeverity(s.logs[0]) || "none")} data-testid="log-chip" title={s.logs.map(eventLabel).join("\n")}>
            {s.logs.length} {s.logs.length === 1 ? "log" : "logs"}
          </span>
        )}
        {collapsed && <span className="muted"> +{s.count - 1}</span>}
      </div>
      <div className="wf-bars">
        <div className="bar" style={{ left: `${left}%`, width: `${width}%`, background: s.error ? "#dc2626" : color }} />
        {s.events.map((e, j) => (
          <div key={j} className="evt" title={eventLabel(e)} style={{ left: `${((parseTime(e["timestamp"]) - t0) / total) * 100}%` }} />
        ))}
        {s.logs.map((e, j) => (
          <div
            key={"log" + j}
            className={"evt log sev-" + (logSeverity(e) || "none")}
            data-testid="log-marker"
            title={eventLabel(e)}
            style={{ left: `${((parseTime(e["timestamp"]) - t0) / total) * 100}%` }}
          />
        ))}
        <span className="bar-label" style={{ left: `calc(${left + width}% + 4px)` }}>{fmtDuration(s.dur)}</span>
      </div>
    </div>
  );
});

const HOT = ["name", "service.name", "duration_ms", "timestamp", "trace.trace_id", "trace.span_id", "trace.parent_id", "span.kind", "status_code", "status_message", "error"];

const fmtValue = fieldText;

// fieldKeys are the keys of ev that Fields shows: those skip lets through
// whose name or value contains filter (case-insensitive), hot fields first.
function fieldKeys(ev: HEvent, filter = "", skip?: (k: string) => boolean): string[] {
  const f = filter.trim().toLowerCase();
  const keys = Object.keys(ev).filter((k) => !skip?.(k) && (!f || k.toLowerCase().includes(f) || fmtValue(ev[k]).toLowerCase().includes(f)));
  keys.sort((a, b) => {
    const ia = HOT.indexOf(a),
      ib = HOT.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.localeCompare(b);
  });
  return keys;
}

function Fields({ ev, skip, filter, testid }: { ev: HEvent; skip?: (k: string) => boolean; filter?: string; testid?: string }) {
  const keys = fieldKeys(ev, filter, skip);
  return (
    <table className="fields" data-testid={testid}>
      <tbody>
        {keys.map((k) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{fmtValue(ev[k])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function pretty(v: unknown): string {
  if (typeof v === "string") {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}

function Detail({ span, t0, traceId, jumpTo, linkedFrom }: { span: Span; t0: number; traceId: string; jumpTo: (spanId: string) => boolean; linkedFrom: Span[] }) {
  const ev = span.ev;
  // The filter stays as the selection moves from span to span.
  const [filter, setFilter] = useState("");
  const shown = fieldKeys(ev, filter).length;
  const all = Object.keys(ev).length;
  const xrayKeys = Object.keys(ev).filter((k) => k.startsWith("aws.xray."));
  const annotations = xrayKeys.filter((k) => k.startsWith("aws.xray.annotations."));
  const metadata = xrayKeys.filter((k) => k.startsWith("aws.xray.metadata."));
  return (
    <aside className="detail" data-testid="span-detail">
      <h3>
        <i className="svc-dot" style={{ background: colorFor(span.service) }} /> {span.name}
      </h3>
      <p className="muted">
        {span.service} · {fmtDuration(span.dur)} · starts at +{fmtDuration(span.start - t0)}
        {SOURCES[span.source] && (
          <>
            {" "}
            · <SourceBadge span={span} /> sent {DOOR_NAMES[span.door] ? `to ${DOOR_NAMES[span.door]}` : ""} by {SOURCES[span.source].title}
          </>
        )}
        {span.error && <span className="err-text"> · error</span>}
      </p>
      <h4>
        Fields{" "}
        <span className="muted" data-testid="field-count">
          {filter.trim() ? `${shown} of ${all}` : all}
        </span>
      </h4>
      <input
        type="search"
        className="field-filter"
        placeholder="Filter fields by name or value"
        aria-label="Filter fields"
        data-testid="field-filter"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
      />
      <Fields ev={ev} filter={filter} testid="span-fields" />
      {span.events.length > 0 && (
        <>
          <h4>Span events ({span.events.length})</h4>
          {span.events.map((e, i) => (
            <details key={i} open={span.events.length <= 3}>
              <summary>
                {String(e["name"] ?? "event")} <span className="muted">+{fmtDuration(parseTime(e["timestamp"]) - span.start)}</span>
              </summary>
              <Fields ev={e} skip={(k) => k.startsWith("trace.") || k === "meta.annotation_type"} />
            </details>
          ))}
        </>
      )}
      {span.logs.length > 0 && (
        <>
          <h4>Logs ({span.logs.length})</h4>
          {span.logs.map((e, i) => (
            <details key={i} open={span.logs.length <= 3} data-testid="span-log">
              <summary>
                <span className={"sev sev-" + (logSeverity(e) || "none")}>{(logSeverity(e) || "log").toUpperCase()}</span> {logMessage(e)}{" "}
                <span className="muted">+{fmtDuration(parseTime(e["timestamp"]) - span.start)}</span>
              </summary>
              <Fields ev={e} skip={(k) => k.startsWith("trace.") || k === "meta.annotation_type"} />
            </details>
          ))}
        </>
      )}
      {span.links.length > 0 && (
        <>
          <h4>Links ({span.links.length})</h4>
          {spanLinks(span).map((l, i) => {
            const here = l.traceId === traceId;
            const href = "/trace/" + encodeURIComponent(l.traceId) + (l.spanId ? "?span=" + encodeURIComponent(l.spanId) : "");
            return (
              <div key={i} className="span-link" data-testid="span-link">
                <Link
                  href={href}
                  data-testid="span-link-go"
                  onClick={(e) => {
                    if (here && jumpTo(l.spanId)) e.preventDefault();
                  }}
                >
                  {here ? "span " + l.spanId + " of this trace" : "trace " + l.traceId + (l.spanId ? ", span " + l.spanId : "")}
                </Link>
                <Fields ev={l.ev} skip={(k) => k.startsWith("trace.") || k === "meta.annotation_type"} />
              </div>
            );
          })}
        </>
      )}
      {linkedFrom.length > 0 && (
        <>
          <h4>Linked from ({linkedFrom.length})</h4>
          {linkedFrom.map((s) => (
            <div key={s.id} className="span-link">
              <a
                href={"?span=" + encodeURIComponent(s.id)}
                data-testid="linked-from"
                onClick={(e) => {
                  e.preventDefault();
                  jumpTo(s.id);
                }}
              >
                {s.service} {s.name}
              </a>
            </div>
          ))}
        </>
      )}
      {(annotations.length > 0 || metadata.length > 0) && (
        <>
          <h4>X-Ray</h4>
          {annotations.length > 0 && (
            <table className="fields">
              <tbody>
                {annotations.map((k) => (
                  <tr key={k}>
                    <th>{k.slice("aws.xray.annotations.".length)}</th>
                    <td>{fmtValue(ev[k])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {metadata.map((k) => (
            <div key={k}>
              <h5>metadata: {k.slice("aws.xray.metadata.".length)}</h5>
              <pre className="json">{pretty(ev[k])}</pre>
            </div>
          ))}
        </>
      )}
    </aside>
  );
}

// Minimap draws every shown row of the waterfall in a strip above it (one
// line per row, squeezed to fit; bars placed by time, errors red, the
// critical path dark when shown) with the part in view framed; a click or a
// drag on it scrolls the waterfall there.
function Minimap({ rows, t0, total, critical, scrollTop, height, scroller }: { rows: Span[]; t0: number; total: number; critical: Set<Span> | null; scrollTop: number; height: number; scroller: React.RefObject<HTMLDivElement | null> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const H = 56;
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const w = c.clientWidth || 600;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(w * dpr);
    c.height = Math.round(H * dpr);
    const g = c.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, H);
    const n = rows.length;
    const lineH = Math.max(H / Math.max(n, 1), 0.5);
    for (let i = 0; i < n; i++) {
      const s = rows[i];
      const x = ((s.start - t0) / total) * w;
      const bw = Math.max((s.dur / total) * w, 1);
      g.fillStyle = s.error ? "#dc2626" : critical ? (critical.has(s) ? "#1e293b" : "#cbd5e1") : colorFor(s.service);
      g.fillRect(x, (i / n) * H, bw, Math.max(lineH, 1));
    }
  }, [rows, t0, total, critical]);
  const full = rows.length * ROW;
  const top = full > 0 ? (scrollTop / full) * H : 0;
  const frame = full > 0 ? Math.max(Math.min((height / full) * H, H), 3) : H;
  const scrollTo = (clientY: number, el: HTMLElement) => {
    const sc = scroller.current;
    if (!sc) return;
    const y = clientY - el.getBoundingClientRect().top;
    sc.scrollTop = Math.max(0, (y / H) * full - sc.clientHeight / 2);
  };
  return (
    <div
      className="minimap"
      data-testid="minimap"
      data-rows={rows.length}
      style={{ height: H }}
      onMouseDown={(e) => {
        const el = e.currentTarget;
        scrollTo(e.clientY, el);
        const move = (m: MouseEvent) => scrollTo(m.clientY, el);
        const up = () => {
          window.removeEventListener("mousemove", move);
          window.removeEventListener("mouseup", up);
        };
        window.addEventListener("mousemove", move);
        window.addEventListener("mouseup", up);
      }}
    >
      <canvas ref={canvas} style={{ width: "100%", height: H }} />
      <div className="minimap-frame" data-testid="minimap-frame" style={{ top, height: frame }} />
    </div>
  );
}
