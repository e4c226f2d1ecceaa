// The running hosting pools, one per HOSTING cluster that has endpoints: started on the first endpoint
// (loading the cluster's base model in unitCount worker processes), closed when the last one goes.

import type { Capacity } from "./capacity.ts";
import type { HostingExecutor, HostingPool } from "./executors.ts";
import type { DedicatedAiCluster } from "./resources.ts";

export class Pools {
  private readonly pools = new Map<string, Promise<HostingPool>>();

  constructor(
    private readonly executor: HostingExecutor,
    private readonly capacity: Capacity,
  ) {}

  /** The cluster's pool, started for `baseModelDir` if it is not running. */
  ensure(cluster: DedicatedAiCluster, baseModelDir: string): Promise<HostingPool> {
    let p = this.pools.get(cluster.id);
    if (!p) {
      // set before anything is awaited, so two endpoints that start at once share one pool
      p = this.capacity.units(cluster.id).then((units) =>
        // every unit runs on its reservation; a cluster whose units found no room at start-up has none
        units.length
          ? this.executor.startPool({ clusterId: cluster.id, baseModelDir, units })
          : Promise.reject(
              new Error(
                `cluster ${cluster.id} has no reserved units (no node had room for them at start-up; see the cluster's lifecycleDetails)`,
              ),
            ),
      );
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
