// Line charts as PNG with @napi-rs/canvas (Skia), and the base model's loss curve: training loss per step
// (raw and smoothed) with the held-out loss at each evaluation. Text uses the system's sans-serif font.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCanvas } from "@napi-rs/canvas";

export interface Series {
  name: string;
  points: readonly [number, number][];
  color: string;
  width?: number;
  markers?: boolean;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  width?: number;
  height?: number;
}

/** "nice" tick values covering [lo, hi] */
function ticks(lo: number, hi: number, n = 6): number[] {
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChartPng(c: Chart): Buffer {
  const W = c.width ?? 900;
  const H = c.height ?? 540;
  const m = { l: 70, r: 20, t: 50, b: 60 };
  const canvas = createCanvas(W, H);
  const g = canvas.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, W, H);
  const all = c.series.flatMap((s) => s.points);
  const [x0, x1] = [Math.min(0, ...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(0, ...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])) * 1.05];
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  g.font = "13px sans-serif";
  g.strokeStyle = "#e5e5e5";
  g.fillStyle = "#333333";
  g.lineWidth = 1;
  g.textAlign = "center";
  for (const x of ticks(x0, x1)) {
    g.beginPath();
    g.moveTo(X(x), m.t);
    g.lineTo(X(x), H - m.b);
    g.stroke();
    g.fillText(String(x), X(x), H - m.b + 18);
  }
  g.textAlign = "right";
  for (const y of ticks(y0, y1)) {
    g.beginPath();
    g.moveTo(m.l, Y(y));
    g.lineTo(W - m.r, Y(y));
    g.stroke();
    g.fillText(String(y), m.l - 8, Y(y) + 4);
  }
  g.strokeStyle = "#333333";
  g.strokeRect(m.l, m.t, W - m.l - m.r, H - m.t - m.b);
  g.textAlign = "center";
  g.fillText(c.xLabel, (m.l + W - m.r) / 2, H - 18);
  g.save();
  g.translate(18, (m.t + H - m.b) / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(c.yLabel, 0, 0);
  g.restore();
  g.font = "bold 16px sans-serif";
  g.fillText(c.title, W / 2, 28);
  g.font = "13px sans-serif";
  c.series.forEach((s, i) => {
    g.strokeStyle = s.color;
    g.fillStyle = s.color;
    g.lineWidth = s.width ?? 2;
    g.beginPath();
    s.points.forEach(([x, y], j) => (j === 0 ? g.moveTo(X(x), Y(y)) : g.lineTo(X(x), Y(y))));
    g.stroke();
    if (s.markers) for (const [x, y] of s.points) g.fillRect(X(x) - 3, Y(y) - 3, 6, 6);
    // legend, top right
    const ly = m.t + 18 + i * 18;
    g.fillRect(W - m.r - 250, ly - 6, 18, 3);
    g.textAlign = "left";
    g.fillStyle = "#333333";
    g.fillText(s.name, W - m.r - 225, ly);
  });
  return canvas.toBuffer("image/png");
}

const readCsv = (file: string): Record<string, number>[] => {
  const [head, ...rows] = readFileSync(file, "utf8").trim().split("\n");
  const keys = head!.split(",");
  return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [keys[i]!, Number(v)])));
};

/** loss_curve.png from a model directory's train_loss.csv and eval_loss.csv. */
export function plotLossCurve(dir: string): string {
  const train = readCsv(join(dir, "train_loss.csv"));
  const evals = readCsv(join(dir, "eval_loss.csv"));
  // trailing mean over the last 25 steps (an EMA would lag behind the fast early fall)
  const smooth = train.map((r, i) => {
    const w = train.slice(Math.max(0, i - 24), i + 1);
    return [r.step!, w.reduce((a, x) => a + x.loss!, 0) / w.length] as [number, number];
  });
  const png = lineChartPng({
    title: "sprig-base pre-training",
    xLabel: "optimizer step (8 × 256 tokens)",
    yLabel: "cross-entropy loss (nats / token)",
    series: [
      { name: "train loss", points: train.map((r) => [r.step!, r.loss!]), color: "#9ecae1", width: 1 },
      { name: "train loss (mean of 25 steps)", points: smooth, color: "#2171b5" },
      { name: "held-out loss", points: evals.map((r) => [r.step!, r.held_out_loss!]), color: "#e6550d", markers: true },
    ],
  });
  const file = join(dir, "loss_curve.png");
  writeFileSync(file, png);
  return file;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(plotLossCurve(process.argv[2] ?? "models/sprig-base"));
