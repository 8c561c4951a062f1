import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import type {
  GroupEnvelope, GroupPresence, HistoryPage, PresenceEvent, PublishResult, RecoveryFailure, SubscribeRequest, SubscribeResult,
  SubscriptionLoss,
} from "./types.js";

export interface SwitchboardClientOptions {
  /** The chat hub's absolute URL, e.g. `http://127.0.0.1:5080/hubs/chat`. */
  url: string;
  /** Returns the current access token; called on every (re)connect, so it may refresh. */
  accessTokenFactory?: () => string | Promise<string>;
  /** WebSockets without the negotiate round trip (no sticky sessions needed). Default true. */
  skipNegotiation?: boolean;
  /** Use the MessagePack hub protocol. Default false (JSON). */
  messagePack?: boolean;
  /** Waits (ms) between reconnect attempts; the last repeats until `reconnectForMs` has passed. */
  reconnectDelays?: number[];
  /** How long to keep trying to reconnect, in ms. Default 10 minutes. */
  reconnectForMs?: number;
  /**
   * Most messages asked for per history page when filling a gap. Default 500. The server serves at
   * most its `Switchboard:Recovery:MaxMessages` per page whatever is asked (and about
   * `MaxCharacters` of payload), so this need not match the deployment.
   */
  pageSize?: number;
  logLevel?: signalR.LogLevel;
}

export interface SwitchboardClientEvents {
  /** A group message, exactly once and in offset order per group. */
  message: (envelope: GroupEnvelope) => void;
  /**
   * Missed messages could not be recovered. After a reconnect (the server answered
   * `recovered: false`) or a new epoch, the client continues from the group's current position.
   * When history paging finds that retention trimmed the start of a gap (a live gap, or the pages
   * after a recovery answer), the messages after `lastOffset` and before the first one still
   * retained are lost, and the retained rest is delivered next, in order.
   */
  recoveryFailed: (failure: RecoveryFailure) => void;
  /** The guide's `ReceiveMessage(user, message)`. */
  chatMessage: (user: string, message: string) => void;
  presenceJoined: (event: PresenceEvent) => void;
  presenceLeft: (event: PresenceEvent) => void;
  reconnecting: (error?: Error) => void;
  /** Groups subscribed again after a reconnect, and what was missed delivered (groups refused meanwhile raised `subscriptionLost`). */
  resubscribed: () => void;
  /**
   * After a reconnect the server refused to subscribe a group again, or to page what it missed
   * (the error says why, e.g. `too_many_groups` or `rate_limited`). The client no longer follows
   * the group; `subscribe` follows it again.
   */
  subscriptionLost: (loss: SubscriptionLoss) => void;
  /** Closed for good. */
  close: (error?: Error) => void;
}

interface GroupState {
  presence: boolean;
  epoch: string | null;
  offset: number;
  early: GroupEnvelope[];
}

/**
 * A client of Switchboard's chat hub that does not lose group messages across reconnects: it
 * resubscribes from the last offset it delivered, delivers what it missed before anything newer,
 * fills live gaps from history and drops duplicates by offset. Everything it does with received
 * messages runs on one ordered queue, never inside the SignalR receive loop (awaiting an invoke
 * there would deadlock).
 */
export class SwitchboardClient {
  readonly connection: signalR.HubConnection;
  private readonly groups = new Map<string, GroupState>();
  private readonly listeners: { [K in keyof SwitchboardClientEvents]: Set<SwitchboardClientEvents[K]> } = {
    message: new Set(), recoveryFailed: new Set(), chatMessage: new Set(), presenceJoined: new Set(),
    presenceLeft: new Set(), reconnecting: new Set(), resubscribed: new Set(), subscriptionLost: new Set(), close: new Set(),
  };
  private queue: Promise<void> = Promise.resolve();
  private readonly pageSize: number;

  constructor(options: SwitchboardClientOptions) {
    this.pageSize = options.pageSize ?? 500;
    const skip = options.skipNegotiation ?? true;
    const delays = options.reconnectDelays ?? [0, 1000, 2000, 5000, 10000];
    const giveUpAfter = options.reconnectForMs ?? 10 * 60 * 1000;
    const builder = new signalR.HubConnectionBuilder()
      .withUrl(options.url, {
        skipNegotiation: skip,
        transport: skip ? signalR.HttpTransportType.WebSockets : undefined,
        accessTokenFactory: options.accessTokenFactory,
      })
      .withAutomaticReconnect({
        nextRetryDelayInMilliseconds: (context) =>
          context.elapsedMilliseconds >= giveUpAfter || delays.length === 0
            ? null
            : delays[Math.min(context.previousRetryCount, delays.length - 1)],
      })
      .configureLogging(options.logLevel ?? signalR.LogLevel.Warning);
    if (options.messagePack) {
      builder.withHubProtocol(new MessagePackHubProtocol());
    }
    this.connection = builder.build();
    this.connection.on("ReceiveGroupMessage", (envelope: GroupEnvelope) => this.enqueue(() => this.onEnvelope(envelope)));
    this.connection.on("PresenceJoined", (e: PresenceEvent) => this.enqueue(async () => this.emit("presenceJoined", e)));
    this.connection.on("PresenceLeft", (e: PresenceEvent) => this.enqueue(async () => this.emit("presenceLeft", e)));
    this.connection.on("ReceiveMessage", (user: string, message: string) => this.enqueue(async () => this.emit("chatMessage", user, message)));
    this.connection.onreconnecting((error) => this.enqueue(async () => this.emit("reconnecting", error)));
    this.connection.onreconnected(() => this.enqueue(() => this.resubscribeAll()));
    this.connection.onclose((error) => this.enqueue(async () => this.emit("close", error)));
  }

  on<K extends keyof SwitchboardClientEvents>(event: K, listener: SwitchboardClientEvents[K]): this {
    this.listeners[event].add(listener);
    return this;
  }

  off<K extends keyof SwitchboardClientEvents>(event: K, listener: SwitchboardClientEvents[K]): this {
    this.listeners[event].delete(listener);
    return this;
  }

  start(): Promise<void> {
    return this.connection.start();
  }

  stop(): Promise<void> {
    return this.connection.stop();
  }

  /** Subscribes to a group's envelopes, first delivering its last `history` messages. */
  async subscribe(group: string, options: { history?: number; presence?: boolean } = {}): Promise<SubscribeResult> {
    const presence = options.presence ?? false;
    const state: GroupState = { presence, epoch: null, offset: 0, early: [] };
    await this.enqueue(async () => { this.groups.set(group, state); });
    let result: SubscribeResult;
    try {
      result = await this.connection.invoke<SubscribeResult>("Subscribe", group, { history: options.history ?? 0, presence } satisfies SubscribeRequest);
    } catch (error) {
      // Not subscribed: a reconnect must not try this group again (a refused name would be
      // refused again, and stop the groups after it from being resubscribed).
      await this.enqueue(async () => this.forget(group, state));
      throw error;
    }
    await this.enqueue(() => this.apply(group, result, true));
    return result;
  }

  async unsubscribe(group: string): Promise<void> {
    await this.enqueue(async () => { this.groups.delete(group); });
    await this.connection.invoke("Unsubscribe", group);
  }

  /** Publishes; resolves with the acknowledgement once the message is durable. An `id` makes retries safe. */
  publish(group: string, message: string, id?: string): Promise<PublishResult> {
    return this.connection.invoke<PublishResult>("Publish", group, { id, message });
  }

  getHistory(group: string, after: number, limit: number): Promise<HistoryPage> {
    return this.connection.invoke<HistoryPage>("GetHistory", group, after, limit);
  }

  getPresence(group: string): Promise<GroupPresence> {
    return this.connection.invoke<GroupPresence>("GetPresence", group);
  }

  /** The last (offset, epoch) delivered for a group, or undefined when not subscribed yet. */
  positionOf(group: string): { offset: number; epoch: string } | undefined {
    const state = this.groups.get(group);
    return state?.epoch ? { offset: state.offset, epoch: state.epoch } : undefined;
  }

  private emit<K extends keyof SwitchboardClientEvents>(event: K, ...args: Parameters<SwitchboardClientEvents[K]>): void {
    for (const listener of this.listeners[event]) {
      (listener as (...a: Parameters<SwitchboardClientEvents[K]>) => void)(...args);
    }
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  // Everything below runs on the queue, one item at a time.

  private async onEnvelope(envelope: GroupEnvelope): Promise<void> {
    const state = this.groups.get(envelope.group);
    if (!state) return; // unsubscribed meanwhile
    if (state.epoch === null) {
      state.early.push(envelope); // the subscribe answer decides where we stand
      return;
    }
    await this.accept(envelope.group, state, envelope);
  }

  private async accept(group: string, state: GroupState, envelope: GroupEnvelope): Promise<void> {
    if (envelope.epoch !== state.epoch) {
      // The group's history was reset while we were connected: nothing before can be recovered.
      this.emit("recoveryFailed", { group, lastOffset: state.offset, lastEpoch: state.epoch, currentEpoch: envelope.epoch });
      state.epoch = envelope.epoch;
      state.offset = envelope.offset - 1;
    }
    if (envelope.offset <= state.offset) return; // already delivered
    if (envelope.offset > state.offset + 1) {
      await this.fillGap(group, state, envelope.offset - 1);
    }
    this.deliver(state, envelope);
  }

  /**
   * Delivers messages after the state's offset up to `until` from history, page by page (the
   * server serves at most its `Recovery:MaxMessages` per page, whatever the limit asked for). When
   * retention has trimmed the start of the gap (the page's `firstRetained` is beyond the next
   * offset), those messages are lost: `recoveryFailed` says so with the last offset delivered, and
   * what is still retained is delivered, from `firstRetained` on.
   */
  private async fillGap(group: string, state: GroupState, until: number): Promise<void> {
    while (state.offset < until) {
      const page = await this.connection.invoke<HistoryPage>("GetHistory", group, state.offset, Math.min(this.pageSize, until - state.offset));
      if (page.epoch !== state.epoch) {
        // The group's history was replaced: nothing of the gap can be had.
        this.lose(group, state, page.epoch, until);
        return;
      }
      if (page.firstRetained > state.offset + 1) {
        // Trimmed by retention up to firstRetained - 1; the page starts at firstRetained.
        this.lose(group, state, page.epoch, Math.min(until, page.firstRetained - 1));
      } else if (page.messages.length === 0) {
        this.lose(group, state, page.epoch, until); // nothing where the gap should be
        return;
      }
      for (const message of page.messages) {
        if (message.offset > until) break;
        if (message.offset <= state.offset) continue;
        this.deliver(state, message);
      }
    }
  }

  /** Reports that the messages after the state's offset up to `lostUntil` cannot be had, and skips them. */
  private lose(group: string, state: GroupState, epoch: string, lostUntil: number): void {
    this.emit("recoveryFailed", { group, lastOffset: state.offset, lastEpoch: state.epoch, currentEpoch: epoch });
    state.epoch = epoch;
    state.offset = lostUntil;
  }

  private deliver(state: GroupState, envelope: GroupEnvelope): void {
    state.offset = envelope.offset;
    this.emit("message", envelope);
  }

  private async apply(group: string, result: SubscribeResult, first: boolean): Promise<void> {
    const state = this.groups.get(group);
    if (!state) return;
    if (first || !result.recovered) {
      if (!first) {
        this.emit("recoveryFailed", { group, lastOffset: state.offset, lastEpoch: state.epoch, currentEpoch: result.epoch });
      }
      // Start just before the history we were given, or at the group's position.
      state.epoch = result.epoch;
      state.offset = result.messages.length > 0 ? result.messages[0].offset - 1 : result.offset;
    }
    for (const message of result.messages) {
      await this.accept(group, state, message);
    }
    if (result.recovered && result.hasMore) {
      await this.fillGap(group, state, result.offset);
    }
    const early = state.early.sort((a, b) => a.offset - b.offset);
    state.early = [];
    for (const envelope of early) {
      await this.accept(group, state, envelope);
    }
  }

  private async resubscribeAll(): Promise<void> {
    for (const [group, state] of [...this.groups]) {
      const request: SubscribeRequest = { presence: state.presence };
      if (state.epoch !== null) {
        request.offset = state.offset;
        request.epoch = state.epoch;
      }
      try {
        const result = await this.connection.invoke<SubscribeResult>("Subscribe", group, request);
        await this.apply(group, result, state.epoch === null);
      } catch (error) {
        if (this.connection.state !== signalR.HubConnectionState.Connected) return; // dropped again; the next reconnect resubscribes
        // Refused by the server: this group is lost, the others go on.
        const loss: SubscriptionLoss = { group, lastOffset: state.offset, lastEpoch: state.epoch, error: error as Error };
        this.forget(group, state);
        this.emit("subscriptionLost", loss);
      }
    }
    this.emit("resubscribed");
  }

  /** Stops following `group` if `state` is still its state. */
  private forget(group: string, state: GroupState): void {
    if (this.groups.get(group) === state) this.groups.delete(group);
  }
}
