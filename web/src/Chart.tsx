// Time-series line charts and heatmaps drawn with Apache ECharts (only the
// parts used are bundled).
import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { LineChart, HeatmapChart } from "echarts/charts";
import { GridComponent, TooltipComponent, LegendComponent, VisualMapComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

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

export function TimeChart({ title, series, range, connectNulls = false, onPoint }: { title: string; series: LineSeries[]; range?: [number, number]; connectNulls?: boolean; onPoint: (p: PointClick) => void }) {
  const option = {
    animation: false,
    tooltip: { trigger: "axis", confine: true },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 60, right: 20, top: 20, bottom: 50 },
    xAxis: { type: "time", ...(range ? { min: range[0], max: range[1] } : {}) },
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
      <div className="chart" ref={el} data-testid="chart" data-title={title} data-series={JSON.stringify(series)} />
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

export function HeatmapChartView({
  title,
  times,
  granularity,
  buckets,
  cells,
  onCell,
}: {
  title: string;
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
    grid: { left: 70, right: 20, top: 20, bottom: 70 },
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
  const el = useChart(option, (p) => {
    if (p.componentType === "series" && Array.isArray(p.value)) {
      const [ti, bi] = p.value;
      onCell({ time: times[ti], lower: buckets[bi].lower, upper: buckets[bi].upper });
    }
  });
  return (
    <div className="chart-wrap">
      <h3>{title}</h3>
      <div
        className="chart"
        ref={el}
        data-testid="heatmap"
        data-title={title}
        data-cells={JSON.stringify(cells)}
        data-times={JSON.stringify(times)}
        data-legend={JSON.stringify(pieces.map((p) => [p.min, p.max]))}
      />
    </div>
  );
}
