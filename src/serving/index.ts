// The serving layer as other layers import it: everything here is what they may use.
export { tokenBytes } from "./constrained/token-bytes.ts";
export { generate } from "./generate.ts";
export { InvalidRequestError, UnknownModelError } from "./hosting/errors.ts";
export { type HostedGeneration } from "./hosting/hosted-request.ts";
export { HostingEngine, type SubmitRequest } from "./hosting/hosting-engine.ts";
export { forwardAll, ModelRunner } from "./model-runner.ts";
export { samplingOptions } from "./sampling.ts";
export { capacityProblems, type HeldModel } from "./hosting/hosting-capacity.ts";
