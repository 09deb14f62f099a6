import { useEffect, useMemo, useRef, useState } from "react";
import cytoscape from "cytoscape";
import { xray, type Session } from "../api";
import { navigate } from "../router";
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

// loadGraph reads every page of GetServiceGraph.
async function loadGraph(seconds: number): Promise<Service[]> {
  const end = Math.floor(Date.now() / 1000);
  const out: Service[] = [];
  let token: string | undefined;
  for (let i = 0; i < 20; i++) {
    const g = await xray<Graph>("ServiceGraph", { StartTime: end - seconds, EndTime: end, ...(token ? { NextToken: token } : {}) });
    out.push(...(g.Services ?? []));
    token = g.NextToken;
    if (!token) break;
  }
  return out;
}

export default function ServiceMap({ session }: { session: Session }) {
  const [range, setRange] = useState(3600);
  const [services, setServices] = useState<Service[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!session.xray) {
      setErr(new Error("The X-Ray API is not enabled on this server, so there is no service graph."));
      return;
    }
    setErr(null);
    loadGraph(range).then(setServices, setErr);
  }, [range, session.xray]);

  const elements = useMemo(() => {
    if (!services) return [];
    const minutes = range / 60;
    const els: cytoscape.ElementDefinition[] = [];
    for (const s of services) {
      const st = s.SummaryStatistics;
      const total = st?.TotalCount ?? 0;
      const lines = [s.Name ?? "?"];
      if (s.Type && s.Type !== "client") lines.push(s.Type);
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
          color: s.Type === "client" ? "#94a3b8" : colorFor(s.Name ?? ""),
          border: faulty ? "#dc2626" : erring ? "#d97706" : "#e5e7eb",
          shape: s.Type === "client" ? "ellipse" : s.State === "unknown" ? "diamond" : "round-rectangle",
        },
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
            "border-color": "data(border)",
            "border-width": 3,
            label: "data(label)",
            "text-wrap": "wrap",
            "text-valign": "bottom",
            "text-margin-y": 6,
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
            color: "#475569",
            "text-background-color": "#fff",
            "text-background-opacity": 0.9,
            "text-background-padding": "2px",
          },
        },
      ],
      layout: { name: "breadthfirst", directed: true, spacingFactor: 1.5, padding: 30 } as any,
    });
    cy.on("tap", "node", (e) => {
      const id = Number(String(e.target.id()).slice(1));
      const svc = services.find((s) => s.ReferenceId === id);
      if (svc?.Name && svc.Type !== "client") openQuery.current(svc.Name);
    });
    return () => cy.destroy();
  }, [elements, services]);

  const openQuery = useRef((_: string) => {});
  openQuery.current = (name: string) => {
    const spec = {
      calculations: [{ op: "COUNT" }, { op: "P99", column: "duration_ms" }, { op: "HEATMAP", column: "duration_ms" }],
      filters: [{ column: "service.name", op: "=", value: name }],
      breakdowns: ["name"],
      time_range: range,
    };
    navigate("/query?" + new URLSearchParams({ dataset: "__all__", q: JSON.stringify(spec) }).toString());
  };

  return (
    <div className="servicemap">
      <div className="inline">
        <h2 style={{ margin: 0 }}>Service map</h2>
        <select value={range} onChange={(e) => setRange(Number(e.target.value))} aria-label="Time range">
          {TIME_RANGES.filter(([s]) => s <= 86400).map(([s, l]) => (
            <option key={s} value={s}>{l}</option>
          ))}
        </select>
        <span className="muted">From X-Ray's GetServiceGraph. Click a service to query its spans.</span>
      </div>
      <ErrorBox error={err} />
      {services && services.length === 0 && <p className="muted">No services in this time range.</p>}
      <div style={{ display: "flex", gap: 12 }}>
        <div className="map" ref={box} data-testid="service-map" data-nodes={JSON.stringify((services ?? []).map((s) => s.Name))} data-edges={JSON.stringify((services ?? []).flatMap((s) => (s.Edges ?? []).map((e) => [s.Name, services!.find((x) => x.ReferenceId === e.ReferenceId)?.Name])))} style={{ flex: 1 }} />
      </div>
    </div>
  );
}
