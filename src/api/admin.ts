// The operator's admin view under /20231130/admin (admin API keys only, `sprig key create --admin`): every
// node with its capacity, what is free, and which cluster holds which unit on which cores.

import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ControlPlane } from "../control/index.ts";
import { route } from "./routes.ts";

const NodeUnit = z
  .object({
    clusterId: z.string(),
    displayName: z.string().nullable(),
    compartmentId: z.string().nullable(),
    type: z.string().nullable(),
    unitShape: z.string().nullable(),
    lifecycleState: z.string().nullable(),
    unitIndex: z.number().int(),
    cores: z.array(z.number().int()),
    memoryBytes: z.number().int(),
  })
  .meta({ id: "NodeUnit" });

export const NodeView = z
  .object({
    id: z.string(),
    name: z.string(),
    cores: z.array(z.number().int()).describe("CPU ids units may reserve"),
    memoryBytes: z.number().int().describe("memory units may reserve"),
    accelerators: z.array(z.string()),
    pinning: z
      .object({ enabled: z.boolean(), reason: z.string().nullable() })
      .describe("whether unit processes are pinned to their cores, and why not"),
    address: z.string().nullable().optional().describe("a worker node's internal listener, where API nodes route inference"),
    lost: z
      .object({ time: z.string(), reason: z.string() })
      .nullable()
      .optional()
      .describe("set when an API node declared the node lost (no heartbeat); its units were placed elsewhere"),
    timeRegistered: z.string(),
    timeHeartbeat: z.string(),
    freeCores: z.array(z.number().int()),
    freeMemoryBytes: z.number().int(),
    units: z.array(NodeUnit).describe("the units reserved on the node, by cluster"),
  })
  .meta({ id: "Node" });

export function adminRoutes(app: FastifyInstance, cp: ControlPlane): void {
  route(
    app,
    {
      method: "GET",
      url: "/20231130/admin/nodes",
      tag: "Admin",
      summary: "List nodes, their capacity and reservations (admin API keys only)",
      response: z.object({ items: z.array(NodeView) }).meta({ id: "NodeCollection" }),
    },
    async ({ scope }) => ({ items: (await cp.capacityView(scope)).nodes }),
  );
}
