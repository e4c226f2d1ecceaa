// The running hosting pools, one per HOSTING cluster that has endpoints: started on the first endpoint
// (loading the cluster's base model in unitCount worker processes), closed when the last one goes.

import type { HostingExecutor, HostingPool } from "./executors.ts";
import { shape } from "./shapes.ts";
import type { DedicatedAiCluster } from "./resources.ts";

export class Pools {
  private readonly pools = new Map<string, Promise<HostingPool>>();

  constructor(private readonly executor: HostingExecutor) {}

  /** The cluster's pool, started for `baseModelDir` if it is not running. */
  ensure(cluster: DedicatedAiCluster, baseModelDir: string): Promise<HostingPool> {
    let p = this.pools.get(cluster.id);
    if (!p) {
      p = this.executor.startPool({ clusterId: cluster.id, baseModelDir, replicas: cluster.unitCount, threads: shape(cluster.unitShape).threads });
      this.pools.set(cluster.id, p);
      // a pool that failed to start is forgotten, so the next endpoint tries again
      p.catch(() => {
        if (this.pools.get(cluster.id) === p) this.pools.delete(cluster.id);
      });
    }
    return p;
  }

  get(clusterId: string): Promise<HostingPool> | undefined {
    return this.pools.get(clusterId);
  }

  running(): string[] {
    return [...this.pools.keys()];
  }

  async close(clusterId: string): Promise<void> {
    const p = this.pools.get(clusterId);
    this.pools.delete(clusterId);
    if (p) await (await p.catch(() => null))?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.running().map((id) => this.close(id)));
  }
}
