// Half-precision conversions for checkpoint I/O: float16 and bfloat16 bit patterns <-> float32.
// Work is done on integer views (Uint32Array) so NaN payloads survive and no float register is involved.

let f16Table: Uint32Array | null = null;

/** float32 bit pattern for every float16 bit pattern; 256 KiB, built on first use. */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  const f = new Float32Array(1);
  const fBits = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) table[h] = sign | 0x7f800000 | (mant << 13);
    else if (exp !== 0) table[h] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    else {
      // Subnormal (or zero): mant * 2^-24 is exact in float32, so let the FPU normalise it.
      f[0] = mant * 2 ** -24;
      table[h] = sign | fBits[0]!;
    }
  }
  f16Table = table;
  return table;
}

function u32View(dst: Float32Array): Uint32Array {
  return new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
}

function checkLengths(src: ArrayLike<number>, dst: ArrayLike<number>, what: string): void {
  if (dst.length !== src.length) throw new Error(`${what}: destination has ${dst.length} elements, source ${src.length}`);
}

/** float16 bits -> float32 values (table lookup). */
export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLengths(src, dst, "f16ToF32");
  const table = f16ToF32Table();
  const out = u32View(dst);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return dst;
}

/** bfloat16 bits -> float32 values: bfloat16 is the top half of a float32. */
export function bf16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLengths(src, dst, "bf16ToF32");
  const out = u32View(dst);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

/** One float32 bit pattern -> float16 bits, rounding to nearest even (overflow -> inf, NaN stays NaN). */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal result: shift the full 24-bit significand so one unit is 2^-24.
    const full = mant | 0x800000;
    const shift = 14 - e;
    const half = 2 ** (shift - 1);
    let m = Math.floor(full / 2 ** shift);
    const rem = full - m * 2 ** shift;
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to inf).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** One float32 bit pattern -> bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN). */
export function f32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) >>> 0 > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/** float32 values -> float16 bits. */
export function f32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLengths(src, dst, "f32ToF16");
  const bits = u32View(src);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16(bits[i]!);
  return dst;
}

/** float32 values -> bfloat16 bits. */
export function f32ToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLengths(src, dst, "f32ToBf16");
  const bits = u32View(src);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToBf16(bits[i]!);
  return dst;
}
