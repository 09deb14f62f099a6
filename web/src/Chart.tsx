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

export function TimeChart({ title, series, range, onPoint }: { title: string; series: LineSeries[]; range?: [number, number]; onPoint: (p: PointClick) => void }) {
  const option = {
    animation: false,
    tooltip: { trigger: "axis", confine: true },
    legend: { type: "scroll", bottom: 0 },
    grid: { left: 60, right: 20, top: 20, bottom: 50 },
    xAxis: { type: "time", ...(range ? { min: range[0], max: range[1] } : {}) },
    yAxis: { type: "value", scale: false },
    series: series.map((s) => ({ name: s.name, type: "line", showSymbol: s.points.length < 60, symbolSize: 6, connectNulls: false, data: s.points })),
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

export function HeatmapChartView({
  title,
  times,
  buckets,
  cells,
  onCell,
}: {
  title: string;
  times: number[];
  buckets: { lower: number; upper: number }[];
  cells: [number, number, number][]; // [time index, bucket index, count]
  onCell: (c: HeatCell) => void;
}) {
  const max = cells.reduce((m, c) => Math.max(m, c[2]), 0);
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2));
  const option = {
    animation: false,
    tooltip: {
      position: "top",
      formatter: (p: any) => {
        const [ti, bi, n] = p.value;
        return `${new Date(times[ti]).toISOString().slice(11, 19)}<br/>${fmt(buckets[bi].lower)} – ${fmt(buckets[bi].upper)}: <b>${n}</b>`;
      },
    },
    grid: { left: 70, right: 20, top: 20, bottom: 60 },
    xAxis: { type: "category", data: times.map((t) => new Date(t).toISOString().slice(11, 16)), splitArea: { show: false } },
    yAxis: { type: "category", data: buckets.map((b) => fmt(b.lower)), splitArea: { show: false }, axisLabel: { interval: Math.max(0, Math.ceil(buckets.length / 8) - 1) } },
    visualMap: { min: 0, max: Math.max(max, 1), calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, inRange: { color: ["#f8fafc", "#93c5fd", "#2563eb", "#7c3aed", "#db2777"] } },
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
      <div className="chart" ref={el} data-testid="heatmap" data-title={title} data-cells={JSON.stringify(cells)} />
    </div>
  );
}
