import { useEffect, useMemo, useRef, useState } from "react";
import cytoscape from "cytoscape";
import { xray, type Doors, type Session } from "../api";
import { DoorsPicker, useDoors } from "../doors";
import { navigate, useLocation } from "../router";
import { colorFor, ErrorBox, fmtDuration } from "../ui";
import { TIME_RANGES } from "../querySpec";

interface Stats {
  OkCount?: number;
  ErrorStatistics?: { ThrottleCount?: number; OtherCount?: number; TotalCount?: number };
  FaultStatistics?: { OtherCount?: number; TotalCount?: number };
  TotalCount?: number;
  TotalResponseTime?: number;
}
interface Edge {
  ReferenceId: number;
  SummaryStatistics?: Stats;
}
interface Service {
  ReferenceId: number;
  Name?: string;
  Type?: string;
  State?: string;
  Root?: boolean;
  Edges?: Edge[];
  SummaryStatistics?: Stats;
}
interface Graph {
  Services: Service[];
  NextToken?: string;
}

function share(n: number | undefined, total: number | undefined) {
  return total ? ((100 * (n ?? 0)) / total).toFixed(1) + "%" : "0%";
}

// loadGraph reads every page of GetServiceGraph, of a group's traces when
// group is set.
async function loadGraph(seconds: number, doors: Doors, group: string): Promise<Service[]> {
  const end = Math.floor(Date.now() / 1000);
  const out: Service[] = [];
  let token: string | undefined;
  for (let i = 0; i < 20; i++) {
    const g = await xray<Graph>("ServiceGraph", { StartTime: end - seconds, EndTime: end, ...(group ? { GroupName: group } : {}), ...(token ? { NextToken: token } : {}) }, doors);
    out.push(...(g.Services ?? []));
    token = g.NextToken;
    if (!token) break;
  }
  return out;
}

// The X-Ray console draws a node of type "client" (the callers of a
// service that have no upstream segment) as a person named "Clients".
export const CLIENT_LABEL = "Clients";

const nodeName = (s: Service) => (s.Type === "client" ? CLIENT_LABEL : s.Name ?? "?");

// A person, for client nodes.
const PERSON =
  "data:image/svg+xml;utf8," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="8" r="4.2" fill="#475569"/><path d="M3.5 21c0-4.7 3.8-7.6 8.5-7.6s8.5 2.9 8.5 7.6z" fill="#475569"/></svg>',
  );

// Layout: columns by depth from the nodes nobody calls (clients first), left
// to right, with room between columns for an edge's label and between rows
// for a node's label, so labels never sit on a node.
const COL = 300;
const ROW = 150;

export function layers(services: Service[]): Map<number, { x: number; y: number }> {
  const ids = services.map((s) => s.ReferenceId);
  const incoming = new Map<number, number>(ids.map((id) => [id, 0]));
  for (const s of services) for (const e of s.Edges ?? []) if (e.ReferenceId !== s.ReferenceId) incoming.set(e.ReferenceId, (incoming.get(e.ReferenceId) ?? 0) + 1);
  const depth = new Map<number, number>();
  const byId = new Map(services.map((s) => [s.ReferenceId, s]));
  const queue = ids.filter((id) => !incoming.get(id));
  if (queue.length === 0 && ids.length) queue.push(ids[0]);
  for (const id of queue) depth.set(id, 0);
  // Longest path from a root, bounded so a cycle cannot loop.
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    const id = queue[i];
    const d = depth.get(id)!;
    for (const e of byId.get(id)?.Edges ?? []) {
      if (e.ReferenceId === id || !byId.has(e.ReferenceId)) continue;
      if ((depth.get(e.ReferenceId) ?? -1) < d + 1 && d + 1 < ids.length) {
        depth.set(e.ReferenceId, d + 1);
        queue.push(e.ReferenceId);
      }
    }
  }
  for (const id of ids) if (!depth.has(id)) depth.set(id, 0);
  const cols = new Map<number, number[]>();
  for (const id of ids) {
    const d = depth.get(id)!;
    if (!cols.has(d)) cols.set(d, []);
    cols.get(d)!.push(id);
  }
  const pos = new Map<number, { x: number; y: number }>();
  for (const [d, col] of cols) {
    col.sort((a, b) => nodeName(byId.get(a)!).localeCompare(nodeName(byId.get(b)!)) || a - b);
    col.forEach((id, i) => pos.set(id, { x: d * COL, y: (i - (col.length - 1) / 2) * ROW }));
  }
  return pos;
}

// loadGroups lists the environment's X-Ray groups (GetGroups), Default left out.
async function loadGroups(): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < 20; i++) {
    const r = await xray<{ Groups?: { GroupName: string }[]; NextToken?: string }>("Groups", token ? { NextToken: token } : {});
    for (const g of r.Groups ?? []) if (g.GroupName !== "Default") out.push(g.GroupName);
    token = r.NextToken;
    if (!token) break;
  }
  return out.sort((a, b) => a.localeCompare(b));
}

export default function ServiceMap({ session }: { session: Session }) {
  const [doors, setDoors] = useDoors();
  const loc = useLocation();
  // The X-Ray group whose traces the map shows ("": Default, every trace),
  // kept in the URL as ?group=.
  const group = loc.params.get("group") ?? "";
  const setGroup = (g: string) => {
    const p = new URLSearchParams(loc.params);
    if (g) p.set("group", g);
    else p.delete("group");
    const q = p.toString();
    navigate(loc.path + (q ? "?" + q : ""), true);
  };
  const [groups, setGroups] = useState<string[] | null>(null);
  // The group the graph shown was read for.
  const [graphGroup, setGraphGroup] = useState("");
  const [range, setRange] = useState(3600);
  const [services, setServices] = useState<Service[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [overlaps, setOverlaps] = useState<number | null>(null);
  // Where each node is drawn (rendered px in the map), for the browser tests.
  const [drawn, setDrawn] = useState<Record<string, [number, number]>>({});
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!session.xray) {
      setErr(new Error("The X-Ray API is not enabled on this server, so there is no service graph."));
      return;
    }
    setErr(null);
    setServices(null);
    setOverlaps(null);
    let live = true;
    loadGraph(range, doors, group).then(
      (s) => {
        if (!live) return;
        setGraphGroup(group);
        setServices(s);
      },
      (e) => live && setErr(e),
    );
    return () => {
      live = false;
    };
  }, [range, session.xray, doors, group]);

  useEffect(() => {
    if (!session.xray) return;
    loadGroups().then(setGroups, () => setGroups([]));
  }, [session.xray]);

  const elements = useMemo(() => {
    if (!services) return [];
    const minutes = range / 60;
    const pos = layers(services);
    const els: cytoscape.ElementDefinition[] = [];
    for (const s of services) {
      const st = s.SummaryStatistics;
      const total = st?.TotalCount ?? 0;
      const client = s.Type === "client";
      const lines = [nodeName(s)];
      if (s.Type && !client) lines.push(s.Type);
      if (total > 0) {
        lines.push(`${(total / minutes).toFixed(2)}/min`);
        lines.push(`err ${share(st?.ErrorStatistics?.TotalCount, total)} · fault ${share(st?.FaultStatistics?.TotalCount, total)}`);
      }
      const faulty = (st?.FaultStatistics?.TotalCount ?? 0) > 0;
      const erring = (st?.ErrorStatistics?.TotalCount ?? 0) > 0;
      els.push({
        data: {
          id: "n" + s.ReferenceId,
          label: lines.join("\n"),
          name: s.Name ?? "",
          color: client ? "#e2e8f0" : colorFor(s.Name ?? ""),
          border: faulty ? "#dc2626" : erring ? "#d97706" : client ? "#94a3b8" : "#e5e7eb",
          shape: client ? "ellipse" : s.State === "unknown" ? "diamond" : "round-rectangle",
          image: client ? PERSON : "none",
        },
        position: pos.get(s.ReferenceId),
      });
    }
    for (const s of services) {
      for (const e of s.Edges ?? []) {
        const st = e.SummaryStatistics;
        const n = st?.TotalCount ?? 0;
        const avg = n ? ((st?.TotalResponseTime ?? 0) / n) * 1000 : NaN;
        els.push({
          data: {
            id: `e${s.ReferenceId}-${e.ReferenceId}`,
            source: "n" + s.ReferenceId,
            target: "n" + e.ReferenceId,
            label: n ? `${fmtDuration(avg)} avg · ${n}` : "",
          },
        });
      }
    }
    return els;
  }, [services, range]);

  useEffect(() => {
    if (!box.current || !services) return;
    const cy = cytoscape({
      container: box.current,
      elements,
      style: [
        {
          selector: "node",
          style: {
            shape: "data(shape)" as any,
            "background-color": "data(color)",
            "background-image": "data(image)" as any,
            "background-fit": "contain",
            "background-clip": "node",
            "background-width": "70%",
            "background-height": "70%",
            "border-color": "data(border)",
            "border-width": 3,
            label: "data(label)",
            "text-wrap": "wrap",
            "text-valign": "bottom",
            "text-margin-y": 6,
            "text-max-width": "200px",
            "font-size": 11,
            color: "#1f2937",
            width: 46,
            height: 46,
          },
        },
        {
          selector: "edge",
          style: {
            width: 2,
            "line-color": "#94a3b8",
            "target-arrow-color": "#94a3b8",
            "target-arrow-shape": "triangle",
            "curve-style": "bezier",
            label: "data(label)",
            "font-size": 10,
            color: "#334155",
            // Along the edge, lifted off the line, on a white ground.
            "text-rotation": "autorotate",
            "text-margin-y": -9,
            "text-background-color": "#fff",
            "text-background-opacity": 0.95,
            "text-background-padding": "2px",
            "text-background-shape": "roundrectangle",
          },
        },
      ],
      layout: { name: "preset", padding: 40, fit: true } as any,
      minZoom: 0.3,
      maxZoom: 2,
    });
    // Labels must not sit on nodes: count the edge labels whose box meets a
    // node or its label (the page exposes the count; the browser tests read it).
    const nodeBoxes = cy.nodes().map((n) => n.boundingBox({ includeLabels: true } as any));
    let hits = 0;
    cy.edges().forEach((e) => {
      if (!e.data("label")) return;
      const b = e.boundingBox({ includeNodes: false, includeEdges: false, includeLabels: true } as any);
      if (!(b.w > 0 && b.h > 0)) return;
      if (nodeBoxes.some((n) => b.x1 < n.x2 && b.x2 > n.x1 && b.y1 < n.y2 && b.y2 > n.y1)) hits++;
    });
    setOverlaps(hits);
    setDrawn(Object.fromEntries(cy.nodes().map((n) => [n.id(), [Math.round(n.renderedPosition().x), Math.round(n.renderedPosition().y)]])));
    cy.on("tap", "node", (e) => {
      const id = Number(String(e.target.id()).slice(1));
      const svc = services.find((s) => s.ReferenceId === id);
      if (svc?.Name && svc.Type !== "client") openService.current(svc.Name);
    });
    return () => cy.destroy();
  }, [elements, services]);

  // A click on a service shows its data: its traces in the X-Ray view for
  // X-Ray data, its spans in the query builder for OpenTelemetry data.
  const openService = useRef((_: string) => {});
  openService.current = (name: string) => {
    if (doors !== "honeycomb") {
      // On a group's map, the service's traces in that group.
      const inGroup = graphGroup ? ` AND group.name = ${JSON.stringify(graphGroup)}` : "";
      const p = new URLSearchParams({ filter: `service(${JSON.stringify(name)})${inGroup}` });
      if (doors !== "xray") p.set("doors", doors);
      navigate("/xray?" + p.toString());
      return;
    }
    const spec = {
      calculations: [{ op: "COUNT" }, { op: "P99", column: "duration_ms" }, { op: "HEATMAP", column: "duration_ms" }],
      filters: [{ column: "service.name", op: "=", value: name }],
      breakdowns: ["name"],
      time_range: range,
    };
    navigate("/query?" + new URLSearchParams({ dataset: "__all__", q: JSON.stringify(spec) }).toString());
  };

  const byRef = new Map((services ?? []).map((s) => [s.ReferenceId, s]));
  return (
    <div className="servicemap">
      <div className="inline">
        <h2 style={{ margin: 0 }}>Service map</h2>
        <select value={range} onChange={(e) => setRange(Number(e.target.value))} aria-label="Time range">
          {TIME_RANGES.filter(([s]) => s <= 86400).map(([s, l]) => (
            <option key={s} value={s}>{l}</option>
          ))}
        </select>
        <label className="map-group" title="Show the services of the traces an X-Ray group's filter expression matches, as the X-Ray console's trace map does">
          Group
          <select value={group} onChange={(e) => setGroup(e.target.value)} data-testid="map-group" data-loaded={groups ? "1" : "0"}>
            <option value="">Default</option>
            {group && !(groups ?? []).includes(group) && <option value={group}>{group}</option>}
            {(groups ?? []).map((g) => (
              <option key={g} value={g}>{g}</option>
            ))}
          </select>
        </label>
        <DoorsPicker doors={doors} onChange={setDoors} />
        <span className="muted">
          From X-Ray's GetServiceGraph{doors === "xray" ? "" : doors === "honeycomb" ? ", computed over the OpenTelemetry spans sent to Honeycomb's doors" : ", over X-Ray and OpenTelemetry data joined"}. Click a service to see {doors === "honeycomb" ? "its spans" : "its traces"}.
        </span>
      </div>
      <ErrorBox error={err} />
      {services && services.length === 0 && <p className="muted">No services in this time range.</p>}
      <div style={{ display: "flex", gap: 12 }}>
        <div
          className="map"
          ref={box}
          data-testid="service-map"
          data-doors={doors}
          data-group={graphGroup}
          data-loaded={services ? "1" : "0"}
          data-nodes={JSON.stringify((services ?? []).map(nodeName))}
          data-types={JSON.stringify((services ?? []).map((s) => s.Type ?? ""))}
          data-edges={JSON.stringify((services ?? []).flatMap((s) => (s.Edges ?? []).map((e) => [nodeName(s), byRef.has(e.ReferenceId) ? nodeName(byRef.get(e.ReferenceId)!) : "?"])))}
          data-label-overlaps={overlaps ?? ""}
          data-positions={JSON.stringify((services ?? []).map((s) => [nodeName(s), drawn["n" + s.ReferenceId] ?? null]))}
          style={{ flex: 1 }}
        />
      </div>
    </div>
  );
}
