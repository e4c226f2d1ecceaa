// The control layer's public surface.
export { ControlPlane, type ControlPlaneOptions } from "./control-plane.ts";
export { type InferenceCounters } from "./inference.ts";
export { type ControlConfig, type ControlConfigInput, ControlConfigSchema, type Logger, silentLogger } from "./config.ts";
export { type Scope, type SprigStore, type Page } from "./context.ts";
export { ServiceError, type ErrorCode, badRequest, notFound, conflict } from "./errors.ts";
export * from "./executors.ts";
export * from "./resources.ts";
export * from "./requests.ts";
export { UNIT_SHAPES, DEFAULT_UNIT_SHAPE } from "./shapes.ts";
export * from "./tool-calls.ts";
