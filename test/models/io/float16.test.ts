// float16 / bfloat16 <-> float32 conversion checked against known bit patterns and exhaustive round trips.

import assert from "node:assert/strict";
import { test } from "node:test";
import { bf16ToF32, f16ToF32, f32BitsToBf16, f32BitsToF16, f32ToBf16, f32ToF16 } from "../../../src/models/io/float16.ts";

const f32Bits = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]!;
const fromBits = (bits: number): number => new Float32Array(Uint32Array.of(bits).buffer)[0]!;

test("float16 bit patterns decode to the right float32 values", () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  const out = f16ToF32(Uint16Array.from(cases, ([h]) => h));
  cases.forEach(([h, v], i) => assert.equal(out[i], v, `0x${h.toString(16)}`));
  const special = f16ToF32(Uint16Array.of(0x8000, 0x7e00, 0xfe01));
  assert.ok(Object.is(special[0], -0));
  assert.ok(Number.isNaN(special[1]) && Number.isNaN(special[2]));
});

test("bfloat16 bit patterns decode by a 16-bit shift", () => {
  const cases: [number, number][] = [
    [0x3f80, 1],
    [0x4049, 3.140625],
    [0xc2f7, -123.5],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x0001, 2 ** -133],
  ];
  const out = bf16ToF32(Uint16Array.from(cases, ([h]) => h));
  cases.forEach(([h, v], i) => assert.equal(out[i], v, `0x${h.toString(16)}`));
  assert.ok(Number.isNaN(bf16ToF32(Uint16Array.of(0x7fc0))[0]));
});

test("every float16 value survives float16 -> float32 -> float16", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToF16(f16ToF32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok((back[h]! & 0x7c00) === 0x7c00 && (back[h]! & 0x3ff) !== 0, `NaN 0x${h.toString(16)}`);
    else assert.equal(back[h], h, `0x${h.toString(16)}`);
  }
});

test("float32 -> float16 rounds to nearest even, overflows to inf and underflows to zero", () => {
  assert.equal(f32BitsToF16(f32Bits(1 + 2 ** -11)), 0x3c00); // halfway between 1 and next: ties to even (down)
  assert.equal(f32BitsToF16(f32Bits(1 + 3 * 2 ** -11)), 0x3c02); // halfway, odd below: rounds up
  assert.equal(f32BitsToF16(f32Bits(1 + 2 ** -11 + 2 ** -20)), 0x3c01); // just above halfway
  assert.equal(f32BitsToF16(f32Bits(65520)), 0x7c00); // rounds past the largest finite value
  assert.equal(f32BitsToF16(f32Bits(65519)), 0x7bff);
  assert.equal(f32BitsToF16(f32Bits(1e10)), 0x7c00);
  assert.equal(f32BitsToF16(f32Bits(-1e10)), 0xfc00);
  assert.equal(f32BitsToF16(f32Bits(2 ** -25)), 0x0000); // exactly half the smallest subnormal: ties to even
  assert.equal(f32BitsToF16(f32Bits(2 ** -25 * 1.5)), 0x0001);
  assert.equal(f32BitsToF16(f32Bits(3 * 2 ** -25)), 0x0002); // 1.5 units: ties to even (up)
  assert.equal(f32BitsToF16(f32Bits(1e-10)), 0x0000);
  assert.equal(f32BitsToF16(f32Bits(-1e-10)), 0x8000);
  assert.equal(f32BitsToF16(f32Bits(2 ** -14 - 2 ** -25)), 0x0400); // subnormal rounding up into the normals
});

test("float32 -> bfloat16 rounds to nearest even and keeps NaN a NaN", () => {
  assert.equal(f32BitsToBf16(f32Bits(1)), 0x3f80);
  assert.equal(f32BitsToBf16(0x3f808000), 0x3f80); // tie, even below
  assert.equal(f32BitsToBf16(0x3f818000), 0x3f82); // tie, odd below
  assert.equal(f32BitsToBf16(0x3f808001), 0x3f81);
  assert.equal(f32BitsToBf16(0x7f7fffff), 0x7f80); // max float32 rounds to inf
  assert.equal(f32BitsToBf16(0x7fc00000), 0x7fc0);
  assert.equal(f32BitsToBf16(0x7f800001) & 0x7f80, 0x7f80);
  assert.notEqual(f32BitsToBf16(0x7f800001) & 0x7f, 0); // signalling NaN must not become inf
  const values = Float32Array.of(3.140625, -123.5, 0, 2 ** -133);
  assert.deepEqual([...bf16ToF32(f32ToBf16(values))], [...values]);
  assert.equal(fromBits(0x3f800000), 1);
});
