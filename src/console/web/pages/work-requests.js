// Work requests: every operation with its status and progress; a row opens its errors and logs.

import { useState } from "preact/hooks";
import { V, api, listAll } from "../api.js";
import { ErrorBox, Loading, State, html, short, usePoll, when } from "../ui.js";

function Details({ id }) {
  const d = usePoll(async () => {
    const [errors, logs] = await Promise.all([
      api.get(`${V}/workRequests/${id}/errors?limit=1000`),
      api.get(`${V}/workRequests/${id}/logs?limit=1000`),
    ]);
    return { errors: errors.items, logs: logs.items };
  }, [id]);
  if (!d.data) return html`<${ErrorBox} error=${d.error} /><${Loading} what="details" />`;
  return html`<div class="details">
    <h3>Errors</h3>
    ${d.data.errors.length ? html`<ul class="errors">${d.data.errors.map((e) => html`<li><code>${e.code}</code> ${e.message}</li>`)}</ul>` : html`<p class="muted">none</p>`}
    <h3>Logs</h3>
    <ol class="log">${d.data.logs.map((l) => html`<li><time>${when(l.timestamp)}</time> ${l.message}</li>`)}</ol>
  </div>`;
}

const link = (r) =>
  r.entityType === "Model" ? html`<a href=${`#/models/${r.identifier}`}>${short(r.identifier)}</a>` : short(r.identifier);

export function WorkRequestsPage() {
  const list = usePoll(() => listAll(`${V}/workRequests`, 200));
  const [open, setOpen] = useState(null);
  return html`<h1>Work requests</h1>
    <${ErrorBox} error=${list.error} />
    ${
      list.data === undefined
        ? html`<${Loading} what="work requests" />`
        : html`<table aria-label="Work requests">
          <thead><tr><th>Operation</th><th>Status</th><th>Progress</th><th>Resources</th><th>Accepted</th><th>Finished</th><th></th></tr></thead>
          <tbody>
            ${list.data.map(
              (w) => html`<tr>
                  <td>${w.operationType}</td>
                  <td><${State} s=${w.status} /></td>
                  <td><progress max="100" value=${w.percentComplete} aria-label=${`${w.operationType} progress`}></progress> ${Math.round(w.percentComplete)}%</td>
                  <td>${w.resources.map((r) => html`<span>${r.entityType} ${link(r)} </span>`)}</td>
                  <td>${when(w.timeAccepted)}</td>
                  <td>${when(w.timeFinished)}</td>
                  <td><button type="button" aria-expanded=${open === w.id ? "true" : "false"} onClick=${() => setOpen(open === w.id ? null : w.id)}>${open === w.id ? "Hide" : "Errors and logs"}</button></td>
                </tr>
                ${open === w.id ? html`<tr><td colspan="7"><${Details} id=${w.id} /></td></tr>` : null}`,
            )}
          </tbody>
        </table>`
    }`;
}
