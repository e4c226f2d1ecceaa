// Blockwise weight-only quantization in the layout of ONNX Runtime's com.microsoft MatMulNBits: a weight
// (N, K) — nn.Linear's (out, in) — cut into blocks of `blockSize` along K, each with a float32 scale and,
// when asymmetric, a zero point; codes are packed low bits first along K. Dequantized: (code − zero) · scale.

/** How a weight is quantized. */
export interface QuantSpec {
  /** bits per code */
  bits: 4 | 8;
  /** weights per block along K: a power of two ≥ 16 (MatMulNBits' requirement) */
  blockSize: number;
  /** symmetric: zero point 2^(bits−1) implied, scale = absmax / (2^(bits−1) − 1); else min/max with a zero point per block */
  symmetric: boolean;
}

export interface QuantizedMatrix extends QuantSpec {
  /** input features (the reduction axis) */
  readonly K: number;
  /** output features */
  readonly N: number;
  /** codes. (N, kBlocks, blockSize·bits/8); the last block of a row is zero-padded past K */
  readonly packed: Uint8Array;
  /** per-block scales. (N·kBlocks) */
  readonly scales: Float32Array;
  /** per-block zero points packed like the codes, each row padded to whole bytes. (N·⌈kBlocks·bits/8⌉); null when symmetric */
  readonly zeroPoints: Uint8Array | null;
}

export const kBlocks = (K: number, blockSize: number): number => Math.ceil(K / blockSize);

export function checkQuantSpec(s: QuantSpec): void {
  if (s.bits !== 4 && s.bits !== 8) throw new RangeError(`quantization: bits must be 4 or 8, not ${String(s.bits)}`);
  if (!Number.isInteger(s.blockSize) || s.blockSize < 16 || (s.blockSize & (s.blockSize - 1)) !== 0)
    throw new RangeError(`quantization: blockSize must be a power of two ≥ 16, not ${s.blockSize}`);
}

/** Bytes a quantized (N, K) weight occupies: codes, scales and zero points. */
export function quantizedBytes(N: number, K: number, s: QuantSpec): number {
  const nb = kBlocks(K, s.blockSize);
  const zp = s.symmetric ? 0 : N * Math.ceil((nb * s.bits) / 8);
  return N * nb * ((s.blockSize * s.bits) / 8) + 4 * N * nb + zp;
}

/** Round half to even (numpy's rint), so that ties quantize as the golden script does. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Writes a `bits`-wide code at element index i of a low-first packed byte array. */
function put(out: Uint8Array, base: number, i: number, bits: number, code: number): void {
  if (bits === 8) out[base + i] = code;
  else out[base + (i >> 1)]! |= (i & 1 ? code << 4 : code) & 0xff;
}

/** Quantizes w (N, K), row-major, blockwise along K. */
export function quantizeBlockwise(w: Float32Array, N: number, K: number, spec: QuantSpec): QuantizedMatrix {
  checkQuantSpec(spec);
  if (w.length !== N * K) throw new RangeError(`quantization: ${w.length} values for a (${N}, ${K}) weight`);
  const { bits, blockSize, symmetric } = spec;
  const nb = kBlocks(K, blockSize);
  const blob = (blockSize * bits) / 8;
  const zpRow = Math.ceil((nb * bits) / 8);
  const packed = new Uint8Array(N * nb * blob);
  const scales = new Float32Array(N * nb);
  const zeroPoints = symmetric ? null : new Uint8Array(N * zpRow);
  const levels = (1 << bits) - 1;
  const half = 1 << (bits - 1);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nb; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(k0 + blockSize, K);
      // the range always holds 0 (the padding's value), so an all-zero block stays exact
      let lo = 0;
      let hi = 0;
      for (let k = k0; k < k1; k++) {
        const v = w[n * K + k]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      let scale: number;
      let zero: number;
      if (symmetric) {
        scale = Math.fround(Math.max(-lo, hi) / (half - 1));
        zero = half;
      } else {
        scale = Math.fround((hi - lo) / levels);
        zero = scale === 0 ? half : Math.min(Math.max(rint(-lo / scale), 0), levels);
      }
      if (scale === 0) scale = 1;
      scales[n * nb + b] = scale;
      if (zeroPoints) put(zeroPoints, n * zpRow, b, bits, zero);
      // symmetric codes stay in ±(2^(bits−1) − 1) around the zero point, as the scale was chosen for
      const [cmin, cmax] = symmetric ? [1, levels] : [0, levels];
      const base = (n * nb + b) * blob;
      for (let i = 0; i < blockSize; i++) {
        const k = k0 + i;
        const v = k < K ? w[n * K + k]! : 0;
        put(packed, base, i, bits, Math.min(Math.max(rint(v / scale) + zero, cmin), cmax));
      }
    }
  }
  return { bits, blockSize, symmetric, K, N, packed, scales, zeroPoints };
}

/** The code at element i of a low-first packed byte array. */
function get(bytes: Uint8Array, base: number, i: number, bits: number): number {
  return bits === 8 ? bytes[base + i]! : (bytes[base + (i >> 1)]! >> (i & 1 ? 4 : 0)) & 0xf;
}

/** The weight a quantized matrix stands for, as MatMulNBits dequantizes it. → (N, K), row-major, float64 */
export function dequantizeBlockwise(q: QuantizedMatrix): Float64Array {
  const { N, K, bits, blockSize } = q;
  const nb = kBlocks(K, blockSize);
  const blob = (blockSize * bits) / 8;
  const zpRow = Math.ceil((nb * bits) / 8);
  const out = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / blockSize);
      const zero = q.zeroPoints ? get(q.zeroPoints, n * zpRow, b, bits) : 1 << (bits - 1);
      out[n * K + k] = (get(q.packed, (n * nb + b) * blob, k % blockSize, bits) - zero) * q.scales[n * nb + b]!;
    }
  }
  return out;
}
