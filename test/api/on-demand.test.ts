// servingMode ON_DEMAND over the HTTP API: a BASE model's request goes to its ACTIVE endpoint in the
// request's compartment; without one (none, INACTIVE, another compartment) a 404 says what to do; a
// CUSTOM model or a malformed servingMode is a 400.

import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "../control/fakes.ts";
import { apiHarness, auth, hostedEndpoint } from "./helpers.ts";

test("ON_DEMAND goes to the base model's ACTIVE endpoint in the compartment, or answers a 4xx with a hint", async () => {
  const h = await apiHarness();
  try {
    const app = h.svc.app;
    const { endpointId, modelId } = await hostedEndpoint(h);
    const keyAB = (await h.svc.store.apiKeys.create(["compA", "compB"])).key;
    const post = async (url: string, payload: object, key = h.keyA) => {
      const r = await app.inject({ method: "POST", url, headers: auth(key), payload });
      return { status: r.statusCode, body: r.json() };
    };
    const generate = (servingMode: object, compartmentId = "compA", key = h.keyA) =>
      post(
        "/20231130/actions/generateText",
        { compartmentId, servingMode, inferenceRequest: { runtimeType: "LLAMA", prompt: "hello", maxTokens: 3, temperature: 0 } },
        key,
      );
    const onDemand = { servingType: "ON_DEMAND", modelId };

    const dedicated = await generate({ servingType: "DEDICATED", endpointId });
    const od = await generate(onDemand);
    assert.equal(od.status, 200, JSON.stringify(od.body));
    assert.equal(od.body.modelId, modelId);
    assert.equal(od.body.inferenceResponse.choices[0].text, dedicated.body.inferenceResponse.choices[0].text, "the same endpoint answers");
    const usage = (await app.inject({ method: "GET", url: `/20231130/endpoints/${endpointId}/usage`, headers: auth(h.keyA) })).json();
    assert.equal(usage.generations, 2, "both went through the endpoint");
    const chat = await post("/20231130/actions/chat", {
      compartmentId: "compA",
      servingMode: onDemand,
      chatRequest: { apiFormat: "GENERIC", messages: [{ role: "USER", content: [{ type: "TEXT", text: "hi" }] }], maxTokens: 2 },
    });
    assert.equal(chat.status, 200, JSON.stringify(chat.body));

    // another compartment has no endpoint of it
    const elsewhere = await generate(onDemand, "compB", keyAB);
    assert.equal(elsewhere.status, 404);
    assert.match(
      elsewhere.body.message,
      /no ACTIVE endpoint in compartment compB serves base model .*: create one on a HOSTING cluster \(POST \/20231130\/endpoints/,
    );
    assert.match(elsewhere.body.message, /or use servingMode \{servingType: "DEDICATED", endpointId\}/);

    // an INACTIVE endpoint is named, with what to do
    await app.inject({ method: "POST", url: `/20231130/endpoints/${endpointId}/actions/deactivate`, headers: auth(h.keyA) });
    await until(
      async () =>
        (await app.inject({ method: "GET", url: `/20231130/endpoints/${endpointId}`, headers: auth(h.keyA) })).json().lifecycleState ===
        "INACTIVE",
      "INACTIVE",
    );
    const inactive = await generate(onDemand);
    assert.equal(inactive.status, 404);
    assert.match(inactive.body.message, new RegExp(`endpoint ${endpointId} does but is INACTIVE: activate it`));

    // a CUSTOM model is served by its own endpoint (a stored row stands for a fine-tuned one)
    const base = (await h.svc.store.models.get(modelId))!.value;
    await h.svc.store.models.insert({ ...base, id: "ocid1.generativeaimodel.sprig..custom", type: "CUSTOM", baseModelId: modelId });
    const custom = await generate({ servingType: "ON_DEMAND", modelId: "ocid1.generativeaimodel.sprig..custom" });
    assert.equal(custom.status, 400);
    assert.match(custom.body.message, /is a CUSTOM model; ON_DEMAND serves BASE models\. Call its endpoint with servingMode/);

    // models the key cannot see, and malformed modes
    assert.equal((await generate({ servingType: "ON_DEMAND", modelId: "nope" })).status, 404);
    assert.equal((await generate({ servingType: "ON_DEMAND", modelId }, "compA", h.keyB)).status, 400, "compA is not B's");
    const mixed = await generate({ servingType: "ON_DEMAND", endpointId });
    assert.equal(mixed.status, 400);
    assert.match(mixed.body.message, /modelId/);
    assert.equal((await generate({ servingType: "SHARED", modelId })).status, 400);
  } finally {
    await h.svc.close();
  }
});
