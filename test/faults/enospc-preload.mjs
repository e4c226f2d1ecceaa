// Fault injection for the fault suite, preloaded into worker processes with `--import`: every write under
// $SPRIG_FAULT_ENOSPC_DIR fails with ENOSPC, as on a full disk (reads and writes elsewhere work).
// The named ESM exports of node:fs are re-synced after patching, so `import { writeFile }` sees it too.

import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { resolve } from "node:path";

const dir = process.env.SPRIG_FAULT_ENOSPC_DIR ? resolve(process.env.SPRIG_FAULT_ENOSPC_DIR) : null;
if (dir) {
  const full = (p) => typeof p === "string" && resolve(p).startsWith(dir + "/");
  const writing = (flags) => typeof flags === "string" && /[wa+]/.test(flags);
  const enospc = (p) =>
    Object.assign(new Error(`ENOSPC: no space left on device, write '${p}'`), { code: "ENOSPC", errno: -28, syscall: "write", path: p });
  const p = fs.promises;
  const { open, writeFile, copyFile, appendFile } = p;
  p.open = async (file, flags, ...rest) => (full(file) && writing(flags) ? Promise.reject(enospc(file)) : open(file, flags, ...rest));
  p.writeFile = async (file, ...rest) => (full(file) ? Promise.reject(enospc(file)) : writeFile(file, ...rest));
  p.appendFile = async (file, ...rest) => (full(file) ? Promise.reject(enospc(file)) : appendFile(file, ...rest));
  p.copyFile = async (src, dest, ...rest) => (full(dest) ? Promise.reject(enospc(dest)) : copyFile(src, dest, ...rest));
  const { openSync, writeFileSync, createWriteStream } = fs;
  fs.openSync = (file, flags, ...rest) => {
    if (full(file) && writing(flags)) throw enospc(file);
    return openSync(file, flags, ...rest);
  };
  fs.writeFileSync = (file, ...rest) => {
    if (full(file)) throw enospc(file);
    return writeFileSync(file, ...rest);
  };
  fs.createWriteStream = (file, ...rest) => {
    if (full(file)) throw enospc(file);
    return createWriteStream(file, ...rest);
  };
  syncBuiltinESMExports();
}
