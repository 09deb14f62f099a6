// Time-series line charts and heatmaps drawn with Apache ECharts (only the
// parts used are bundled).
import { useEffect, useRef, useState } from "react";
import * as echarts from "echarts/core";
import { LineChart, HeatmapChart } from "echarts/charts";
import { GridComponent, TooltipComponent, LegendComponent, VisualMapComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { hc, seg, type Marker } from "./api";
import { colorFor } from "./ui";

echarts.use([LineChart, HeatmapChart, GridComponent, TooltipComponent, LegendComponent, VisualMapComponent, CanvasRenderer]);

export interface LineSeries {
  name: string;
  points: [number, number | null][]; // [ms, value]
  // The times of the points the query returned; the others fill empty
  // buckets and are drawn without a marker.
  real?: number[];
}

export interface PointClick {
  time: number;
  series: string;
}

function useChart(option: echarts.EChartsCoreOption, onClick: (p: any) => void) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const click = useRef(onClick);
  click.current = onClick;
  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current);
    chart.current = c;
    c.on("click", (p) => click.current(p));
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption(option, true);
  }, [option]);
  return el;
}

// The plot area of a time chart inside its element, in pixels.
const GRID = { left: 60, right: 20, top: 20, bottom: 50 };

/**
 * TimeChart draws line series over time. With a dataset, the markers of
 * that dataset and the environment's own (__all__) in the chart's time
 * range are drawn over it.
 */
export function TimeChart({
  title,
  series,
  range,
  dataset,
  connectNulls = false,
  onPoint,
}: {
  title: string;
  series: LineSeries[];
  range?: [number, number];
  dataset?: string;
  connectNulls?: boolean;
  onPoint: (p: PointClick) => void;
}) {
  const shown = range ?? extentOf(series);
  const option = {
    animation: false,
    tooltip: { trigger: "axis", confine: true },
    legend: { type: "scroll", bottom: 0 },
    grid: GRID,
    xAxis: { type: "time", ...(shown ? { min: shown[0], max: shown[1] } : {}) },
    yAxis: { type: "value", scale: false },
    series: series.map((s) => {
      const real = s.real ? new Set(s.real) : null;
      return {
        name: s.name,
        type: "line",
        showSymbol: (real?.size ?? s.points.length) <= 60,
        symbolSize: 6,
        connectNulls,
        data: s.points.map((p) => (real && !real.has(p[0]) ? { value: p, symbol: "none" } : p)),
      };
    }),
  };
  const el = useChart(option, (p) => {
    if (p.componentType === "series" && Array.isArray(p.value)) onPoint({ time: p.value[0], series: p.seriesName });
  });
  return (
    <div className="chart-wrap">
      <h3>{title}</h3>
      <div className="chart-box">
        <div className="chart" ref={el} data-testid="chart" data-title={title} data-series={JSON.stringify(series)} />
        {dataset && shown && <MarkerLayer dataset={dataset} range={shown} grid={GRID} />}
      </div>
    </div>
  );
}

// extentOf is the time span of the series' points, or null without any.
function extentOf(series: LineSeries[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const [t] of s.points) {
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
  }
  return lo <= hi ? [lo, hi === lo ? lo + 1 : hi] : null;
}

interface ShownMarker extends Marker {
  /** the dataset the marker was made on ("__all__": the environment's) */
  scope: string;
}

// The charts of a page share each dataset's marker list for a few seconds.
const markerLists = new Map<string, { at: number; list: Promise<ShownMarker[]> }>();

function markersOf(dataset: string): Promise<ShownMarker[]> {
  const hit = markerLists.get(dataset);
  if (hit && Date.now() - hit.at < 5000) return hit.list;
  // A failed read (a key without the markers permission, say) draws none.
  const list = hc.get<Marker[]>(`/1/markers/${seg(dataset)}`).then(
    (ms) => ms.map((m) => ({ ...m, scope: dataset })),
    () => [] as ShownMarker[],
  );
  markerLists.set(dataset, { at: Date.now(), list });
  return list;
}

/** markerColor is the marker's color from its type's marker setting, or one derived from its type. */
export const markerColor = (m: Marker) => m.color || colorFor(m.type || "marker");

function fmtTime(sec: number): string {
  return new Date(sec * 1000).toLocaleString();
}

// MarkerLayer draws markers over a time chart whose plot area (grid)
// spans range linearly: a vertical line at a marker's time, or a band from
// its start to its end, in its color; a hover (or focus) shows its
// message, type, time and link.
type Grid = typeof GRID;

function MarkerLayer({ dataset, range, grid: GRID }: { dataset: string; range: [number, number]; grid: Grid }) {
  const el = useRef<HTMLDivElement>(null);
  const [markers, setMarkers] = useState<ShownMarker[]>([]);
  const [size, setSize] = useState<{ w: number; h: number }>({ w: 0, h: 0 });
  useEffect(() => {
    let live = true;
    const sets = dataset === "__all__" ? [dataset] : [dataset, "__all__"];
    Promise.all(sets.map(markersOf)).then((lists) => {
      if (live) setMarkers(lists.flat());
    });
    return () => {
      live = false;
    };
  }, [dataset]);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const measure = () => setSize({ w: node.clientWidth, h: node.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(node);
    return () => ro.disconnect();
  }, []);
  const [t0, t1] = range;
  const plotW = size.w - GRID.left - GRID.right;
  const plotH = size.h - GRID.top - GRID.bottom;
  const x = (ms: number) => GRID.left + ((ms - t0) / (t1 - t0)) * plotW;
  const clip = (px: number) => Math.min(Math.max(px, GRID.left), GRID.left + plotW);
  const inRange = plotW > 0 && plotH > 0 ? markers.filter((m) => (m.end_time ?? m.start_time) * 1000 >= t0 && m.start_time * 1000 <= t1) : [];
  return (
    <div className="marker-layer" ref={el} data-testid="markers" data-count={inRange.length}>
      {inRange.map((m) => {
        const color = markerColor(m);
        const band = m.end_time !== undefined && m.end_time > m.start_time;
        const left = clip(x(m.start_time * 1000));
        const right = band ? clip(x(m.end_time! * 1000)) : left;
        const flip = left > GRID.left + plotW / 2;
        // A line's element is wider than the line, to be easy to hover.
        const box = band ? { left, width: right - left } : { left: left - 5, width: 11 };
        return (
          <div
            key={m.scope + "/" + m.id}
            className={"marker" + (band ? " band" : "")}
            tabIndex={0}
            data-testid="marker"
            data-marker-id={m.id}
            data-color={color}
            style={{ ...box, top: GRID.top, height: plotH, ["--marker" as string]: color }}
            aria-label={`marker: ${m.message || m.type || m.id}`}
          >
            <span className="marker-line" />
            <div className={"marker-label" + (flip ? " flip" : "")} data-testid="marker-label">
              <b>{m.message || <span className="muted">(no message)</span>}</b>
              {m.type && (
                <div>
                  <span className="marker-type">{m.type}</span>
                </div>
              )}
              <div className="muted">
                {fmtTime(m.start_time)}
                {band && <> – {fmtTime(m.end_time!)}</>}
                {m.scope === "__all__" && " · environment marker"}
              </div>
              {m.url &&
                (/^https?:\/\//i.test(m.url) ? (
                  <a href={m.url} target="_blank" rel="noopener noreferrer">
                    {m.url}
                  </a>
                ) : (
                  <code>{m.url}</code>
                ))}
            </div>
          </div>
        );
      })}
    </div>
  );
}

export interface HeatCell {
  time: number;
  lower: number;
  upper: number;
}

const pad = (n: number) => String(n).padStart(2, "0");

// timeLabel names a bucket by its start, to the second when buckets are
// shorter than a minute and with the date when the range spans days.
export function timeLabel(t: number, granularity: number, span: number): string {
  const d = new Date(t);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (granularity < 60_000) return `${hm}:${pad(d.getSeconds())}`;
  if (span > 86_400_000) return `${day.slice(5)} ${hm}`;
  return hm;
}

// legendPieces splits counts 1..max into at most five ranges with whole
// bounds, each with its colour; an empty cell (0) is not drawn.
export function legendPieces(max: number): { min: number; max: number; label: string; color: string }[] {
  const colors = ["#bfdbfe", "#60a5fa", "#2563eb", "#7c3aed", "#db2777"];
  const top = Math.max(1, Math.ceil(max));
  const n = Math.min(colors.length, top);
  const out: { min: number; max: number; label: string; color: string }[] = [];
  let lo = 1;
  for (let i = 0; i < n; i++) {
    const hi = i === n - 1 ? top : Math.max(lo, Math.round((top * (i + 1)) / n));
    out.push({ min: lo, max: hi, label: lo === hi ? String(lo) : `${lo}–${hi}`, color: colors[Math.round((i * (colors.length - 1)) / Math.max(n - 1, 1))] });
    lo = hi + 1;
    if (lo > top) break;
  }
  return out;
}

// The plot area of a heatmap inside its element, in pixels.
const HEAT_GRID = { left: 70, right: 20, top: 20, bottom: 70 };

/**
 * HeatmapChartView draws a heatmap over time buckets. With a dataset, its
 * markers and the environment's are drawn over it as on a TimeChart.
 */
export function HeatmapChartView({
  title,
  times,
  granularity,
  buckets,
  cells,
  dataset,
  onCell,
}: {
  title: string;
  dataset?: string;
  times: number[]; // every bucket of the query, ascending
  granularity: number; // ms
  buckets: { lower: number; upper: number }[];
  cells: [number, number, number][]; // [time index, bucket index, count]
  onCell: (c: HeatCell) => void;
}) {
  const max = cells.reduce((m, c) => Math.max(m, c[2]), 0);
  const pieces = legendPieces(max);
  const span = times.length ? times[times.length - 1] - times[0] + granularity : 0;
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2));
  const option = {
    animation: false,
    tooltip: {
      position: "top",
      formatter: (p: any) => {
        const [ti, bi, n] = p.value;
        return `${timeLabel(times[ti], granularity, span)}–${timeLabel(times[ti] + granularity, granularity, span)}<br/>${fmt(buckets[bi].lower)} – ${fmt(buckets[bi].upper)}: <b>${n}</b>`;
      },
    },
    grid: HEAT_GRID,
    xAxis: { type: "category", data: times.map((t) => timeLabel(t, granularity, span)), splitArea: { show: false }, axisLabel: { hideOverlap: true } },
    yAxis: { type: "category", data: buckets.map((b) => fmt(b.lower)), splitArea: { show: false }, axisLabel: { interval: Math.max(0, Math.ceil(buckets.length / 8) - 1) } },
    visualMap: {
      type: "piecewise",
      pieces,
      orient: "horizontal",
      left: "center",
      bottom: 0,
      text: ["", "events per cell:"],
      showLabel: true,
      itemWidth: 18,
      itemHeight: 12,
    },
    series: [{ name: title, type: "heatmap", data: cells.filter((c) => c[2] > 0), emphasis: { itemStyle: { borderColor: "#111", borderWidth: 1 } } }],
  };
  // Each bucket is a column of equal width, so with buckets one
  // granularity apart the axis is linear in time from the first bucket's
  // start to the last one's end, and markers can be placed on it.
  const even = times.length > 0 && times.every((t, i) => i === 0 || t - times[i - 1] === granularity);
  const el = useChart(option, (p) => {
    if (p.componentType === "series" && Array.isArray(p.value)) {
      const [ti, bi] = p.value;
      onCell({ time: times[ti], lower: buckets[bi].lower, upper: buckets[bi].upper });
    }
  });
  return (
    <div className="chart-wrap">
      <h3>{title}</h3>
      <div className="chart-box">
        <div
          className="chart"
          ref={el}
          data-testid="heatmap"
          data-title={title}
          data-cells={JSON.stringify(cells)}
          data-times={JSON.stringify(times)}
          data-legend={JSON.stringify(pieces.map((p) => [p.min, p.max]))}
        />
        {dataset && even && <MarkerLayer dataset={dataset} range={[times[0], times[times.length - 1] + granularity]} grid={HEAT_GRID} />}
      </div>
    </div>
  );
}
