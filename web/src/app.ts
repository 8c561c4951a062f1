import * as signalR from "@microsoft/signalr";
import { SwitchboardClient } from "@switchboard/client";
import { ConnectionBanner } from "./banner";
import { connect, hubUrl, reconnectDelays, reconnectForMs } from "./hubs";
import { PrivateChannel } from "./private";
import type { Session } from "./session";
import { toast } from "./toasts";
import type { GroupEnvelope } from "@switchboard/client";

export interface Notification {
  message: string;
  timestamp: string;
}

/**
 * The connections a signed-in user keeps while the app is open: chat (rooms, presence, history
 * and recovery through the TypeScript client), secure chat (private messages and admin
 * broadcasts) and notifications (toasts). Pages that stream (dashboard, upload) open their own
 * connection when first used.
 */
export class App {
  readonly chat: SwitchboardClient;
  readonly secure: signalR.HubConnection;
  readonly notifications: signalR.HubConnection;
  readonly privateChannel: PrivateChannel;
  readonly banner: ConnectionBanner;
  readonly privateListeners = new Set<(envelope: GroupEnvelope) => void>();
  readonly notificationListeners = new Set<(notification: Notification) => void>();
  readonly startedAt: Promise<void>;

  constructor(readonly session: Session) {
    this.banner = new ConnectionBanner(() => window.location.reload());

    this.chat = new SwitchboardClient({
      url: hubUrl("/hubs/chat"),
      accessTokenFactory: () => session.token,
      reconnectDelays,
      reconnectForMs,
    });
    this.chat.on("reconnecting", () => this.banner.set("chat", "reconnecting"));
    // Back only once the rooms are subscribed again and what was missed has been delivered.
    this.chat.on("resubscribed", () => this.banner.set("chat", "connected"));
    this.chat.on("close", (error) => this.banner.set("chat", "closed", closeReason(error)));

    this.secure = connect("/hubs/secure-chat", session);
    this.privateChannel = new PrivateChannel(this.secure,
      (envelope) => this.privateListeners.forEach((listener) => listener(envelope)),
      () => toast("Private messages", "Some private messages could not be recovered.", "error"));
    this.secure.on("AdminMessage", (message: string) => toast("Admin broadcast", message, "admin"));
    this.watch("secure", this.secure, () => this.privateChannel.subscribe());

    this.notifications = connect("/hubs/notifications", session);
    this.notifications.on("ReceiveNotification", (notification: Notification) => {
      toast("Notification", notification.message);
      this.notificationListeners.forEach((listener) => listener(notification));
    });
    this.watch("notifications", this.notifications, async () => {
      for (const group of notificationGroups()) await this.notifications.invoke("JoinGroup", group);
    });

    this.startedAt = this.start();
  }

  private async start(): Promise<void> {
    this.banner.set("chat", "connecting");
    this.banner.set("secure", "connecting");
    this.banner.set("notifications", "connecting");
    const results = await Promise.allSettled([
      this.chat.start().then(() => this.banner.set("chat", "connected")),
      this.secure.start().then(() => this.privateChannel.subscribe()).then(() => this.banner.set("secure", "connected")),
      this.notifications.start()
        .then(async () => { for (const group of notificationGroups()) await this.notifications.invoke("JoinGroup", group); })
        .then(() => this.banner.set("notifications", "connected")),
    ]);
    const names = ["chat", "secure", "notifications"];
    results.forEach((result, i) => {
      if (result.status === "rejected") this.banner.set(names[i], "closed", "could not connect to the server");
    });
  }

  /** Banner states for a plain connection; `restore` runs after each reconnect before it counts as back. */
  private watch(name: string, connection: signalR.HubConnection, restore: () => Promise<void>): void {
    connection.onreconnecting(() => this.banner.set(name, "reconnecting"));
    connection.onreconnected(async () => {
      try {
        await restore();
        this.banner.set(name, "connected");
      } catch (error) {
        this.banner.set(name, "closed", String(error));
      }
    });
    connection.onclose((error) => this.banner.set(name, "closed", closeReason(error)));
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.chat.stop(), this.secure.stop(), this.notifications.stop()]);
  }
}

function closeReason(error?: Error): string | undefined {
  if (!error) return undefined;
  // "Server returned an error on close: disconnected: maintenance" → "disconnected: maintenance"
  const marker = "error on close: ";
  const at = error.message.indexOf(marker);
  return at >= 0 ? error.message.slice(at + marker.length) : error.message;
}

const notificationGroupsKey = "switchboard.notificationGroups";

/** Notification groups this tab listens to; joined again on every (re)connect. */
export function notificationGroups(): string[] {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(notificationGroupsKey) ?? "[]");
    return Array.isArray(value) ? value.filter((g): g is string => typeof g === "string") : [];
  } catch {
    return [];
  }
}

export function saveNotificationGroups(groups: string[]): void {
  sessionStorage.setItem(notificationGroupsKey, JSON.stringify(groups));
}
