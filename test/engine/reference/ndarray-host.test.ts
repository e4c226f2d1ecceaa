// Reference building blocks: broadcast index arithmetic, float16 conversion, HostTensor round trips.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { f32, i64 } from "../../../src/engine/ir/host-tensor.ts";
import { broadcastOffsets, broadcastShape } from "../../../src/engine/reference/ndarray.ts";
import { f16round, fromHost, halfToNumber, ndarray, numberToHalf, toHost } from "../../../src/engine/reference/index.ts";

describe("reference ndarray and host conversion", () => {
  it("broadcasts shapes and maps output positions to input positions", () => {
    assert.deepEqual(broadcastShape([2, 1], [3], []), [2, 3]);
    assert.throws(() => broadcastShape([2], [3]), /cannot broadcast \[2\] with \[3\]/);
    assert.deepEqual(Array.from(broadcastOffsets([2, 1], [2, 3])), [0, 0, 0, 1, 1, 1]);
    assert.deepEqual(Array.from(broadcastOffsets([3], [2, 3])), [0, 1, 2, 0, 1, 2]);
    assert.deepEqual(Array.from(broadcastOffsets([], [2])), [0, 0]);
  });

  it("converts float16 bits like IEEE half (round to nearest even, subnormals, overflow)", () => {
    assert.equal(halfToNumber(0x3c00), 1);
    assert.equal(halfToNumber(0x7bff), 65504);
    assert.equal(halfToNumber(0x0001), 2 ** -24);
    assert.equal(halfToNumber(0xfc00), -Infinity);
    assert.ok(Number.isNaN(halfToNumber(0x7e00)));
    assert.equal(numberToHalf(1 + 2 ** -11), 0x3c00); // tie → even
    assert.equal(numberToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
    assert.equal(numberToHalf(65520), 0x7c00); // rounds past the largest finite
    assert.equal(numberToHalf(-0), 0x8000);
    assert.equal(f16round(0.1), 0.0999755859375);
    assert.equal(f16round(2 ** -25 * 1.01), 2 ** -24);
    assert.equal(f16round(2 ** -25), 0);
  });

  it("round-trips HostTensors through float64", () => {
    const a = fromHost(i64([2], [3, -4]));
    assert.deepEqual([a.dtype, Array.from(a.data)], ["int64", [3, -4]]);
    assert.deepEqual(toHost(a).data, BigInt64Array.of(3n, -4n));
    assert.deepEqual(toHost(fromHost(f32([1], [0.5])), "float16").data, Uint16Array.of(0x3800));
    assert.throws(() => toHost(ndarray("int64", [1], [0.5])), /not an integer/);
    assert.throws(() => fromHost({ dtype: "int32", shape: [1], data: Float64Array.of(1.5) }), /not an integer/);
    assert.deepEqual(Array.from(fromHost({ dtype: "bool", shape: [2], data: Uint8Array.of(0, 7) }).data), [0, 1]);
  });
});
