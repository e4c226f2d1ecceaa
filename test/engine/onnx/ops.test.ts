// Every primitive op: onnxruntime (via the ONNX lowering) against the float64 reference interpreter.
// The case table is keyed by OpName, so a new op without a case fails to type-check.

import { describe, it } from "node:test";
import type { OpName } from "../../../src/engine/ir/op-specs.ts";
import { type Case, checkCase } from "./check.ts";
import { ELEMENTWISE_CASES } from "./cases-elementwise.ts";
import { FUSED_CASES } from "./cases-fused.ts";
import { SHAPE_CASES } from "./cases-shape.ts";

const CASES: { [O in OpName]: Case[] } = { ...ELEMENTWISE_CASES, ...FUSED_CASES, ...SHAPE_CASES };

describe("ONNX lowering vs reference, per primitive op", () => {
  for (const [opName, cases] of Object.entries(CASES)) {
    describe(opName, () => {
      for (const c of cases) it(c.name, () => checkCase(c));
    });
  }
});
