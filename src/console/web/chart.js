// A line chart (uPlot) of a fine-tune's per-step history: x is the step, one line per series; gaps
// (steps without a validation pass) are bridged. Redrawn in place when the data grows.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { html } from "./ui.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"];

/** series: [{label, values}] aligned with `steps`; each value a number or null. */
export function LineChart({ title, steps, series, yLabel }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = [steps, ...series.map((s) => s.values)];
  const shape = series.map((s) => s.label).join("|");
  useEffect(() => {
    const width = Math.max(320, box.current.clientWidth || 600);
    plot.current = new uPlot(
      {
        title,
        width,
        height: 260,
        scales: { x: { time: false } },
        axes: [{ label: "step" }, { label: yLabel }],
        series: [
          { label: "step" },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            spanGaps: true,
            points: { show: true, size: 4 },
          })),
        ],
      },
      data,
      box.current,
    );
    return () => plot.current?.destroy();
  }, [shape, title]);
  useEffect(() => plot.current?.setData(data), [JSON.stringify(data)]);
  // what is drawn, for tests and assistive tools: points per series (nulls are gaps)
  const drawn = series.map((s) => `${s.label}: ${s.values.filter((v) => v != null).length}`).join(", ");
  return html`<figure class="chart" aria-label=${title} data-points=${steps.length} data-series=${drawn}><div ref=${box}></div></figure>`;
}
