// The console layer as other layers import it: everything here is what they may use.
export { consoleRoutes } from "./serve.ts";
