// One model's page: live progress while it trains (steps, ETA, tokens/s), loss and accuracy curves
// (train and validation), the event log, final metrics and the trainable-parameter share.

import { V, api, listAll } from "../api.js";
import { LineChart } from "../chart.js";
import { ErrorBox, Loading, State, bytes, count, duration, html, nameOf, num, pct, useAction, usePoll, when } from "../ui.js";
import { methodOf } from "./models.js";

/** Steps, the last point, ETA and throughput from the history's timestamps. */
function progressOf(points, running) {
  if (!points.length) return null;
  const last = points[points.length - 1];
  const withTime = points.filter((p) => p.timestamp);
  const first = withTime[0];
  const secs = (Date.parse(last.timestamp) - Date.parse(first.timestamp)) / 1000;
  const rate = secs > 0 ? (last.step - first.step) / secs : null;
  const eta = running && rate && last.totalSteps ? (last.totalSteps - last.step) / rate : null;
  const tps = [...points].reverse().find((p) => p.tokensPerSecond != null)?.tokensPerSecond ?? null;
  return { step: last.step, totalSteps: last.totalSteps ?? null, epoch: last.epoch ?? null, eta, tps };
}

export function ModelPage({ id }) {
  const view = usePoll(async () => {
    const model = await api.get(`${V}/models/${id}`);
    const [history, events, wrs, models] = await Promise.all([
      model.type === "CUSTOM" ? api.get(`${V}/models/${id}/metricsHistory`) : { items: [] },
      model.type === "CUSTOM" ? api.get(`${V}/models/${id}/events?limit=1000`) : { items: [] },
      listAll(`${V}/workRequests?resourceId=${encodeURIComponent(id)}`),
      listAll(`${V}/models`),
    ]);
    const wr = wrs.find((w) => w.operationType === "CREATE_MODEL") ?? null;
    const errors = wr && wr.status === "FAILED" ? (await api.get(`${V}/workRequests/${wr.id}/errors?limit=1000`)).items : [];
    return { model, points: history.items, events: events.items, wr, errors, models };
  }, [id]);
  const act = useAction(() => {
    location.hash = "#/models";
  });
  if (view.data === undefined) return html`<${ErrorBox} error=${view.error} /><${Loading} what="the model" />`;
  const { model: m, points, events, wr, errors, models } = view.data;
  const running = m.lifecycleState === "CREATING";
  const p = progressOf(points, running);
  const steps = points.map((x) => x.step);
  const root = models.find((x) => x.id === m.rootBaseModelId);
  const share = m.trainableParameters != null && root?.parameterCount ? m.trainableParameters / root.parameterCount : null;
  const sizeShare = m.artifactBytes != null && root?.artifactBytes ? m.artifactBytes / root.artifactBytes : null;
  const of = (x) => (x < 0.01 ? x.toPrecision(2) : x.toFixed(2));
  const remove = () => confirm(`Delete model ${m.displayName}?`) && act.run(() => api.del(`${V}/models/${m.id}`));
  return html`<h1>${m.displayName} <${State} s=${m.lifecycleState} /></h1>
    <${ErrorBox} error=${view.error ?? act.error} />
    ${m.lifecycleDetails ? html`<p class=${m.lifecycleState === "FAILED" ? "error" : "muted"} role=${m.lifecycleState === "FAILED" ? "alert" : undefined}>${m.lifecycleDetails}</p>` : null}
    <dl class="facts">
      <dt>Type</dt><dd>${m.type}${m.type === "CUSTOM" ? ` (${methodOf(m)})` : ""}</dd>
      ${m.baseModelId ? html`<dt>Fine-tuned from</dt><dd><a href=${`#/models/${m.baseModelId}`}>${nameOf(models, m.baseModelId)}</a></dd>` : null}
      <dt>Architecture</dt><dd>${m.architecture}</dd>
      ${m.parameterCount ? html`<dt>Parameters</dt><dd>${count(m.parameterCount)}</dd>` : null}
      ${m.type === "BASE" && m.artifactBytes != null ? html`<dt>Size on disk</dt><dd>${bytes(m.artifactBytes)}</dd>` : null}
      ${m.fineTuneDetails ? html`<dt>Training data</dt><dd>${m.fineTuneDetails.trainingDataset.namespaceName}/${m.fineTuneDetails.trainingDataset.bucketName}/${m.fineTuneDetails.trainingDataset.objectName}</dd>` : null}
      <dt>Created</dt><dd>${when(m.timeCreated)}</dd>
      <dt>Id</dt><dd><code>${m.id}</code></dd>
    </dl>
    ${
      m.type === "CUSTOM"
        ? html`<section aria-label="Progress" class="card">
          <h2>Progress</h2>
          ${wr ? html`<progress max="100" value=${wr.percentComplete} aria-label="Percent complete">${Math.round(wr.percentComplete)}%</progress> <span>${Math.round(wr.percentComplete)}% · work request ${wr.status}</span>` : null}
          <dl class="facts">
            <dt>Step</dt><dd data-testid="step">${p ? `${p.step}${p.totalSteps ? ` / ${p.totalSteps}` : ""}` : "waiting for the first step"}</dd>
            <dt>Epoch</dt><dd>${p?.epoch ?? "—"}</dd>
            <dt>ETA</dt><dd>${running ? duration(p?.eta) : "—"}</dd>
            <dt>Tokens/s</dt><dd>${p?.tps != null ? Math.round(p.tps).toLocaleString("en-US") : "—"}</dd>
          </dl>
        </section>
        <section aria-label="Curves" class="charts">
          ${
            points.length
              ? html`<${LineChart} title="Loss" yLabel="loss" steps=${steps} series=${[
                  { label: "train loss", values: points.map((x) => x.trainLoss ?? x.loss ?? null) },
                  { label: "validation loss", values: points.map((x) => x.validationLoss ?? null) },
                ]} />
                <${LineChart} title="Validation accuracy" yLabel="accuracy" steps=${steps} series=${[{ label: "validation accuracy", values: points.map((x) => x.validationAccuracy ?? null) }]} />`
              : html`<p class="muted">The curves appear with the first training step.</p>`
          }
        </section>
        <section aria-label="Results" class="card">
          <h2>Results</h2>
          <dl class="facts">
            <dt>Final accuracy</dt><dd>${pct(m.modelMetrics?.finalAccuracy)}</dd>
            <dt>Final loss</dt><dd>${num(m.modelMetrics?.finalLoss)}</dd>
            <dt>Trainable parameters</dt><dd>${count(m.trainableParameters)}${share != null ? ` (${of(100 * share)}% of the base model's ${count(root.parameterCount)})` : ""}</dd>
            <dt>Size on disk</dt><dd>${bytes(m.artifactBytes)}${sizeShare != null && m.id !== root.id ? ` (${of(100 * sizeShare)}% of the base model's ${bytes(root.artifactBytes)})` : ""}</dd>
          </dl>
          ${errors.length ? html`<h3>Errors</h3><ul class="errors">${errors.map((e) => html`<li>${e.message}</li>`)}</ul>` : null}
        </section>
        <section aria-label="Event log">
          <h2>Event log</h2>
          <ol class="log">${events.map((e) => html`<li class=${`level-${e.level.toLowerCase()}`}><time>${when(e.timestamp)}</time> <b>${e.level}</b> ${e.message}</li>`)}</ol>
        </section>`
        : null
    }
    <p><button type="button" class="danger" onClick=${remove} disabled=${act.busy}>Delete model</button></p>`;
}
