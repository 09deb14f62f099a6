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

// A drag over a chart's plot area, in pixels of the chart element.
export interface DragBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  w: number; // the element's size
  h: number;
}

// useDragSelect tracks a mouse drag over el (when onDone is set) and calls
// onDone with the box when the button is released after moving more than
// a few pixels; a shorter press stays a click. dragged() is true right
// after a drag, so the chart's click handler can ignore that click.
function useDragSelect(el: React.RefObject<HTMLDivElement | null>, onDone?: (b: DragBox) => void) {
  const [box, setBox] = useState<DragBox | null>(null);
  const start = useRef<{ x: number; y: number } | null>(null);
  const lastDrag = useRef(0);
  const at = (e: React.MouseEvent) => {
    const r = el.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top, w: r.width, h: r.height };
  };
  const handlers = onDone
    ? {
        onMouseDown: (e: React.MouseEvent) => {
          if (e.button !== 0 || !el.current) return;
          const p = at(e);
          start.current = { x: p.x, y: p.y };
          setBox(null);
        },
        onMouseMove: (e: React.MouseEvent) => {
          if (!start.current || !el.current) return;
          const p = at(e);
          if (Math.abs(p.x - start.current.x) + Math.abs(p.y - start.current.y) > 4) setBox({ x0: start.current.x, y0: start.current.y, x1: p.x, y1: p.y, w: p.w, h: p.h });
        },
        onMouseUp: (e: React.MouseEvent) => {
          const s = start.current;
          start.current = null;
          if (!s || !el.current) return;
          const p = at(e);
          setBox(null);
          if (Math.abs(p.x - s.x) + Math.abs(p.y - s.y) > 4) {
            lastDrag.current = Date.now();
            onDone({ x0: s.x, y0: s.y, x1: p.x, y1: p.y, w: p.w, h: p.h });
          }
        },
        onMouseLeave: () => {
          start.current = null;
          setBox(null);
        },
      }
    : {};
  return { box, handlers, enabled: !!onDone, dragged: () => Date.now() - lastDrag.current < 300 };
}

// cellRange maps a drag box to the indexes of n equal cells along one axis
// of a plot area from lo to hi pixels (inclusive, clamped).
export function cellRange(a: number, b: number, lo: number, hi: number, n: number): [number, number] {
  const idx = (px: number) => Math.min(n - 1, Math.max(0, Math.floor(((px - lo) / (hi - lo)) * n)));
  const [i, j] = [idx(Math.min(a, b)), idx(Math.max(a, b))];
  return [i, j];
}


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
  onSelectRange,
}: {
  title: string;
  series: LineSeries[];
  range?: [number, number];
  dataset?: string;
  connectNulls?: boolean;
  onPoint: (p: PointClick) => void;
  /** a drag across the chart selects a time range [from, to) in ms (BubbleUp) */
  onSelectRange?: (from: number, to: number) => void;
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
    if (drag.dragged()) return;
    if (p.componentType === "series" && Array.isArray(p.value)) onPoint({ time: p.value[0], series: p.seriesName });
  });
  const toTime = (px: number, w: number) => shown![0] + ((px - GRID.left) / (w - GRID.left - GRID.right)) * (shown![1] - shown![0]);
  const drag = useDragSelect(
    el,
    onSelectRange && shown
      ? (b) => {
          const [a, z] = [toTime(Math.min(b.x0, b.x1), b.w), toTime(Math.max(b.x0, b.x1), b.w)];
          const from = Math.max(shown[0], a);
          const to = Math.min(shown[1], z);
          if (to > from) onSelectRange(from, to);
        }
      : undefined,
  );
  return (
    <div className="chart-wrap">
      <h3>{title}</h3>
      <div className={"chart-box" + (drag.enabled ? " drag-select" : "")} {...drag.handlers}>
        <div className="chart" ref={el} data-testid="chart" data-title={title} data-series={JSON.stringify(series)} />
        {dataset && shown && <MarkerLayer dataset={dataset} range={shown} grid={GRID} />}
        {drag.box && (
          <div className="drag-box" style={{ left: Math.min(drag.box.x0, drag.box.x1), width: Math.abs(drag.box.x1 - drag.box.x0), top: GRID.top, height: drag.box.h - GRID.top - GRID.bottom }} />
        )}
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

/** A region of a heatmap: times [from, to) in ms, values [lower, upper]. */
export interface HeatRegion {
  from: number;
  to: number;
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
  onSelect,
}: {
  title: string;
  dataset?: string;
  times: number[]; // every bucket of the query, ascending
  granularity: number; // ms
  buckets: { lower: number; upper: number }[];
  cells: [number, number, number][]; // [time index, bucket index, count]
  onCell: (c: HeatCell) => void;
  /** a drag over the heatmap selects a region of whole cells (BubbleUp) */
  onSelect?: (r: HeatRegion) => void;
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
    if (drag.dragged()) return;
    if (p.componentType === "series" && Array.isArray(p.value)) {
      const [ti, bi] = p.value;
      onCell({ time: times[ti], lower: buckets[bi].lower, upper: buckets[bi].upper });
    }
  });
  // The cells under a box: time buckets left to right, value buckets
  // bottom to top.
  const region = (b: DragBox) => {
    const [t0, t1] = cellRange(b.x0, b.x1, HEAT_GRID.left, b.w - HEAT_GRID.right, times.length);
    const [r0, r1] = cellRange(b.h - b.y0, b.h - b.y1, HEAT_GRID.bottom, b.h - HEAT_GRID.top, buckets.length);
    return { t0, t1, b0: r0, b1: r1 };
  };
  const drag = useDragSelect(
    el,
    onSelect && times.length > 0 && buckets.length > 0
      ? (b) => {
          const r = region(b);
          onSelect({ from: times[r.t0], to: times[r.t1] + granularity, lower: buckets[r.b0].lower, upper: buckets[r.b1].upper });
        }
      : undefined,
  );
  // The box drawn while dragging covers whole cells.
  let shade: React.CSSProperties | null = null;
  if (drag.box && times.length && buckets.length) {
    const r = region(drag.box);
    const cw = (drag.box.w - HEAT_GRID.left - HEAT_GRID.right) / times.length;
    const ch = (drag.box.h - HEAT_GRID.top - HEAT_GRID.bottom) / buckets.length;
    shade = { left: HEAT_GRID.left + r.t0 * cw, width: (r.t1 - r.t0 + 1) * cw, top: drag.box.h - HEAT_GRID.bottom - (r.b1 + 1) * ch, height: (r.b1 - r.b0 + 1) * ch };
  }
  return (
    <div className="chart-wrap">
      <h3>{title}</h3>
      <div className={"chart-box" + (drag.enabled ? " drag-select" : "")} {...drag.handlers}>
        {shade && <div className="drag-box" data-testid="heat-drag" style={shade} />}
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
