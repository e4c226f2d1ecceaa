// Serves the web console at /console: the static files of `web/` and, under /console/vendor/NAME/, the
// few browser ES modules it imports from node_modules (Preact and its hooks, htm, uPlot,
// eventsource-parser). No build step. The files need no API key: the page signs in and calls the public API.

import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const WEB = fileURLToPath(new URL("./web/", import.meta.url));

/** Vendored packages: URL name → the package's dist folder and the files the browser may fetch from it. */
const VENDOR: Record<string, { dir: string; files: string[] }> = {
  preact: { dir: dirname(require.resolve("preact")), files: ["preact.module.js"] },
  "preact-hooks": { dir: dirname(require.resolve("preact/hooks")), files: ["hooks.module.js"] },
  htm: { dir: dirname(require.resolve("htm")), files: ["htm.module.js"] },
  uplot: { dir: dirname(require.resolve("uplot")), files: ["uPlot.esm.js", "uPlot.min.css"] },
  // its ESM build imports siblings by relative path
  "eventsource-parser": { dir: dirname(require.resolve("eventsource-parser")), files: ["stream.js", "parse.js", "errors.js"] },
};

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  await app.register(async (s) => {
    // static files are public; everything they fetch from the API carries the signed-in key
    s.addHook("onRoute", (r) => void (r.config = { ...(r.config as object), auth: false }));
    s.addHook("onSend", async (_req, reply, payload) => {
      reply.header("x-content-type-options", "nosniff").header("x-frame-options", "DENY").header("referrer-policy", "no-referrer");
      return payload;
    });
    // the router ignores trailing slashes, so /console and /console/ are this route (the wildcard never sees them)
    s.get("/console", async (_req, reply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .send(await readFile(`${WEB}index.html`)),
    );
    await s.register(fastifyStatic, { root: WEB, prefix: "/console/", index: false, decorateReply: false });
    for (const [name, v] of Object.entries(VENDOR)) {
      const allowed = new Set(v.files.map((f) => `/${f}`));
      await s.register(fastifyStatic, {
        root: v.dir,
        prefix: `/console/vendor/${name}/`,
        decorateReply: false,
        allowedPath: (path) => allowed.has(path),
      });
    }
  });
}
