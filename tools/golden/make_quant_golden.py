# Goldens for blockwise weight-only quantization in ONNX Runtime's MatMulNBits layout (src/engine/quant):
# codes, scales and zero points of small random weights, and x @ dequant(W)^T, written by numpy alone.
# Run: python3 tools/golden/make_quant_golden.py  (deterministic; rewrites test/fixtures/quant/blockwise.json)

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "quant" / "blockwise.json"


def quantize(w, bits, block, symmetric):
    """w (N, K) float32 -> packed codes (N, k_blocks, block*bits/8) u8, scales (N*k_blocks) f32, zero points or None."""
    n, k = w.shape
    nb = -(-k // block)
    padded = np.zeros((n, nb * block), np.float64)
    padded[:, :k] = w.astype(np.float64)
    blocks = padded.reshape(n, nb, block)
    # every block's range holds 0 (the padding's value)
    lo = np.minimum(blocks.min(axis=2), 0.0)
    hi = np.maximum(blocks.max(axis=2), 0.0)
    levels = 2**bits - 1
    half = 2 ** (bits - 1)
    if symmetric:
        scale = (np.maximum(-lo, hi) / (half - 1)).astype(np.float32)
        zero = np.full((n, nb), half, np.int64)
        cmin = 1
    else:
        scale = ((hi - lo) / levels).astype(np.float32)
        safe = np.where(scale == 0, np.float32(1), scale).astype(np.float64)
        zero = np.where(scale == 0, half, np.clip(np.rint(-lo / safe), 0, levels)).astype(np.int64)
        cmin = 0
    scale = np.where(scale == 0, np.float32(1), scale).astype(np.float32)
    codes = np.clip(np.rint(blocks / scale.astype(np.float64)[:, :, None]) + zero[:, :, None], cmin, levels).astype(np.uint8)
    if bits == 8:
        packed = codes
        zp = zero.astype(np.uint8)
    else:
        packed = (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)
        zrow = -(-nb // 2)
        zpad = np.zeros((n, zrow * 2), np.uint8)
        zpad[:, :nb] = zero
        zp = (zpad[:, 0::2] | (zpad[:, 1::2] << 4)).astype(np.uint8)
    deq = ((codes.astype(np.float64) - zero[:, :, None]) * scale.astype(np.float64)[:, :, None]).reshape(n, -1)[:, :k]
    return packed, scale.reshape(-1), (None if symmetric else zp.reshape(-1)), deq


def case(rng, name, n, k, bits, block, symmetric):
    w = (rng.standard_normal((n, k)) * 0.05).astype(np.float32)
    w[0, :block] = 0.0  # an all-zero block (scale 1, every code the zero point)
    x = rng.standard_normal((3, k)).astype(np.float32)
    packed, scales, zp, deq = quantize(w, bits, block, symmetric)
    y = x.astype(np.float64) @ deq.T
    return {
        "name": name,
        "N": n,
        "K": k,
        "bits": bits,
        "blockSize": block,
        "symmetric": symmetric,
        "w": [float(v) for v in w.reshape(-1)],
        "x": [float(v) for v in x.reshape(-1)],
        "packed": [int(v) for v in packed.reshape(-1)],
        "scales": [float(v) for v in scales],
        "zeroPoints": None if zp is None else [int(v) for v in zp],
        "dequantized": [float(v) for v in deq.reshape(-1)],
        "y": [float(v) for v in y.reshape(-1)],
    }


def main():
    rng = np.random.default_rng(20261202)
    # K = 40 over blocks of 16: a partial last block; k_blocks = 3, odd, so int4 zero-point rows pad a nibble
    cases = [
        case(rng, "int8-symmetric", 5, 40, 8, 16, True),
        case(rng, "int8-asymmetric", 5, 40, 8, 16, False),
        case(rng, "int4-symmetric", 5, 40, 4, 16, True),
        case(rng, "int4-asymmetric", 5, 40, 4, 16, False),
        case(rng, "int8-symmetric-b32", 4, 64, 8, 32, True),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    body = {"generator": "tools/golden/make_quant_golden.py", "numpy": np.__version__, "x_shape": "(3, K)", "cases": cases}
    OUT.write_text(json.dumps(body, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
