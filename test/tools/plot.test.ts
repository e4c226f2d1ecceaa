// PNG line charts: a valid PNG of the requested size, and the loss-curve file from CSV logs.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { lineChartPng, plotLossCurve } from "../../tools/pretrain/plot.ts";

const size = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

test("a chart is a PNG of the requested size, with pixels drawn in the series colour", () => {
  const png = lineChartPng({
    title: "t",
    xLabel: "x",
    yLabel: "y",
    width: 320,
    height: 200,
    series: [
      {
        name: "a",
        points: [
          [0, 1],
          [10, 3],
        ],
        color: "#ff0000",
        width: 4,
      },
    ],
  });
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual(size(png), { width: 320, height: 200 });
  const blank = lineChartPng({
    title: "t",
    xLabel: "x",
    yLabel: "y",
    width: 320,
    height: 200,
    series: [
      {
        name: "a",
        points: [
          [0, 1],
          [10, 3],
        ],
        color: "#ffffff",
        width: 4,
      },
    ],
  });
  assert.notDeepEqual(png, blank);
});

test("the loss curve is drawn from train_loss.csv and eval_loss.csv", () => {
  const dir = mkdtempSync(join(tmpdir(), "sprig-plot-"));
  try {
    writeFileSync(
      join(dir, "train_loss.csv"),
      "step,lr,loss,grad_norm,ms,tokens\n1,1e-3,7.9,2,400,2040\n2,1e-3,7.1,2,400,2040\n3,1e-3,6.5,2,400,2040\n",
    );
    writeFileSync(join(dir, "eval_loss.csv"), "step,held_out_loss,perplexity,tokens\n3,6.4,601.8,1000\n");
    const file = plotLossCurve(dir);
    assert.equal(file, join(dir, "loss_curve.png"));
    assert.deepEqual(size(readFileSync(file)), { width: 900, height: 540 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
