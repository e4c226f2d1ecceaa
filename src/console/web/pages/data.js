// Training data: upload JSONL files into an object-storage bucket (drag and drop or a file picker), each
// upload checked at once by the reader a fine-tune uses (bad lines listed by number), list and delete.

import { useState } from "preact/hooks";
import { ApiError, V, api, call, listAll, session } from "../api.js";
import { ErrorBox, Field, Loading, bytes, html, useAction, usePoll, when } from "../ui.js";

/** Where the console keeps training data: a namespace and bucket the user may change (kept per tab). */
export function dataLocation() {
  return {
    namespace: sessionStorage.getItem("sprig.namespace") ?? "sprig",
    bucket: sessionStorage.getItem("sprig.bucket") ?? "training-data",
  };
}

const objectsPath = (l) => `/n/${encodeURIComponent(l.namespace)}/b/${encodeURIComponent(l.bucket)}/o`;

/** The bucket's objects; a bucket that does not exist yet is empty (the first upload creates it). */
export async function listObjects(l) {
  try {
    return (await api.get(objectsPath(l))).objects;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return [];
    throw e;
  }
}

function Validation({ result }) {
  if (!result) return null;
  const { name, v } = result;
  if (v.isValid) return html`<p class="ok" role="status"><strong>${name}</strong>: ${v.exampleCount} examples, ready to fine-tune.</p>`;
  return html`<div class="error" role="alert">
    <p><strong>${name}</strong>: ${v.message}</p>
    ${
      v.errors.length
        ? html`<table aria-label=${`Errors in ${name}`}>
          <thead><tr><th>Line</th><th>Problem</th></tr></thead>
          <tbody>${v.errors.slice(0, 200).map((e) => html`<tr><td>${e.line}</td><td>${e.reason}</td></tr>`)}</tbody>
        </table>${v.errors.length > 200 ? html`<p>… and ${v.errors.length - 200} more</p>` : null}`
        : null
    }
  </div>`;
}

export function DataPage() {
  const [loc, setLoc] = useState(dataLocation);
  const [baseModelId, setBaseModelId] = useState("");
  const [dragging, setDragging] = useState(false);
  const [result, setResult] = useState(null);
  const models = usePoll(() => listAll(`${V}/models?lifecycleState=ACTIVE`), [], 10_000);
  const objects = usePoll(() => listObjects(loc), [loc.namespace, loc.bucket]);
  const act = useAction(objects.reload);
  const checkModel = baseModelId || models.data?.find((m) => m.type === "BASE")?.id;

  const setPlace = (k, v) => {
    sessionStorage.setItem(`sprig.${k}`, v);
    setLoc({ ...loc, [k]: v });
  };
  const validate = async (name) => {
    if (!checkModel) throw new ApiError(0, "NoModel", "no ACTIVE model to check the data against");
    const v = await api.post(`${V}/actions/validateTrainingData`, {
      baseModelId: checkModel,
      trainingDataset: { datasetType: "OBJECT_STORAGE", namespaceName: loc.namespace, bucketName: loc.bucket, objectName: name },
    });
    setResult({ name, v });
  };
  const upload = (files) =>
    act.run(async () => {
      setResult(null);
      for (const f of files) {
        await call("PUT", `${objectsPath(loc)}/${encodeURIComponent(f.name)}`, {
          body: f,
          headers: { "content-type": "application/jsonl", "opc-compartment-id": session.compartment },
        });
        await validate(f.name);
      }
    });
  const onDrop = (ev) => {
    ev.preventDefault();
    setDragging(false);
    if (ev.dataTransfer?.files?.length) void upload([...ev.dataTransfer.files]);
  };
  const remove = (name) => confirm(`Delete ${name}?`) && act.run(() => api.del(`${objectsPath(loc)}/${encodeURIComponent(name)}`));

  return html`<h1>Training data</h1>
    <p class="muted">JSONL, one <code>{"prompt": …, "completion": …}</code> per line (or <code>choices</code> + <code>label</code>), at least 32 lines. Every upload is checked against the model's tokenizer before anything trains.</p>
    <div class="card">
      <div class="row">
        <${Field} label="Namespace"><input name="namespace" value=${loc.namespace} onChange=${(e) => setPlace("namespace", e.currentTarget.value.trim())} /><//>
        <${Field} label="Bucket" hint="created by the first upload"><input name="bucket" value=${loc.bucket} onChange=${(e) => setPlace("bucket", e.currentTarget.value.trim())} /><//>
        <${Field} label="Check against model" hint="its tokenizer and vocabulary decide what is valid">
          <select name="checkModel" value=${checkModel ?? ""} onChange=${(e) => setBaseModelId(e.currentTarget.value)}>
            ${(models.data ?? []).map((m) => html`<option value=${m.id}>${m.displayName} (${m.type})</option>`)}
          </select>
        <//>
      </div>
      <div
        class=${`dropzone${dragging ? " dragging" : ""}`}
        onDragOver=${(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave=${() => setDragging(false)}
        onDrop=${onDrop}
      >
        <p>Drop JSONL files here, or</p>
        <label class="button">Choose files…<input type="file" name="upload" accept=".jsonl,.json,.txt,application/jsonl" multiple class="visually-hidden" onChange=${(e) => upload([...e.currentTarget.files])} /></label>
        ${act.busy ? html`<p aria-live="polite">Uploading and checking…</p>` : null}
      </div>
      <${Validation} result=${result} />
      <${ErrorBox} error=${act.error} />
    </div>
    <h2>Objects in ${loc.namespace}/${loc.bucket}</h2>
    <${ErrorBox} error=${objects.error} />
    ${
      objects.data === undefined
        ? html`<${Loading} what="objects" />`
        : objects.data.length === 0
          ? html`<p>No objects yet.</p>`
          : html`<table aria-label="Objects">
            <thead><tr><th>Name</th><th>Size</th><th>Modified</th><th></th></tr></thead>
            <tbody>
              ${objects.data.map(
                (o) => html`<tr>
                  <td>${o.name}</td><td>${bytes(o.size)}</td><td>${when(o.timeModified)}</td>
                  <td>
                    <button type="button" onClick=${() => act.run(() => validate(o.name))}>Check</button>
                    <button type="button" class="danger" onClick=${() => remove(o.name)}>Delete</button>
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
