// Dedicated AI clusters: the list (type, shape, units, state, endpoint capacity, base model), create,
// resize and delete, with the API's refusals shown as it words them.

import { useState } from "preact/hooks";
import { V, api, listAll, session } from "../api.js";
import { ErrorBox, Field, Loading, State, html, nameOf, useAction, usePoll, when } from "../ui.js";

let shapes = null;
/** Unit shapes as the API's schema lists them (/openapi.json), so the form offers exactly what it accepts. */
export function unitShapes() {
  shapes ??= fetch("/openapi.json")
    .then((r) => r.json())
    .then((d) => d.components.schemas.CreateDedicatedAiClusterDetails.properties.unitShape)
    .catch(() => ({ enum: ["SPRIG_CPU_SMALL"], description: "" }));
  return shapes;
}

function CreateCluster({ onCreated }) {
  const [name, setName] = useState("");
  const [type, setType] = useState("FINE_TUNING");
  const [shape, setShape] = useState("");
  const [units, setUnits] = useState(1);
  const options = usePoll(unitShapes, [], 60_000);
  const act = useAction(onCreated);
  const submit = (ev) => {
    ev.preventDefault();
    void act.run(() =>
      api.post(`${V}/dedicatedAiClusters`, {
        compartmentId: session.compartment,
        type,
        unitCount: Number(units),
        ...(name ? { displayName: name } : {}),
        ...(shape ? { unitShape: shape } : {}),
      }),
    );
  };
  return html`<form class="card" onSubmit=${submit} aria-label="Create cluster">
    <h2>Create a dedicated AI cluster</h2>
    <div class="row">
      <${Field} label="Name" hint="optional"><input name="displayName" value=${name} onInput=${(e) => setName(e.currentTarget.value)} /><//>
      <${Field} label="Type" hint="FINE_TUNING trains custom models; HOSTING serves endpoints">
        <select name="type" value=${type} onChange=${(e) => setType(e.currentTarget.value)}>
          <option value="FINE_TUNING">FINE_TUNING</option>
          <option value="HOSTING">HOSTING</option>
        </select>
      <//>
      <${Field} label="Unit shape" hint=${options.data?.description ?? ""}>
        <select name="unitShape" value=${shape} onChange=${(e) => setShape(e.currentTarget.value)}>
          <option value="">(default)</option>
          ${(options.data?.enum ?? []).map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      <//>
      <${Field} label="Units" hint="each reserves whole cores of a node"><input name="unitCount" type="number" min="1" value=${units} onInput=${(e) => setUnits(e.currentTarget.value)} /><//>
    </div>
    <button type="submit" disabled=${act.busy}>Create cluster</button>
    <${ErrorBox} error=${act.error} />
  </form>`;
}

function ClusterRow({ c, models, reload }) {
  const [units, setUnits] = useState(c.unitCount);
  const act = useAction(reload);
  const resize = () => act.run(() => api.put(`${V}/dedicatedAiClusters/${c.id}`, { unitCount: Number(units) }));
  const remove = () => confirm(`Delete cluster ${c.displayName}?`) && act.run(() => api.del(`${V}/dedicatedAiClusters/${c.id}`));
  const cap = c.capacity ? `${c.capacity.usedEndpointCapacity} / ${c.capacity.totalEndpointCapacity}` : "—";
  // where the reserved units run: node and cores of each (the API's `units`)
  const where = (c.units ?? []).map(
    (u) => `${u.nodeName ?? u.nodeId}: core${u.cores.length > 1 ? "s" : ""} ${u.cores.join(",")}${u.pinned ? "" : " (unpinned)"}`,
  );
  return html`<tr data-id=${c.id}>
    <td>${c.displayName}</td>
    <td>${c.type}</td>
    <td>${c.unitShape}</td>
    <td>
      <input class="narrow" type="number" min="1" aria-label=${`Units of ${c.displayName}`} value=${units} onInput=${(e) => setUnits(e.currentTarget.value)} />
      <button type="button" onClick=${resize} disabled=${act.busy || Number(units) === c.unitCount}>Resize</button>
    </td>
    <td class="runs-on">${where.length ? where.map((w) => html`<div>${w}</div>`) : "—"}</td>
    <td><${State} s=${c.lifecycleState} />${c.lifecycleDetails ? html` <small class=${c.lifecycleState === "NEEDS_ATTENTION" ? "attention" : "muted"}>${c.lifecycleDetails}</small>` : null}</td>
    <td>${cap}</td>
    <td>${c.baseModelId ? nameOf(models, c.baseModelId) : "—"}</td>
    <td>${when(c.timeCreated)}</td>
    <td><button type="button" class="danger" onClick=${remove} disabled=${act.busy}>Delete</button><${ErrorBox} error=${act.error} /></td>
  </tr>`;
}

export function ClustersPage() {
  const list = usePoll(async () => {
    const [clusters, models] = await Promise.all([
      listAll(`${V}/dedicatedAiClusters?sortBy=timeCreated&sortOrder=DESC`),
      listAll(`${V}/models`),
    ]);
    return { clusters: clusters.filter((c) => c.lifecycleState !== "DELETED"), models };
  });
  return html`<h1>Dedicated AI clusters</h1>
    <p class="muted">A cluster's units are worker processes reserved for this compartment: FINE_TUNING clusters run fine-tunes (one per unit at a time), HOSTING clusters serve one base model and the custom models derived from it.</p>
    <${CreateCluster} onCreated=${list.reload} />
    <${ErrorBox} error=${list.error} />
    ${
      list.data === undefined
        ? html`<${Loading} what="clusters" />`
        : list.data.clusters.length === 0
          ? html`<p>No clusters yet.</p>`
          : html`<table aria-label="Clusters">
            <thead><tr><th>Name</th><th>Type</th><th>Shape</th><th>Units</th><th>Runs on</th><th>State</th><th>Endpoints used / total</th><th>Base model</th><th>Created</th><th></th></tr></thead>
            <tbody>${list.data.clusters.map((c) => html`<${ClusterRow} key=${c.id} c=${c} models=${list.data.models} reload=${list.reload} />`)}</tbody>
          </table>`
    }`;
}
