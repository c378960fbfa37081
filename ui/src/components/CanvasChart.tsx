import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
  type Plugin,
} from 'chart.js';
import {
  chart_axis_grid_stroke_Color,
  chart_global_FontFamily,
  chart_global_FontSize_sm,
  chart_global_label_Fill,
  chart_tooltip_flyoutStyle_Fill,
} from '@patternfly/react-tokens';
import { useLayoutEffect, useRef } from 'react';

/**
 * The dashboard's charts are drawn by Chart.js on a canvas, in PatternFly's
 * chart theme (its chart tokens: font, label and grid colors, tooltip).
 * PatternFly's own charts (Victory) drew each chart as a few hundred SVG
 * elements from about 350 KB of script; with Chart.js the dashboard's first
 * paint went from 957 to 769 ms (docs/benchmarks.md).
 *
 * Each chart is drawn as its tile is committed, before the browser paints,
 * and marks its canvas data-drawn once drawn (the dashboard's tests and
 * benchmark wait for that). The data is also the canvas's accessible name,
 * and every tile lists it as links beside the chart.
 */

/** Marks a canvas once its chart has been drawn. */
const drawnMark: Plugin = {
  id: 'stockadeDrawn',
  afterRender(chart) {
    chart.canvas.dataset.drawn = 'true';
  },
};

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  drawnMark,
);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = chart_global_FontFamily.value;
Chart.defaults.font.size = 12;
Chart.defaults.color = chart_global_label_Fill.value;
Chart.defaults.borderColor = chart_axis_grid_stroke_Color.value;
Chart.defaults.plugins.tooltip.backgroundColor = chart_tooltip_flyoutStyle_Fill.value;
Chart.defaults.plugins.tooltip.bodyFont = { size: Number(chart_global_FontSize_sm.value) };
Chart.defaults.plugins.tooltip.titleFont = { size: Number(chart_global_FontSize_sm.value), weight: 'bold' };
Chart.defaults.plugins.tooltip.displayColors = false;

/** A chart on a canvas of the given height, as wide as its box. */
export function CanvasChart<T extends ChartType>({
  config,
  label,
  height,
  testId,
}: {
  /** The chart; a new object redraws it, so keep it in a useMemo. */
  config: ChartConfiguration<T>;
  /** What the chart shows, in words: its accessible name. */
  label: string;
  height: number;
  testId?: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useLayoutEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [config]);
  return (
    <div className="stk-chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} data-testid={testId}>
        {label}
      </canvas>
    </div>
  );
}
