// Endpoints: create one on a HOSTING cluster, see its state, flip it between ACTIVE and INACTIVE, delete
// it; per-endpoint generation, token and refusal counters (GET /endpoints/{id}/usage).

import { useState } from "preact/hooks";
import { V, api, listAll, session } from "../api.js";
import { ErrorBox, Field, Loading, State, count, html, nameOf, useAction, usePoll, when } from "../ui.js";

function CreateEndpoint({ models, clusters, onCreated }) {
  const [name, setName] = useState("");
  const [model, setModel] = useState("");
  const [cluster, setCluster] = useState("");
  const act = useAction(onCreated);
  const servable = models.filter((m) => m.lifecycleState === "ACTIVE");
  const hosting = clusters.filter((c) => c.type === "HOSTING" && c.lifecycleState === "ACTIVE");
  const chosen = { model: model || servable[0]?.id || "", cluster: cluster || hosting[0]?.id || "" };
  const submit = (ev) => {
    ev.preventDefault();
    void act.run(() =>
      api.post(`${V}/endpoints`, {
        compartmentId: session.compartment,
        modelId: chosen.model,
        dedicatedAiClusterId: chosen.cluster,
        ...(name ? { displayName: name } : {}),
      }),
    );
  };
  return html`<form class="card" onSubmit=${submit} aria-label="Create endpoint">
    <h2>Create an endpoint</h2>
    <div class="row">
      <${Field} label="Name" hint="also the model name in /v1 requests"><input name="displayName" value=${name} onInput=${(e) => setName(e.currentTarget.value)} /><//>
      <${Field} label="Model">
        <select name="modelId" value=${chosen.model} onChange=${(e) => setModel(e.currentTarget.value)}>
          ${servable.map((m) => html`<option value=${m.id}>${m.displayName} (${m.type})</option>`)}
        </select>
      <//>
      <${Field} label="Hosting cluster" hint="serves one base model and the custom models derived from it">
        <select name="dedicatedAiClusterId" value=${chosen.cluster} onChange=${(e) => setCluster(e.currentTarget.value)}>
          ${hosting.length ? hosting.map((c) => html`<option value=${c.id}>${c.displayName}</option>`) : html`<option value="">no ACTIVE HOSTING cluster</option>`}
        </select>
      <//>
    </div>
    <button type="submit" disabled=${act.busy || !chosen.cluster || !chosen.model}>Create endpoint</button>
    <${ErrorBox} error=${act.error} />
  </form>`;
}

function EndpointRow({ e, usage, models, clusters, reload }) {
  const act = useAction(reload);
  const active = e.lifecycleState === "ACTIVE";
  const canToggle = active || e.lifecycleState === "INACTIVE";
  const toggle = () => act.run(() => api.post(`${V}/endpoints/${e.id}/actions/${active ? "deactivate" : "activate"}`));
  const remove = () => confirm(`Delete endpoint ${e.displayName}?`) && act.run(() => api.del(`${V}/endpoints/${e.id}`));
  return html`<tr data-id=${e.id}>
    <td>${e.displayName}</td>
    <td>${nameOf(models, e.modelId)}</td>
    <td>${nameOf(clusters, e.dedicatedAiClusterId)}</td>
    <td><${State} s=${e.lifecycleState} />${e.lifecycleDetails ? html` <small class="muted">${e.lifecycleDetails}</small>` : null}</td>
    <td>
      <button type="button" role="switch" aria-checked=${active ? "true" : "false"} aria-label=${`Serve ${e.displayName}`} disabled=${!canToggle || act.busy} onClick=${toggle}>
        ${active ? "Deactivate" : "Activate"}
      </button>
    </td>
    <td class="num">${count(usage?.generations)}</td>
    <td class="num">${count(usage?.promptTokens)} / ${count(usage?.completionTokens)}</td>
    <td class="num">${count(usage?.refusedRequests)}${usage?.failedGenerations ? ` (+${usage.failedGenerations} failed)` : ""}</td>
    <td>${when(e.timeCreated)}</td>
    <td><button type="button" class="danger" onClick=${remove} disabled=${act.busy}>Delete</button><${ErrorBox} error=${act.error} /></td>
  </tr>`;
}

export function EndpointsPage() {
  const list = usePoll(async () => {
    const [endpoints, models, clusters] = await Promise.all([
      listAll(`${V}/endpoints?sortBy=timeCreated&sortOrder=ASC`),
      listAll(`${V}/models`),
      listAll(`${V}/dedicatedAiClusters`),
    ]);
    const live = endpoints.filter((e) => e.lifecycleState !== "DELETED");
    const usage = Object.fromEntries(
      await Promise.all(live.map(async (e) => [e.id, await api.get(`${V}/endpoints/${e.id}/usage`).catch(() => null)])),
    );
    return { endpoints: live, models, clusters, usage };
  });
  return html`<h1>Endpoints</h1>
    <${ErrorBox} error=${list.error} />
    ${
      list.data === undefined
        ? html`<${Loading} what="endpoints" />`
        : html`${
            list.data.endpoints.length === 0
              ? html`<p>No endpoints yet.</p>`
              : html`<table aria-label="Endpoints">
                <thead><tr><th>Name</th><th>Model</th><th>Cluster</th><th>State</th><th>Serving</th><th>Generations</th><th>Tokens in / out</th><th>Refused</th><th>Created</th><th></th></tr></thead>
                <tbody>${list.data.endpoints.map((e) => html`<${EndpointRow} key=${e.id} e=${e} usage=${list.data.usage[e.id]} models=${list.data.models} clusters=${list.data.clusters} reload=${list.reload} />`)}</tbody>
              </table>
              <p class="muted">Counters since the service started. Deactivating stops serving at once; requests then get a 409 and count as refused.</p>`
          }
          <${CreateEndpoint} models=${list.data.models} clusters=${list.data.clusters} onCreated=${list.reload} />`
    }`;
}
