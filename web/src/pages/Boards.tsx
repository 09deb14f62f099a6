// Boards: Honeycomb's flexible boards (/1/boards). A board lays its panels
// out on a grid 12 columns wide: a query panel runs its saved query and
// draws it with the query page's charts (or its results table), a text
// panel shows its text, an SLO panel the SLO's state and figures.
import { useEffect, useMemo, useState } from "react";
import { hc, seg } from "../api";
import { TimeChart, type LineSeries } from "../Chart";
import { bucketTimes, fillPoints, queryWindow } from "../buckets";
import { Link, navigate, useLocation } from "../router";
import { groupKey, label, runQuery, type ResultData, type Spec } from "../querySpec";
import { ErrorBox } from "../ui";
import { SLOFigures, SLOStatus, type SLODetailed } from "./SLOs";

interface Position {
  x_coordinate: number;
  y_coordinate: number;
  width: number;
  height: number;
}

interface Panel {
  type: "query" | "slo" | "text";
  position?: Position;
  query_panel?: {
    query_id: string;
    query_annotation_id: string;
    query_style: "graph" | "table" | "combo";
    dataset: string;
    visualization_settings?: { hide_markers?: boolean };
  };
  slo_panel?: { slo_id: string };
  text_panel?: { content: string };
}

interface Board {
  id: string;
  name: string;
  description: string;
  panels: Panel[];
  tags: { key: string; value: string }[];
  preset_filters: { column: string; alias: string }[];
}

const COLUMNS = 12;
// The least height of one grid row in pixels; a row grows to its panels.
const ROW = 64;

export default function BoardsPage() {
  const loc = useLocation();
  const id = loc.params.get("board");
  return <div className="config boards" data-testid="boards-page">{id ? <BoardView id={id} /> : <BoardList />}</div>;
}

function BoardList() {
  const [list, setList] = useState<Board[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => {
    hc.get<Board[]>("/1/boards").then(setList, setErr);
  }, []);
  return (
    <section className="card">
      <h2>Boards</h2>
      <p className="muted">Boards are made with the Boards API (<code>POST /1/boards</code>); this page lists and shows them.</p>
      <ErrorBox error={err} />
      {list && list.length === 0 && <p className="muted">No boards yet.</p>}
      {list && list.length > 0 && (
        <table className="grid" data-testid="boards">
          <thead>
            <tr>
              <th>Name</th>
              <th>Panels</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr key={b.id} data-board-id={b.id}>
                <td>
                  <Link href={"/boards?board=" + seg(b.id)}>
                    <b>{b.name}</b>
                  </Link>
                  {b.description && <div className="muted">{b.description}</div>}
                </td>
                <td>{panelCounts(b.panels)}</td>
                <td>{(b.tags ?? []).map((t) => `${t.key}:${t.value}`).join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function panelCounts(panels: Panel[]): string {
  const n = (t: Panel["type"]) => panels.filter((p) => p.type === t).length;
  const parts = [
    [n("query"), "query"],
    [n("slo"), "SLO"],
    [n("text"), "text"],
  ].filter(([c]) => (c as number) > 0);
  return parts.length ? parts.map(([c, t]) => `${c} ${t}`).join(", ") : "none";
}

function BoardView({ id }: { id: string }) {
  const [board, setBoard] = useState<Board | null>(null);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => {
    hc.get<Board>(`/1/boards/${seg(id)}`).then(setBoard, setErr);
  }, [id]);
  // Panels without a position go below the others, full width.
  const placed = useMemo(() => {
    if (!board) return [];
    let y = Math.max(0, ...board.panels.map((p) => (p.position ? p.position.y_coordinate + p.position.height : 0)));
    return board.panels.map((p) => {
      if (p.position) return { panel: p, pos: p.position };
      const pos = { x_coordinate: 0, y_coordinate: y, width: COLUMNS, height: p.type === "query" ? 6 : 3 };
      y += pos.height;
      return { panel: p, pos };
    });
  }, [board]);
  return (
    <>
      <section className="card">
        <h2>
          <button type="button" className="link" onClick={() => navigate("/boards")}>Boards</button> / {board?.name ?? id}
        </h2>
        {board?.description && <p className="muted">{board.description}</p>}
        <ErrorBox error={err} />
      </section>
      {board && (
        <div className="board-grid" data-testid="board" style={{ gridTemplateColumns: `repeat(${COLUMNS}, minmax(0, 1fr))`, gridAutoRows: `minmax(${ROW}px, auto)` }}>
          {placed.map(({ panel, pos }, i) => (
            <div
              key={i}
              className="card board-panel"
              data-testid="board-panel"
              data-type={panel.type}
              style={{ gridColumn: `${pos.x_coordinate + 1} / span ${pos.width}`, gridRow: `${pos.y_coordinate + 1} / span ${pos.height}` }}
            >
              {panel.type === "query" && panel.query_panel && <QueryPanel p={panel.query_panel} />}
              {panel.type === "slo" && panel.slo_panel && <SLOPanel id={panel.slo_panel.slo_id} />}
              {panel.type === "text" && panel.text_panel && <div className="board-text" data-testid="board-text">{panel.text_panel.content}</div>}
            </div>
          ))}
        </div>
      )}
    </>
  );
}

function SLOPanel({ id }: { id: string }) {
  const [slo, setSLO] = useState<SLODetailed | null>(null);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => {
    hc.get<SLODetailed>(`/1/slos/__all__/${seg(id)}?detailed=true`).then(setSLO, setErr);
  }, [id]);
  if (err) return <ErrorBox error={err} />;
  if (!slo) return <p className="muted">Loading…</p>;
  return (
    <div data-testid="board-slo">
      <h3>
        <Link href={"/slos?" + new URLSearchParams({ dataset: "__all__", slo: slo.id }).toString()}>{slo.name}</Link>
      </h3>
      <p>
        <SLOStatus s={slo} />
      </p>
      <p>
        <SLOFigures s={slo} />
      </p>
    </div>
  );
}

function QueryPanel({ p }: { p: NonNullable<Panel["query_panel"]> }) {
  const dataset = p.dataset || "__all__";
  const [title, setTitle] = useState("");
  const [spec, setSpec] = useState<Spec | null>(null);
  const [data, setData] = useState<{ d: ResultData; at: number } | null>(null);
  const [err, setErr] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    hc.get<{ name: string }>(`/1/query_annotations/${seg(dataset)}/${seg(p.query_annotation_id)}`).then(
      (a) => live && setTitle(a.name),
      () => {},
    );
    hc.get<Spec & { id?: string }>(`/1/queries/${seg(dataset)}/${seg(p.query_id)}`)
      .then(async (s) => {
        delete s.id;
        if (!live) return;
        setSpec(s);
        const at = Date.now();
        const d = await runQuery(dataset, s);
        if (live) setData({ d, at });
      })
      .catch((e) => live && setErr(e));
    return () => {
      live = false;
    };
  }, [dataset, p.query_id, p.query_annotation_id]);
  const open = spec ? "/query?" + new URLSearchParams({ dataset, q: JSON.stringify(spec) }).toString() : "";
  return (
    <div data-testid="board-query" data-query-id={p.query_id}>
      <div className="inline" style={{ justifyContent: "space-between", margin: 0 }}>
        <h3>{title || p.query_id}</h3>
        {open && <Link href={open}>open in Query</Link>}
      </div>
      <ErrorBox error={err} />
      {!data && !err && <p className="muted">Running…</p>}
      {data && spec && <PanelResult spec={spec} data={data.d} ranAt={data.at} dataset={dataset} style={p.query_style} markers={!p.visualization_settings?.hide_markers} />}
    </div>
  );
}

// PanelResult draws a query's result as the query page does: a line chart
// per calculation (a series per group, every bucket of the window), and
// the results table for the table and combo styles; markers unless the
// panel's settings hide them.
function PanelResult({ spec, data, ranAt, dataset, style, markers }: { spec: Spec; data: ResultData; ranAt: number; dataset: string; style: string; markers: boolean }) {
  const breakdowns = spec.breakdowns ?? [];
  const calcs = spec.calculations?.length ? spec.calculations : [{ op: "COUNT" }];
  const win = useMemo(() => queryWindow(spec, ranAt), [spec, ranAt]);
  const times = useMemo(() => bucketTimes(win, data.series.map((s) => Date.parse(s.time))), [win, data]);
  const range: [number, number] = [times[0] ?? win.start, Math.max(win.end, (times[times.length - 1] ?? win.end) + win.granularity)];
  const graphs = style !== "table";
  const table = style === "table" || style === "combo";
  const lines = calcs.filter((c) => c.op !== "HEATMAP");
  return (
    <>
      {graphs &&
        lines.map((c) => {
          const l = label(c);
          const groups = new Map<string, LineSeries>();
          for (const s of data.series) {
            const k = groupKey(breakdowns, s.data);
            if (!groups.has(k)) groups.set(k, { name: k, points: [] });
            const v = s.data[l];
            groups.get(k)!.points.push([Date.parse(s.time), typeof v === "number" ? v : null]);
          }
          const series = [...groups.values()].map((g) => ({ name: g.name, points: fillPoints(c.op, g.points, times), real: g.points.map((p) => p[0]) }));
          return (
            <TimeChart key={l} title={l} series={series} range={range} dataset={markers ? dataset : undefined} onPoint={() => {}} />
          );
        })}
      {graphs && lines.length < calcs.length && <p className="muted">HEATMAP is drawn on the query page.</p>}
      {table && (
        <table className="grid" data-testid="board-results">
          <thead>
            <tr>
              {[...breakdowns, ...calcs.filter((c) => c.op !== "HEATMAP").map(label)].map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.results.map((r, i) => (
              <tr key={i}>
                {[...breakdowns, ...calcs.filter((c) => c.op !== "HEATMAP").map(label)].map((c) => (
                  <td key={c}>{r.data[c] === null || r.data[c] === undefined ? "–" : String(r.data[c])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
