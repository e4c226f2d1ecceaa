// The cli layer as other layers import it: everything here is what they may use.
export { REPO_ROOT } from "./default-model.ts";
export { CliError } from "./errors.ts";
