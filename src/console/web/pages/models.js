// Models: BASE and CUSTOM models, and the "Create custom model" form (base or parent model, cluster,
// dataset, method with its hyperparameters; the defaults shown are the API's own).

import { useState } from "preact/hooks";
import { V, api, listAll, session } from "../api.js";
import { ErrorBox, Field, Loading, State, html, nameOf, num, pct, useAction, usePoll, when } from "../ui.js";
import { dataLocation, listObjects } from "./data.js";

export const METHODS = { TFEW_TRAINING_CONFIG: "T-Few", LORA_TRAINING_CONFIG: "LoRA", VANILLA_TRAINING_CONFIG: "Vanilla" };

/** The hyperparameters the form offers, with what each means (names as the API's). */
const HYPER = [
  ["totalTrainingEpochs", "Epochs", "passes over the training split"],
  ["learningRate", "Learning rate", ""],
  ["trainingBatchSize", "Batch size", "examples per step"],
  ["earlyStoppingPatience", "Early stopping patience", "evaluations without improvement before stopping (0: never)"],
  ["earlyStoppingThreshold", "Early stopping threshold", "smallest validation-loss improvement that counts"],
  ["logModelMetricsIntervalInSteps", "Evaluate every N steps", "validation loss and accuracy points of the curve"],
  ["loraR", "LoRA rank r", ""],
  ["loraAlpha", "LoRA alpha", ""],
  ["loraDropout", "LoRA dropout", ""],
  ["numOfLastLayers", "Train the last N layers", "empty: every layer"],
  ["validationSplit", "Validation split", "share of examples held out"],
  ["seed", "Seed", "shuffling and the split"],
];
const ONLY = {
  loraR: "LORA_TRAINING_CONFIG",
  loraAlpha: "LORA_TRAINING_CONFIG",
  loraDropout: "LORA_TRAINING_CONFIG",
  numOfLastLayers: "VANILLA_TRAINING_CONFIG",
};

export const methodOf = (m) =>
  m.type === "BASE" ? "—" : METHODS[m.fineTuneDetails?.trainingConfig?.trainingConfigType ?? "TFEW_TRAINING_CONFIG"];

function CreateModel({ models, clusters, onCreated }) {
  const loc = dataLocation();
  const [name, setName] = useState("");
  const [base, setBase] = useState("");
  const [cluster, setCluster] = useState("");
  const [object, setObject] = useState("");
  const [type, setType] = useState("TFEW_TRAINING_CONFIG");
  const [edited, setEdited] = useState({});
  const defaults = usePoll(() => api.get(`${V}/trainingConfigDefaults`), [], 600_000);
  const objects = usePoll(() => listObjects(loc), [], 5000);
  const act = useAction(onCreated);
  const parents = models.filter((m) => m.lifecycleState === "ACTIVE" && m.capabilities.includes("FINE_TUNE"));
  const ftClusters = clusters.filter((c) => c.type === "FINE_TUNING" && c.lifecycleState === "ACTIVE");
  const d = defaults.data?.items.find((x) => x.trainingConfigType === type) ?? {};
  const chosen = {
    base: base || parents[0]?.id || "",
    cluster: cluster || ftClusters[0]?.id || "",
    object: object || objects.data?.[0]?.name || "",
  };

  const submit = (ev) => {
    ev.preventDefault();
    const trainingConfig = { trainingConfigType: type };
    for (const [k, v] of Object.entries(edited)) if (v !== "" && (ONLY[k] ?? type) === type) trainingConfig[k] = Number(v);
    void act.run(async () => {
      const m = await api.post(`${V}/models`, {
        compartmentId: session.compartment,
        baseModelId: chosen.base,
        ...(name ? { displayName: name } : {}),
        fineTuneDetails: {
          dedicatedAiClusterId: chosen.cluster,
          trainingDataset: {
            datasetType: "OBJECT_STORAGE",
            namespaceName: loc.namespace,
            bucketName: loc.bucket,
            objectName: chosen.object,
          },
          trainingConfig,
        },
      });
      location.hash = `#/models/${m.id}`;
      return m;
    });
  };
  return html`<form class="card" onSubmit=${submit} aria-label="Create custom model">
    <h2>Create custom model</h2>
    <div class="row">
      <${Field} label="Name" hint="optional"><input name="displayName" value=${name} onInput=${(e) => setName(e.currentTarget.value)} /><//>
      <${Field} label="Base model" hint="a BASE model, or a custom model to fine-tune further">
        <select name="baseModelId" value=${chosen.base} onChange=${(e) => setBase(e.currentTarget.value)}>
          ${parents.map((m) => html`<option value=${m.id}>${m.displayName} (${m.type === "BASE" ? "base" : methodOf(m)})</option>`)}
        </select>
      <//>
      <${Field} label="Fine-tuning cluster">
        <select name="dedicatedAiClusterId" value=${chosen.cluster} onChange=${(e) => setCluster(e.currentTarget.value)}>
          ${ftClusters.length ? ftClusters.map((c) => html`<option value=${c.id}>${c.displayName}</option>`) : html`<option value="">no ACTIVE FINE_TUNING cluster</option>`}
        </select>
      <//>
      <${Field} label="Training data" hint=${`in ${loc.namespace}/${loc.bucket} (Training data page)`}>
        <select name="objectName" value=${chosen.object} onChange=${(e) => setObject(e.currentTarget.value)}>
          ${(objects.data ?? []).map((o) => html`<option value=${o.name}>${o.name}</option>`)}
        </select>
      <//>
      <${Field} label="Method">
        <select name="trainingConfigType" value=${type} onChange=${(e) => setType(e.currentTarget.value)}>
          ${Object.entries(METHODS).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
        </select>
      <//>
    </div>
    <fieldset>
      <legend>Hyperparameters (${METHODS[type]} defaults shown; change what you need)</legend>
      <div class="row">
        ${HYPER.filter(([k]) => (ONLY[k] ?? type) === type).map(
          ([k, label, hint]) => html`<${Field} label=${label} hint=${`${hint}${hint ? "; " : ""}default ${d[k] ?? "—"}`}>
            <input name=${k} type="number" step="any" value=${edited[k] ?? (d[k] === "auto" ? "" : (d[k] ?? ""))} placeholder=${d[k] === "auto" ? "auto" : ""} onInput=${(e) => setEdited({ ...edited, [k]: e.currentTarget.value })} />
          <//>`,
        )}
      </div>
      <button type="button" class="link" onClick=${() => setEdited({})}>Reset to defaults</button>
    </fieldset>
    <button type="submit" disabled=${act.busy || !chosen.cluster || !chosen.object}>Start fine-tuning</button>
    <${ErrorBox} error=${act.error ?? defaults.error} />
  </form>`;
}

export function ModelsPage() {
  const list = usePoll(async () => {
    const [models, clusters] = await Promise.all([
      listAll(`${V}/models?sortBy=timeCreated&sortOrder=DESC`),
      listAll(`${V}/dedicatedAiClusters`),
    ]);
    return { models: models.filter((m) => m.lifecycleState !== "DELETED"), clusters };
  });
  const models = list.data?.models ?? [];
  return html`<h1>Models</h1>
    <${ErrorBox} error=${list.error} />
    ${
      list.data === undefined
        ? html`<${Loading} what="models" />`
        : html`<table aria-label="Models">
          <thead><tr><th>Name</th><th>Type</th><th>Fine-tuned from</th><th>Method</th><th>State</th><th>Accuracy</th><th>Loss</th><th>Created</th></tr></thead>
          <tbody>
            ${models.map(
              (m) => html`<tr>
                <td><a href=${`#/models/${m.id}`}>${m.displayName}</a></td>
                <td>${m.type}</td>
                <td>${m.baseModelId ? nameOf(models, m.baseModelId) : "—"}</td>
                <td>${methodOf(m)}</td>
                <td><${State} s=${m.lifecycleState} /></td>
                <td>${pct(m.modelMetrics?.finalAccuracy)}</td>
                <td>${num(m.modelMetrics?.finalLoss)}</td>
                <td>${when(m.timeCreated)}</td>
              </tr>`,
            )}
          </tbody>
        </table>`
    }
    ${list.data ? html`<${CreateModel} models=${models} clusters=${list.data.clusters} onCreated=${list.reload} />` : null}`;
}
