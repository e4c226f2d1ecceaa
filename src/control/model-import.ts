// What every model import shares (an adapter from object storage, a model from the Hugging Face Hub):
// the control context, and the new model stored with its CREATE_MODEL work request in one transaction.

import type { ControlContext, WorkRequests } from "./context.ts";
import type { Model } from "./resources.ts";

/** A model an import created, with its work request. */
export interface Imported {
  value: Model;
  etag: string;
  workRequestId: string;
}

export abstract class ModelImport {
  constructor(
    protected readonly ctx: ControlContext,
    protected readonly wr: WorkRequests,
  ) {}

  protected get store() {
    return this.ctx.store;
  }

  /** Insert `m` and its CREATE_MODEL work request (action `action`) at once; `alsoInTx` finishes it inside the same transaction. */
  protected async insert(
    m: Model,
    action: "CREATED" | "IN_PROGRESS",
    alsoInTx?: (workRequestId: string) => Promise<void>,
  ): Promise<Imported> {
    const w = await this.store.tx(async () => {
      await this.store.models.insert(m);
      const w = await this.wr.create(m.compartmentId, "CREATE_MODEL", "Model", m.id, action);
      await alsoInTx?.(w.id);
      return w;
    });
    const row = (await this.store.models.get(m.id))!;
    return { value: row.value, etag: row.etag, workRequestId: w.id };
  }
}
