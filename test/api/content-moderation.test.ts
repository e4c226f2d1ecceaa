// Content moderation over the HTTP API: an endpoint's contentModerationConfig {isEnabled, mode} is
// honoured on OCI generateText and chat — INFORM answers with the scores, BLOCK refuses a flagged request
// and withholds a flagged answer (streamed ones too: nothing flagged is ever sent) — with the built-in
// blocklist (whole words, any case) or a moderator given to the service. The fake pool answers
// "echo " + the prompt, so a term such as "echo hello" flags the answer and not the request.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContentModerator } from "../../src/api/content-moderation.ts";
import { type ApiHarness, apiHarness, auth, hostedEndpoint } from "./helpers.ts";

const sseEvents = (body: string) =>
  body
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);

async function setup(h: ApiHarness) {
  const { endpointId } = await hostedEndpoint(h);
  const app = h.svc.app;
  const configure = async (config: object) => {
    const r = await app.inject({
      method: "PUT",
      url: `/20231130/endpoints/${endpointId}`,
      headers: auth(h.keyA),
      payload: { contentModerationConfig: config },
    });
    return { status: r.statusCode, body: r.json() };
  };
  const generate = async (prompt: string, extra: object = {}) => {
    const r = await app.inject({
      method: "POST",
      url: "/20231130/actions/generateText",
      headers: auth(h.keyA),
      payload: {
        compartmentId: "compA",
        servingMode: { servingType: "DEDICATED", endpointId },
        inferenceRequest: { runtimeType: "LLAMA", prompt, maxTokens: 8, ...extra },
      },
    });
    return { status: r.statusCode, body: r.body, json: () => r.json() };
  };
  return { endpointId, configure, generate };
}

test("contentModerationConfig: INFORM reports, BLOCK refuses or withholds, streamed answers included", async () => {
  const h = await apiHarness({ server: { contentModeration: { blocklist: ["zap", "Echo  Hello"] } } });
  try {
    const { endpointId, configure, generate } = await setup(h);
    // not moderated: no report
    assert.equal((await generate("a zap b")).json().contentModeration, undefined);

    // OCI's fields; INFORM is the default mode; modelId and unknown modes are refused with the reason
    assert.deepEqual((await configure({ isEnabled: true })).body.contentModerationConfig, { isEnabled: true, mode: "INFORM" });
    const withModel = await configure({ isEnabled: true, modelId: "ocid1.x" });
    assert.equal(withModel.status, 400);
    assert.match(withModel.body.message, /modelId: Sprig's moderator is set on the server/);
    assert.equal((await configure({ isEnabled: true, mode: "WARN" })).status, 400);

    // INFORM: generated as usual, the scores beside the answer
    const informed = await generate("a ZAP b");
    assert.equal(informed.status, 200);
    const report = informed.json().contentModeration;
    assert.equal(report.mode, "INFORM");
    assert.equal(report.moderator, "sprig-blocklist");
    assert.deepEqual(report.input.categories, [
      { name: "OVERALL", score: 1 },
      { name: "BLOCKLIST", score: 1 },
    ]);
    assert.equal(report.outputs[0].categories[1].score, 1);
    assert.match(informed.json().inferenceResponse.choices[0].text, /ZAP/);
    const clean = (await generate("zapped words")).json().contentModeration;
    assert.equal(clean.input.categories[1].score, 0, "whole words only: zapped is not zap");

    // BLOCK: a flagged request is refused before anything runs; a flagged answer is withheld
    assert.deepEqual((await configure({ isEnabled: true, mode: "BLOCK" })).body.contentModerationConfig, {
      isEnabled: true,
      mode: "BLOCK",
    });
    const before = (
      await h.svc.app.inject({ method: "GET", url: `/20231130/endpoints/${endpointId}/usage`, headers: auth(h.keyA) })
    ).json();
    const refused = await generate("a zap b");
    assert.equal(refused.status, 400);
    assert.match(refused.json().message, /^Inappropriate content detected! The request was refused \(OVERALL, BLOCKLIST\)/);
    const after = (await h.svc.app.inject({ method: "GET", url: `/20231130/endpoints/${endpointId}/usage`, headers: auth(h.keyA) })).json();
    assert.equal(after.generations, before.generations, "nothing was generated");
    const withheld = await generate("hello there");
    assert.equal(withheld.status, 400);
    assert.match(
      withheld.json().message,
      /Inappropriate content detected! The generated text was withheld \(choice 0: OVERALL, BLOCKLIST\)/,
    );
    assert.ok(!withheld.body.includes("echo hello"), "the answer is not in the refusal");
    const fine = await generate("good day");
    assert.equal(fine.status, 200);
    assert.equal(fine.json().contentModeration.mode, "BLOCK");

    // BLOCK streams hold the text until it is checked: a flagged answer never leaves, a clean one comes whole
    const streamedBad = await generate("hello there", { isStream: true });
    assert.ok(!streamedBad.body.includes("echo hello"), streamedBad.body);
    const badEvents = sseEvents(streamedBad.body);
    assert.match(
      String((badEvents.at(-1)!.error as { message: string }).message),
      /Inappropriate content detected! The generated text was withheld/,
    );
    const streamedOk = sseEvents((await generate("good day", { isStream: true })).body);
    const texts = streamedOk.filter((e) => typeof e.text === "string" && e.text !== "");
    assert.deepEqual(
      texts.map((e) => e.text),
      ["echo good day"],
      "one event with the whole checked text",
    );
    assert.equal((streamedOk.find((e) => e.contentModeration)!.contentModeration as { mode: string }).mode, "BLOCK");
    assert.ok(streamedOk.at(-1)!.finishReason);

    // chat through the same endpoint
    const chat = await h.svc.app.inject({
      method: "POST",
      url: "/20231130/actions/chat",
      headers: auth(h.keyA),
      payload: {
        compartmentId: "compA",
        servingMode: { servingType: "DEDICATED", endpointId },
        chatRequest: { apiFormat: "GENERIC", messages: [{ role: "USER", content: [{ type: "TEXT", text: "zap!" }] }], maxTokens: 4 },
      },
    });
    assert.equal(chat.statusCode, 400);
    assert.match(chat.json().message, /Inappropriate content detected!/);
    await configure({ isEnabled: true, mode: "INFORM" });
    const streamedInform = sseEvents((await generate("a zap b", { isStream: true })).body);
    assert.ok(streamedInform.filter((e) => typeof e.text === "string" && e.text !== "").length > 1, "INFORM streams token by token");
    assert.equal(
      (streamedInform.find((e) => e.contentModeration)!.contentModeration as { input: { categories: { score: number }[] } }).input
        .categories[0]!.score,
      1,
    );

    // switched off: nothing checked
    await configure({ isEnabled: false });
    assert.equal((await generate("a zap b")).json().contentModeration, undefined);
  } finally {
    await h.svc.close();
  }
});

test("another moderator in place of the blocklist", async () => {
  const digits: ContentModerator = { name: "digits", check: (t) => [{ name: "OVERALL", score: /\d/.test(t) ? 1 : 0 }] };
  const h = await apiHarness({ server: { contentModeration: { blocklist: [], moderator: digits } } });
  try {
    const { configure, generate } = await setup(h);
    await configure({ isEnabled: true, mode: "BLOCK" });
    assert.equal((await generate("call 911")).status, 400);
    const ok = await generate("call home");
    assert.equal(ok.status, 200);
    assert.equal(ok.json().contentModeration.moderator, "digits");
  } finally {
    await h.svc.close();
  }
});
