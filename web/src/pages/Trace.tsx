import { useEffect, useMemo, useRef, useState } from "react";
import { hc, type HEvent, type TraceResponse } from "../api";
import { buildTree, DOOR_NAMES, eventLabel, logMessage, logSeverity, parseTime, SOURCES, visibleRows, type Span, type Tree } from "../trace";
import { colorFor, ErrorBox, fmtDuration } from "../ui";

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

function Waterfall({ traceId, tree, doors }: { traceId: string; tree: Tree; doors: string[] }) {
  const [collapsed, setCollapsed] = useState<Set<Span>>(() => new Set());
  const [selected, setSelected] = useState<Span | null>(tree.roots[0] ?? null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useMemo(() => visibleRows(tree.roots, collapsed), [tree, collapsed]);
  const total = Math.max(tree.end - tree.start, 1e-3);
  const errors = useMemo(() => tree.spans.filter((s) => s.error).length, [tree]);
  const logs = useMemo(() => tree.spans.reduce((n, s) => n + s.logs.length, 0), [tree]);
  const bySource = useMemo(() => {
    const m = new Map<string, number>();
    for (const s of tree.spans) if (s.source) m.set(s.source, (m.get(s.source) ?? 0) + 1);
    return m;
  }, [tree]);
  const joined = doors.includes("honeycomb") && doors.includes("xray");

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (el) setScrollTop(el.scrollTop);
  };

  const toggle = (s: Span) => {
    const next = new Set(collapsed);
    if (next.has(s)) next.delete(s);
    else next.add(s);
    setCollapsed(next);
  };
  const collapseAll = () => setCollapsed(new Set(tree.spans.filter((s) => s.children.length > 0 && s.depth >= 1)));

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <div className="trace">
      <div className="trace-head">
        <h2>
          Trace <code data-testid="trace-id">{traceId}</code>
        </h2>
        {joined && (
          <div className="notice joined-note" data-testid="joined-note">
            <b>tracecomb's joined view:</b> spans from Honeycomb and X-Ray joined by trace id — each service alone shows only its own. Each span is marked with the SDK that produced it.
          </div>
        )}
        <div className="trace-stats">
          <span data-testid="span-count">{tree.spans.length} spans</span>
          <span>{fmtDuration(total)}</span>
          <span>{new Date(tree.start).toISOString()}</span>
          {errors > 0 && <span className="err-text">{errors} with errors</span>}
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
        </div>
      </div>
      <div className="trace-body">
        <div className="waterfall">
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
                const left = ((s.start - tree.start) / total) * 100;
                const width = Math.max((s.dur / total) * 100, 0.15);
                const color = colorFor(s.service);
                return (
                  <div
                    key={idx + ":" + s.id}
                    className={"wf-row" + (selected === s ? " selected" : "") + (s.error ? " has-error" : "")}
                    style={{ top: idx * ROW, height: ROW }}
                    onClick={() => setSelected(s)}
                    data-testid="span-row"
                    data-span-id={s.id}
                    data-source={s.source}
                    data-door={s.door}
                  >
                    <div className="wf-name" style={{ paddingLeft: 6 + s.depth * 14 }}>
                      {s.children.length > 0 ? (
                        <button
                          className="twisty"
                          aria-label={collapsed.has(s) ? "Expand" : "Collapse"}
                          onClick={(e) => {
                            e.stopPropagation();
                            toggle(s);
                          }}
                        >
                          {collapsed.has(s) ? "▸" : "▾"}
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
                      {collapsed.has(s) && <span className="muted"> +{s.count - 1}</span>}
                    </div>
                    <div className="wf-bars">
                      <div className="bar" style={{ left: `${left}%`, width: `${width}%`, background: s.error ? "#dc2626" : color }} />
                      {s.events.map((e, j) => (
                        <div key={j} className="evt" title={eventLabel(e)} style={{ left: `${((parseTime(e["timestamp"]) - tree.start) / total) * 100}%` }} />
                      ))}
                      {s.logs.map((e, j) => (
                        <div
                          key={"log" + j}
                          className={"evt log sev-" + (logSeverity(e) || "none")}
                          data-testid="log-marker"
                          title={eventLabel(e)}
                          style={{ left: `${((parseTime(e["timestamp"]) - tree.start) / total) * 100}%` }}
                        />
                      ))}
                      <span className="bar-label" style={{ left: `calc(${left + width}% + 4px)` }}>{fmtDuration(s.dur)}</span>
                    </div>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
        {selected && <Detail span={selected} t0={tree.start} />}
      </div>
    </div>
  );
}

const HOT = ["name", "service.name", "duration_ms", "timestamp", "trace.trace_id", "trace.span_id", "trace.parent_id", "span.kind", "status_code", "status_message", "error"];

function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function Fields({ ev, skip }: { ev: HEvent; skip?: (k: string) => boolean }) {
  const keys = Object.keys(ev).filter((k) => !skip?.(k));
  keys.sort((a, b) => {
    const ia = HOT.indexOf(a),
      ib = HOT.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.localeCompare(b);
  });
  return (
    <table className="fields">
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

function Detail({ span, t0 }: { span: Span; t0: number }) {
  const ev = span.ev;
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
      <h4>Fields</h4>
      <Fields ev={ev} />
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
          {span.links.map((e, i) => (
            <Fields key={i} ev={e} />
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
