// RMS and layer norm spelled the way ONNX Runtime's optimizer recognizes them (Pow → ReduceMean → Add →
// Sqrt → Div → Mul), so inference sessions run one fused SimplifiedLayerNormalization / LayerNormalization
// kernel per norm instead of seven elementwise nodes. Same math as nn.rmsNorm / nn.layerNorm.

import { type Tensor, op } from "../../engine/index.ts";

/** x / sqrt(mean(x²) + eps) · weight over the last axis. x: (…, C), weight: (C) */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const ms = op.mean(op.pow(x, 2), -1, true); // (…, 1)
  return op.mul(op.div(x, op.sqrt(op.add(ms, eps))), weight);
}

/** (x − mean) / sqrt(var + eps) · weight + bias over the last axis. x: (…, C), weight/bias: (C) */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  const xc = op.sub(x, op.mean(x, -1, true));
  const v = op.mean(op.pow(xc, 2), -1, true); // (…, 1)
  return op.add(op.mul(op.div(xc, op.sqrt(op.add(v, eps))), weight), bias);
}
