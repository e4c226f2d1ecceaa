// The console's shell: sign-in (API key + compartment, kept in sessionStorage), one navigation, and the
// page for the current `#/…` route. Every page reads and changes the service through api.js only.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { V, api, session } from "./api.js";
import { ClustersPage } from "./pages/clusters.js";
import { DataPage } from "./pages/data.js";
import { EndpointsPage } from "./pages/endpoints.js";
import { ModelPage } from "./pages/model.js";
import { ModelsPage } from "./pages/models.js";
import { PlaygroundPage } from "./pages/playground.js";
import { WorkRequestsPage } from "./pages/work-requests.js";
import { ErrorBox, Field, html } from "./ui.js";

const PAGES = [
  { path: "clusters", title: "Dedicated AI clusters", page: ClustersPage },
  { path: "data", title: "Training data", page: DataPage },
  { path: "models", title: "Models", page: ModelsRoute },
  { path: "endpoints", title: "Endpoints", page: EndpointsPage },
  { path: "playground", title: "Playground", page: PlaygroundPage },
  { path: "work-requests", title: "Work requests", page: WorkRequestsPage },
];

function useRoute() {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

function SignIn({ onDone }) {
  const [key, setKey] = useState("");
  const [compartment, setCompartment] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // a list scoped to the compartment checks both: a bad key is a 401, a foreign compartment a 404
      await api.get(`${V}/dedicatedAiClusters?compartmentId=${encodeURIComponent(compartment)}&limit=1`, { key });
      session.save(key, compartment);
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>Sprig console</h1>
    <p>Sign in with an API key (create one with <code>npx sprig key create --compartment-id ID</code>). The key stays in this browser tab only.</p>
    <form onSubmit=${submit}>
      <${Field} label="API key"><input type="password" name="apiKey" autocomplete="off" required value=${key} onInput=${(e) => setKey(e.currentTarget.value.trim())} /><//>
      <${Field} label="Compartment" hint="the compartment new resources are created in; the key must belong to it"><input name="compartmentId" required value=${compartment} onInput=${(e) => setCompartment(e.currentTarget.value.trim())} /><//>
      <button type="submit" disabled=${busy}>Sign in</button>
      <${ErrorBox} error=${error} />
    </form>
  </main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(session.key));
  const route = useRoute();
  useEffect(() => {
    const out = () => setSignedIn(false);
    window.addEventListener("sprig:signed-out", out);
    return () => window.removeEventListener("sprig:signed-out", out);
  }, []);
  if (!signedIn) return html`<${SignIn} onDone=${() => setSignedIn(true)} />`;
  const [first = "clusters", ...rest] = route;
  const current = first === "" ? PAGES[0] : (PAGES.find((p) => p.path === first) ?? null);
  const Page = current?.page;
  return html`<div class="shell">
    <header>
      <a class="brand" href="#/clusters">Sprig</a>
      <nav aria-label="Main">
        <ul>
          ${PAGES.map((p) => html`<li><a href=${`#/${p.path}`} aria-current=${p === current ? "page" : undefined}>${p.title}</a></li>`)}
        </ul>
      </nav>
      <div class="who">
        <span title="compartment">${session.compartment}</span>
        <button type="button" class="link" onClick=${() => session.clear()}>Sign out</button>
      </div>
    </header>
    <main id="main">
      ${Page ? html`<${Page} key=${route.join("/")} args=${rest} />` : html`<h1>Not found</h1><p>No page <code>#/${route.join("/")}</code>.</p>`}
    </main>
  </div>`;
}

/** #/models lists them, #/models/ID is one model's page */
function ModelsRoute({ args }) {
  return args[0] ? html`<${ModelPage} id=${args[0]} />` : html`<${ModelsPage} />`;
}

render(html`<${App} />`, document.getElementById("app"));
