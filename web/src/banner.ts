import { byId, clear, h } from "./dom";

export type LinkState = "connecting" | "connected" | "reconnecting" | "closed";

/**
 * The connection banner: one line under the header that says when any of the app's hub
 * connections is down, and when it is back with what was missed recovered.
 */
export class ConnectionBanner {
  private readonly states = new Map<string, LinkState>();
  private readonly reasons = new Map<string, string>();
  private wasDown = false;
  private hideTimer = 0;
  private readonly element = byId("connection-banner");

  constructor(private readonly onReconnect: () => void) {}

  set(link: string, state: LinkState, reason?: string): void {
    this.states.set(link, state);
    if (reason) this.reasons.set(link, reason); else this.reasons.delete(link);
    this.render();
  }

  private render(): void {
    const states = [...this.states.values()];
    // The overall state, also for scripts and tests: closed, reconnecting, connecting or connected.
    document.documentElement.dataset.connection =
      (["closed", "reconnecting", "connecting"] as const).find((s) => states.includes(s)) ?? "connected";
    window.clearTimeout(this.hideTimer);
    clear(this.element);
    if (states.includes("closed")) {
      const why = [...this.reasons.values()][0];
      this.show("closed", `Disconnected${why ? `: ${why}` : "."} `,
        h("button", { type: "button", id: "reconnect-now", onclick: () => this.onReconnect() }, "Reconnect"));
      this.wasDown = true;
    } else if (states.includes("reconnecting")) {
      this.show("reconnecting", "Connection lost. Reconnecting… messages sent meanwhile will appear when it is back.");
      this.wasDown = true;
    } else if (states.every((s) => s === "connected") && this.wasDown) {
      this.wasDown = false;
      this.show("connected", "Reconnected. Missed messages have been recovered.");
      this.hideTimer = window.setTimeout(() => { this.element.hidden = true; }, 4000);
    } else if (states.every((s) => s === "connected")) {
      this.element.hidden = true;
    }
  }

  private show(state: string, text: string, ...extra: Node[]): void {
    this.element.dataset.state = state;
    this.element.append(text, ...extra);
    this.element.hidden = false;
  }
}
