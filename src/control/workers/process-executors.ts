export function processExecutors(): never { throw new Error("not yet"); }
