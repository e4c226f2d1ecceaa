// NEEDS_ATTENTION for dedicated AI clusters (OCI's state): the cluster exists but some of its units cannot
// run — no node had room for their reserved cores at start-up, or its hosting workers could not be started.
// lifecycleDetails carries the reason and what an operator can do; the state clears by itself (ACTIVE) once
// the units run again, e.g. after the operator frees cores and restarts, or an endpoint's workers start.

import type { ControlContext } from "./context.ts";
import { now } from "./ids.ts";

/** Put an ACTIVE (or UPDATING) cluster in NEEDS_ATTENTION with the reason; other states are left alone. */
export async function needsAttention(ctx: ControlContext, clusterId: string, reason: string): Promise<void> {
  if (ctx.bg.closed) return;
  const row = await ctx.store.clusters.get(clusterId);
  if (!row) return;
  const c = row.value;
  if (c.lifecycleState !== "ACTIVE" && c.lifecycleState !== "UPDATING" && c.lifecycleState !== "NEEDS_ATTENTION") return;
  if (c.lifecycleState === "NEEDS_ATTENTION" && c.lifecycleDetails === reason) return;
  ctx.log.warn({ clusterId, reason }, "cluster needs attention");
  await ctx.store.clusters.update({ ...c, lifecycleState: "NEEDS_ATTENTION", lifecycleDetails: reason, timeUpdated: now() });
}

/** The units run again: a NEEDS_ATTENTION cluster is ACTIVE, its reason cleared. */
export async function attentionResolved(ctx: ControlContext, clusterId: string): Promise<void> {
  if (ctx.bg.closed) return;
  const row = await ctx.store.clusters.get(clusterId);
  if (row?.value.lifecycleState !== "NEEDS_ATTENTION") return;
  ctx.log.info({ clusterId }, "cluster no longer needs attention");
  await ctx.store.clusters.update({ ...row.value, lifecycleState: "ACTIVE", lifecycleDetails: null, timeUpdated: now() });
}
