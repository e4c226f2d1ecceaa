// Playground: one prompt to one, two or three endpoints at once through the OpenAI-compatible API
// (/v1/chat/completions or /v1/completions with stream: true); each answer streams into its column.

import { useRef, useState } from "preact/hooks";
import { V, listAll, stream } from "../api.js";
import { ErrorBox, Field, html, usePoll } from "../ui.js";

const MAX_COLUMNS = 3;

function Column({ endpoint, out }) {
  return html`<section class="column" aria-label=${`Answer of ${endpoint?.displayName ?? "endpoint"}`}>
    <h3>${endpoint?.displayName ?? "—"}</h3>
    <pre class="answer" aria-live="polite" data-state=${out?.state ?? "idle"}>${out?.text ?? ""}</pre>
    ${out?.finish ? html`<small class="muted">finished: ${out.finish}${out.ms != null ? ` · ${(out.ms / 1000).toFixed(1)} s` : ""}</small>` : null}
    <${ErrorBox} error=${out?.error} />
  </section>`;
}

export function PlaygroundPage() {
  const endpoints = usePoll(() => listAll(`${V}/endpoints`).then((l) => l.filter((e) => e.lifecycleState !== "DELETED")), [], 5000);
  const [picked, setPicked] = useState([]);
  const [mode, setMode] = useState("chat");
  const [system, setSystem] = useState("");
  const [prompt, setPrompt] = useState("");
  const [s, setS] = useState({ max_tokens: 64, temperature: 0.7, top_p: 1, seed: "" });
  const [outs, setOuts] = useState({});
  const [running, setRunning] = useState(false);
  const abort = useRef(null);
  const all = endpoints.data ?? [];
  const columns = picked.filter((id) => all.some((e) => e.id === id));

  const toggle = (id) => setPicked(picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id].slice(-MAX_COLUMNS));
  const update = (id, f) => setOuts((o) => ({ ...o, [id]: f(o[id] ?? { text: "" }) }));

  const send = async (ev) => {
    ev?.preventDefault();
    if (!columns.length || !prompt) return;
    abort.current = new AbortController();
    setRunning(true);
    setOuts(Object.fromEntries(columns.map((id) => [id, { text: "", state: "streaming" }])));
    const sampling = {
      max_tokens: Number(s.max_tokens),
      temperature: Number(s.temperature),
      top_p: Number(s.top_p),
      ...(s.seed !== "" ? { seed: Number(s.seed) } : {}),
    };
    await Promise.all(
      columns.map(async (id) => {
        const t0 = performance.now();
        const body =
          mode === "chat"
            ? {
                model: id,
                stream: true,
                messages: [...(system ? [{ role: "system", content: system }] : []), { role: "user", content: prompt }],
                ...sampling,
              }
            : { model: id, stream: true, prompt, ...sampling };
        try {
          await stream(
            mode === "chat" ? "/v1/chat/completions" : "/v1/completions",
            body,
            (chunk) => {
              const c = chunk.choices?.[0];
              if (!c) return;
              const delta = mode === "chat" ? (c.delta?.content ?? "") : (c.text ?? "");
              update(id, (o) => ({ ...o, text: o.text + delta, finish: c.finish_reason ?? o.finish }));
            },
            abort.current.signal,
          );
          update(id, (o) => ({ ...o, state: "done", ms: performance.now() - t0 }));
        } catch (error) {
          update(id, (o) => ({ ...o, state: "error", error: error.name === "AbortError" ? { message: "stopped" } : error }));
        }
      }),
    );
    setRunning(false);
  };

  const setting = (k, label, attrs) =>
    html`<${Field} label=${label}><input name=${k} type="number" step="any" ...${attrs} value=${s[k]} onInput=${(e) => setS({ ...s, [k]: e.currentTarget.value })} /><//>`;
  return html`<h1>Playground</h1>
    <form class="card" onSubmit=${send} aria-label="Prompt">
      <fieldset>
        <legend>Endpoints (up to ${MAX_COLUMNS}, answered side by side)</legend>
        <${ErrorBox} error=${endpoints.error} />
        ${all.length === 0 ? html`<p>No endpoints yet: create one on the Endpoints page.</p>` : null}
        <div class="row">
          ${all.map(
            (e) =>
              html`<label class="check"><input type="checkbox" checked=${picked.includes(e.id)} onChange=${() => toggle(e.id)} /> ${e.displayName} <small class="muted">${e.lifecycleState}</small></label>`,
          )}
        </div>
      </fieldset>
      <div class="row">
        <${Field} label="Mode">
          <select name="mode" value=${mode} onChange=${(e) => setMode(e.currentTarget.value)}>
            <option value="chat">Chat</option>
            <option value="completion">Completion</option>
          </select>
        <//>
        ${setting("max_tokens", "Max tokens", { min: 1 })}
        ${setting("temperature", "Temperature", { min: 0, max: 2 })}
        ${setting("top_p", "Top p", { min: 0, max: 1 })}
        ${setting("seed", "Seed", { placeholder: "random" })}
      </div>
      ${mode === "chat" ? html`<${Field} label="System message" hint="optional"><input name="system" value=${system} onInput=${(e) => setSystem(e.currentTarget.value)} /><//>` : null}
      <${Field} label=${mode === "chat" ? "Message" : "Prompt"} hint="Ctrl+Enter sends">
        <textarea name="prompt" rows="5" value=${prompt} onInput=${(e) => setPrompt(e.currentTarget.value)} onKeyDown=${(e) => e.key === "Enter" && (e.ctrlKey || e.metaKey) && send(e)}></textarea>
      <//>
      <button type="submit" disabled=${running || !columns.length || !prompt}>Send</button>
      ${running ? html` <button type="button" onClick=${() => abort.current?.abort()}>Stop</button>` : null}
    </form>
    <div class="columns">${columns.map((id) => html`<${Column} key=${id} endpoint=${all.find((e) => e.id === id)} out=${outs[id]} />`)}</div>`;
}
