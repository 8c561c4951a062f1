export { SwitchboardClient } from "./client.js";
export type { SwitchboardClientOptions, SwitchboardClientEvents } from "./client.js";
export type * from "./types.js";
