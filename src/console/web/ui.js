// Shared pieces of every page: polling, the error message box, state badges, form fields, formatting.

import { h } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);

/** How often pages re-read what they show, in ms (the page is live without a reload). */
export const POLL_MS = 1500;

/**
 * Run `load` now and every POLL_MS while the tab is visible; `reload()` runs it at once (after an action).
 * Returns the last result and the last error (an ApiError, shown as the API words it).
 */
export function usePoll(load, deps = [], every = POLL_MS) {
  const [state, setState] = useState({ data: undefined, error: null });
  const alive = useRef(true);
  const fn = useRef(load);
  fn.current = load;
  const run = useCallback(async () => {
    try {
      const data = await fn.current();
      if (alive.current) setState({ data, error: null });
    } catch (error) {
      if (alive.current) setState((s) => ({ data: s.data, error }));
    }
  }, []);
  useEffect(() => {
    alive.current = true;
    void run();
    const t = setInterval(() => document.visibilityState === "visible" && void run(), every);
    return () => {
      alive.current = false;
      clearInterval(t);
    };
  }, deps);
  return { ...state, reload: run };
}

/** Run an action (a button's), keep its error for display, re-read the page when it succeeds. */
export function useAction(after) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (f) => {
    setBusy(true);
    setError(null);
    try {
      const r = await f();
      await after?.(r);
      return r;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}

/** The API's refusal, word for word (code and HTTP status beside it). */
export function ErrorBox({ error }) {
  if (!error) return null;
  const where = error.status ? html`<span class="code">${error.code} (${error.status})</span> ` : "";
  return html`<div class="error" role="alert">${where}${error.message}</div>`;
}

export function State({ s }) {
  return html`<span class=${`state state-${String(s).toLowerCase()}`}>${s}</span>`;
}

export function Field({ label, hint, children }) {
  // the hint stays outside the label, so a control's accessible name is its label alone
  return html`<div class="field"><label><span class="label">${label}</span>${children}</label>${hint ? html`<small class="hint">${hint}</small>` : null}</div>`;
}

export function Loading({ what }) {
  return html`<p class="muted" aria-live="polite">Loading ${what}…</p>`;
}

export const short = (id) => (id ? `…${id.slice(-8)}` : "—");
export const when = (t) => (t ? new Date(t).toLocaleString() : "—");
export const num = (x, digits = 4) =>
  x == null || Number.isNaN(x)
    ? "—"
    : Number(x)
        .toPrecision(digits)
        .replace(/\.?0+$/, "");
export const pct = (x) => (x == null ? "—" : `${(100 * x).toFixed(1)}%`);
export const count = (n) => (n == null ? "—" : Number(n).toLocaleString("en-US"));

export function bytes(n) {
  if (n == null) return "—";
  const u = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

export function duration(s) {
  if (s == null || !Number.isFinite(s)) return "—";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** Names by id, for showing "tiny (…abcd1234)" instead of bare OCIDs. */
export function nameOf(list, id) {
  const x = list?.find((i) => i.id === id);
  return x ? x.displayName : short(id);
}
