// IEEE 754 half precision: decoding float16 bits (Uint16Array storage) and rounding to float16.
// Node 20 has no Math.f16round, so the conversion is done by hand from float32 bits.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The number a float16 bit pattern stands for. */
export function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * float16 bits of `x`, rounded to nearest-even. The value goes through float32 first, as ONNX Runtime
 * casts float32 → float16 (so a float64 input may see float32's rounding, then float16's).
 */
export function numberToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e > 0) {
    // normal: keep 10 mantissa bits; a carry out of the mantissa correctly bumps the exponent (up to inf)
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    return sign | h;
  }
  // subnormal: value = M · 2^(exp-150), counted in units of 2^-24
  const shift = 126 - exp;
  if (shift > 25) return sign;
  const M = mant | 0x800000;
  let h = M >>> shift;
  const rem = M & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rem > halfway || (rem === halfway && h & 1)) h++;
  return sign | h;
}

/** `x` rounded to the nearest float16 value (through float32, see numberToHalf). */
export function f16round(x: number): number {
  return halfToNumber(numberToHalf(x));
}
