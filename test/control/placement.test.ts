// Placement rules as pure functions: free capacity, spreading a cluster over nodes, tightest fit, memory
// as well as cores, all-or-none, and the CPU-list notation shared with taskset and /proc.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type NodeCapacity,
  type UnitReservation,
  UNIT_SHAPES,
  cpuList,
  freeCapacity,
  parseCpuList,
  place,
} from "../../src/control/index.ts";

const GiB = 1024 ** 3;
const [SMALL, MEDIUM] = UNIT_SHAPES;
const node = (id: string, cores: number, memGiB = 64): NodeCapacity => ({
  id,
  name: id,
  cores: Array.from({ length: cores }, (_, i) => i),
  memoryBytes: memGiB * GiB,
});
const held = (clusterId: string, unitIndex: number, nodeId: string, cores: number[], memGiB = 2): UnitReservation => ({
  clusterId,
  unitIndex,
  nodeId,
  cores,
  memoryBytes: memGiB * GiB,
});

test("free capacity: reserved cores and memory are taken off; cores a node no longer has do not count", () => {
  const free = freeCapacity([node("a", 4, 16)], [held("c1", 0, "a", [0]), held("c1", 1, "a", [7])]);
  assert.deepEqual(free, [
    { nodeId: "a", name: "a", totalCores: 4, freeCores: [1, 2, 3], totalMemoryBytes: 16 * GiB, freeMemoryBytes: 12 * GiB },
  ]);
});

test("units take the lowest free cores; a cluster spreads over nodes before doubling up", () => {
  const p = place([node("a", 4), node("b", 4)], [held("other", 0, "a", [0])], "c", SMALL!, [0, 1, 2]);
  assert.ok(p.ok);
  assert.deepEqual(
    p.units.map((u) => [u.unitIndex, u.nodeId, u.cores]),
    // unit 0 goes to a (tighter: 3 free), unit 1 to b (the node with fewer of c's units), unit 2 back to a
    [
      [0, "a", [1]],
      [1, "b", [0]],
      [2, "a", [2]],
    ],
  );
  assert.ok(p.units.every((u) => u.memoryBytes === SMALL!.memoryBytes && u.clusterId === "c"));
});

test("the tightest node wins, so a large hole stays free for a large shape", () => {
  const p = place([node("big", 4), node("small", 2)], [], "c", SMALL!, [0]);
  assert.ok(p.ok);
  assert.equal(p.units[0]!.nodeId, "small");
  const m = place([node("big", 4), node("small", 2)], [held("x", 0, "small", [0])], "m", MEDIUM!, [0]);
  assert.ok(m.ok);
  assert.deepEqual([m.units[0]!.nodeId, m.units[0]!.cores], ["big", [0, 1]], "a 2-core unit does not fit the 1 free core of 'small'");
});

test("all or none: a refusal says how many would fit and what is free, and places nothing", () => {
  const p = place([node("a", 2)], [held("x", 0, "a", [0])], "c", SMALL!, [0, 1]);
  assert.equal(p.ok, false);
  if (p.ok) return;
  assert.equal(p.fits, 1);
  assert.deepEqual(p.free[0]!.freeCores, [1]);
});

test("memory is reserved too: free cores without the memory do not fit", () => {
  const p = place([node("a", 8, 3)], [], "c", SMALL!, [0, 1]);
  assert.equal(p.ok, false);
  if (!p.ok) assert.equal(p.fits, 1, "3 GiB holds one 2 GiB unit");
});

test("CPU lists: taskset's notation both ways; malformed lists are null", () => {
  assert.equal(cpuList([3, 0, 1, 2, 6, 8, 9]), "0-3,6,8-9");
  assert.deepEqual(parseCpuList("0-3,6,8-9"), [0, 1, 2, 3, 6, 8, 9]);
  assert.deepEqual(parseCpuList(" 1 "), [1]);
  for (const bad of ["", "a", "3-1", "1,,2", "-1"]) assert.equal(parseCpuList(bad), null, bad);
});
