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
  /**
   * Waits (ms) before fetching a live gap from history again after the fetch failed while
   * connected (for example `rate_limited`, `unavailable` or a server error); the last repeats
   * until the fetch succeeds, the group is unsubscribed, the client is stopped, or a reconnect's
   * (or a later `start`'s) resubscribe takes over. Meanwhile the envelope that revealed the gap, and what arrives for the
   * group after it, wait; nothing of another group waits. The same delays pace a reconnect's
   * resubscribe: when a group's `Subscribe`, or a page of what it missed, fails for a reason that
   * can pass (for example `rate_limited` when many groups' calls exceed the connection's
   * invocation burst), the resubscribe waits the next delay and goes on with that group from what
   * it has delivered, the count starting over after each call that succeeds. Default 100, 250,
   * 500, 1000, 2000, 5000. At least one, none negative.
   */
  gapFillRetryDelays?: number[];
  /**
   * Most envelopes of one group held undelivered while they wait: behind a live gap whose fetch is
   * being retried (see `gapFillRetryDelays`), or until a reconnect's resubscribe has settled the
   * group. When one more arrives, the client gives the group up: `subscriptionLost` is emitted with
   * the last position delivered and an error saying why, what waited is dropped, the group's
   * pending retry is cancelled, and the client stops following it (other groups go on); `subscribe`
   * follows it again. This bounds the client's memory during a long `rate_limited` or
   * `unavailable` spell on a busy group. Default 10000; at least 1.
   */
  maxWaiting?: number;
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
  /**
   * Raised once per reconnect, and once per `start` that found groups followed on an earlier
   * connection, when every group followed at the reconnect (or start) is settled: subscribed
   * again, with what it missed up to the `Subscribe` answer (all its pages) delivered and then what
   * waited for it; or lost (`subscriptionLost` was raised first); or unsubscribed meanwhile. Calls
   * refused for a reason that can pass were retried first (see `gapFillRetryDelays`), so it may
   * come seconds after the reconnect. Not raised when the connection drops again or the client is
   * stopped before then (the next reconnect or start starts over and raises its own). A live gap found after
   * a group's answer whose fetch fails does not hold it up: that gap is retried on its own.
   */
  resubscribed: () => void;
  /**
   * The server refused a group with a code that will not change: after a reconnect its `Subscribe`
   * or a page of what it missed (`too_many_groups`, `permission_denied`, `position_invalid`,
   * `group_name_invalid`, `group_name_reserved`), or, while connected, a live gap's page (the same
   * but `too_many_groups`). Other failures (for example `rate_limited`, `unavailable`, a server
   * error) are retried, see `gapFillRetryDelays`. The client no longer follows the group, and what
   * waited for it is not delivered; `subscribe` follows it again. Also emitted, with an error
   * saying so, when more than `maxWaiting` envelopes of the group waited (behind a gap whose fetch
   * is being retried, or for a reconnect's resubscribe to settle the group): the client gives the
   * group up the same way, and its pending retry is cancelled.
   */
  subscriptionLost: (loss: SubscriptionLoss) => void;
  /** Closed for good. The client still follows its groups: `start` subscribes them again. */
  close: (error?: Error) => void;
}

interface GroupState {
  presence: boolean;
  epoch: string | null;
  offset: number;
  /** Envelopes not delivered yet: received before the subscribe answer, or behind a gap whose fetch failed. */
  waiting: GroupEnvelope[];
  /** A gap's fetch failed: `waiting` is delivered by its retry (or a resubscribe), not by the next envelope. */
  stalled: boolean;
  /** Failed fetches in a row, which pick the next retry delay. */
  fillFailures: number;
  /** The scheduled retry of the fetch, while stalled. */
  retry?: ReturnType<typeof setTimeout>;
  /** A reconnect's resubscribe has not settled the group yet: its live envelopes wait. */
  resubscribing: boolean;
  /**
   * A resubscribe's `Subscribe` answer was applied but paging what it said was missing failed: the
   * offset paging must still reach before what waits is delivered.
   */
  pageUntil?: number;
}

/** Codes with which the server refuses a history page for good: the same request would be refused again. */
const finalRefusals = new Set(["permission_denied", "position_invalid", "group_name_invalid", "group_name_reserved"]);

/** Codes with which the server refuses a resubscribe's `Subscribe` or page for good: the history ones, and `too_many_groups`. */
const finalResubscribeRefusals = new Set([...finalRefusals, "too_many_groups"]);

/** The Switchboard code of a hub error ("... HubException: {code}: {sentence}"), or undefined. */
function errorCode(error: unknown): string | undefined {
  const marker = "HubException: ";
  const message = error instanceof Error ? error.message : String(error);
  const at = message.lastIndexOf(marker);
  if (at < 0) return undefined;
  const rest = message.slice(at + marker.length);
  const colon = rest.indexOf(": ");
  return colon <= 0 ? undefined : rest.slice(0, colon);
}

/**
 * A client of Switchboard's chat hub that does not lose group messages across reconnects: it
 * resubscribes from the last offset it delivered, delivers what it missed before anything newer,
 * fills live gaps from history and drops duplicates by offset. When a live gap's fetch fails while
 * the connection stays up (for example `rate_limited`), the envelope that revealed it and any that
 * arrive after it for that group wait, and the fetch is tried again after `gapFillRetryDelays`
 * until it succeeds, the group is unsubscribed, the client is stopped, or a reconnect's resubscribe
 * takes over; then they are delivered, in order. After a reconnect it subscribes its groups again
 * one call at a time; a `Subscribe` or page refused for a reason that can pass (`rate_limited`,
 * `unavailable`, a server error) pauses that walk for the next of `gapFillRetryDelays`, then it
 * goes on with that group from what it delivered, while its live envelopes (and the groups after
 * it) wait; `resubscribed` is emitted once every group is settled. A refusal that cannot change
 * raises `subscriptionLost` instead, and so does more than `maxWaiting` envelopes of a group waiting
 * (the group is given up rather than held without bound). The groups stay followed when the
 * connection closes for good (reconnecting gave up, the server closed it, or `stop`): the next
 * `start` subscribes them again from their last (offset, epoch) the same way as after a reconnect,
 * so what was published meanwhile is delivered in order, each once, before anything newer (or
 * `recoveryFailed` says it cannot be); `unsubscribe` ends a group, connected or not. Everything it
 * does with received messages runs on one ordered queue, never inside the SignalR receive loop
 * (awaiting an invoke there would deadlock).
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
  private readonly gapFillRetryDelays: number[];
  private readonly maxWaiting: number;
  /** Which reconnect's resubscribe is the current one; a newer reconnect (or a stop) supersedes it. */
  private round = 0;
  /** The current resubscribe's groups not settled yet, in the order they are walked; the first is the one being tried. */
  private unsettled: [string, GroupState][] = [];
  /** Transient refusals in a row during the current resubscribe, which pick its next delay. */
  private resubscribeFailures = 0;
  /** The current resubscribe's scheduled resumption, while paused. */
  private resubscribeTimer?: ReturnType<typeof setTimeout>;

  constructor(options: SwitchboardClientOptions) {
    this.pageSize = options.pageSize ?? 500;
    this.gapFillRetryDelays = options.gapFillRetryDelays ?? [100, 250, 500, 1000, 2000, 5000];
    if (this.gapFillRetryDelays.length === 0 || this.gapFillRetryDelays.some((d) => !(d >= 0))) {
      throw new Error("gapFillRetryDelays needs at least one delay, none negative.");
    }
    this.maxWaiting = options.maxWaiting ?? 10_000;
    if (!(this.maxWaiting >= 1)) {
      throw new Error("maxWaiting must be at least 1.");
    }
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
    this.connection.onreconnecting((error) => this.enqueue(async () => {
      this.abandonResubscribe(); // the next reconnect starts over
      this.emit("reconnecting", error);
    }));
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

  /**
   * Starts the connection. When the client follows groups from an earlier connection (it closed
   * for good: reconnecting gave up, the server closed it, or `stop`), it then subscribes them
   * again, one at a time, from the last (offset, epoch) it delivered, exactly as after a
   * reconnect: what each missed is delivered first, in order and each once, then what arrived live
   * meanwhile; a group that cannot be recovered emits `recoveryFailed` and continues from its
   * current position; calls refused for a reason that can pass are tried again after
   * `gapFillRetryDelays`; a refusal for good emits `subscriptionLost`; `resubscribed` is emitted
   * once every group is settled. Resolves when the connection is started; that resubscribe goes
   * on after it, on the client's queue.
   */
  async start(): Promise<void> {
    await this.connection.start();
    this.abandonResubscribe(); // a resubscribe paused on an earlier connection must not resume on this one
    this.enqueue(() => this.resubscribeAll(true)).catch(() => undefined); // a listener's error; the queue goes on
  }

  /**
   * Stops the connection; no gap's fetch or resubscribe is tried again. The client keeps following
   * its groups (as Centrifugo's clients keep their subscriptions): a later `start` subscribes them
   * again from where they were. To end a group, call `unsubscribe` (also while stopped).
   */
  stop(): Promise<void> {
    for (const state of this.groups.values()) this.cancelRetry(state);
    this.abandonResubscribe();
    return this.connection.stop();
  }

  /** Subscribes to a group's envelopes, first delivering its last `history` messages. */
  async subscribe(group: string, options: { history?: number; presence?: boolean } = {}): Promise<SubscribeResult> {
    const presence = options.presence ?? false;
    const state: GroupState = { presence, epoch: null, offset: 0, waiting: [], stalled: false, fillFailures: 0, resubscribing: false };
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
    await this.enqueue(async () => {
      // Only onto this call's own state: a later subscribe of the group (or an unsubscribe)
      // replaced it, and that call's answer starts the group; applying this one as well would
      // deliver its history twice.
      if (this.groups.get(group) !== state) return;
      const failure = await this.apply(group, state, result, true);
      if (failure) throw failure.error;
    });
    return result;
  }

  /**
   * Stops following `group`: nothing more of it is delivered, and no reconnect or later `start`
   * subscribes it again. While connected, the server is asked to unsubscribe the connection too;
   * while not (stopped, closed, reconnecting), there is no subscription on the server to end, and
   * forgetting the group is all. The same holds when the connection drops during the server call:
   * the server ends a closed connection's subscriptions itself, so the call resolves instead of
   * rejecting. A refusal by the server on a live connection still rejects.
   */
  async unsubscribe(group: string): Promise<void> {
    await this.enqueue(async () => {
      const state = this.groups.get(group);
      if (state) this.forget(group, state);
    });
    if (this.connection.state !== signalR.HubConnectionState.Connected) return;
    try {
      await this.connection.invoke("Unsubscribe", group);
    } catch (error) {
      // The connection the call went on is gone, and the server ends a closed connection's
      // subscriptions itself: nothing is left to undo. A refusal on a live connection still throws.
      if (this.connection.state !== signalR.HubConnectionState.Connected) return;
      throw error;
    }
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
    state.waiting.push(envelope);
    if (state.waiting.length > this.maxWaiting) {
      // Held too long (a gap that cannot be fetched, a resubscribe that cannot settle the group) on
      // a busy group: give it up rather than grow without bound. Forgetting it cancels its retry.
      this.loseGroup(envelope.group, state, new Error(
        `More than ${this.maxWaiting} messages of group '${envelope.group}' waited behind a gap that could not be fetched ` +
        "(or a resubscribe that could not complete); the group was given up. Subscribe again to follow it."));
      return;
    }
    // The subscribe answer decides where we stand, a reconnect's resubscribe has not settled the
    // group yet, or a gap before it is still being fetched: whoever ends the wait delivers it, in order.
    if (state.epoch === null || state.resubscribing || state.stalled) return;
    await this.deliverWaiting(envelope.group, state);
  }

  /**
   * Delivers the group's waiting envelopes in offset order, each after the gap before it is filled
   * from history. When a gap's fetch fails, the envelope and those after it go on waiting (see
   * `fillFailed`).
   */
  private async deliverWaiting(group: string, state: GroupState): Promise<void> {
    const waiting = state.waiting.sort((a, b) => a.offset - b.offset);
    let done = 0;
    let failure: { error: unknown } | undefined;
    try {
      for (; done < waiting.length; done++) {
        failure = await this.accept(group, state, waiting[done]);
        if (failure) break;
      }
    } finally {
      waiting.splice(0, done); // delivered, or dropped as already delivered
    }
    if (!failure) {
      state.fillFailures = 0;
      return;
    }
    this.fillFailed(group, state, failure.error);
  }

  /**
   * A gap's fetch failed while its envelope waits. A refusal that cannot change loses the group
   * (`subscriptionLost`); anything else (`rate_limited`, `unavailable`, a server error, the
   * connection dropping) is tried again after the next of `gapFillRetryDelays`, and until then
   * what arrives for the group waits behind it.
   */
  private fillFailed(group: string, state: GroupState, error: unknown): void {
    const code = errorCode(error);
    if (code !== undefined && finalRefusals.has(code)) {
      const loss: SubscriptionLoss = { group, lastOffset: state.offset, lastEpoch: state.epoch, error: error as Error };
      this.forget(group, state);
      state.waiting = [];
      this.emit("subscriptionLost", loss);
      return;
    }
    this.cancelRetry(state);
    state.stalled = true;
    const connection = this.connection.state;
    if (connection === signalR.HubConnectionState.Disconnected || connection === signalR.HubConnectionState.Disconnecting) {
      return; // stopped or closed for good: nothing to retry on; a later start's resubscribe fetches the gap
    }
    const delay = this.gapFillRetryDelays[Math.min(state.fillFailures, this.gapFillRetryDelays.length - 1)];
    state.fillFailures++;
    state.retry = setTimeout(() => {
      state.retry = undefined;
      this.enqueue(async () => {
        if (!state.stalled || this.groups.get(group) !== state) return; // unsubscribed, lost, or a resubscribe took over
        if (this.connection.state !== signalR.HubConnectionState.Connected) return; // the reconnect's resubscribe delivers what waits
        state.stalled = false;
        await this.deliverWaiting(group, state);
      }).catch(() => undefined); // a listener's error; the queue goes on
    }, delay);
  }

  /** Cancels the group's scheduled retry, if any: nothing waits for it any more. */
  private cancelRetry(state: GroupState): void {
    if (state.retry !== undefined) clearTimeout(state.retry);
    state.retry = undefined;
    state.stalled = false;
  }

  /**
   * Delivers `envelope` unless it was delivered already, first filling the gap before it from
   * history. Resolves undefined when done, or with the error of the history call that failed (the
   * envelope was not delivered; what the fill got before it was).
   */
  private async accept(group: string, state: GroupState, envelope: GroupEnvelope): Promise<{ error: unknown } | undefined> {
    if (envelope.epoch !== state.epoch) {
      // The group's history was reset while we were connected: nothing before can be recovered.
      this.emit("recoveryFailed", { group, lastOffset: state.offset, lastEpoch: state.epoch, currentEpoch: envelope.epoch });
      state.epoch = envelope.epoch;
      state.offset = envelope.offset - 1;
    }
    if (envelope.offset <= state.offset) return undefined; // already delivered
    if (envelope.offset > state.offset + 1) {
      const failure = await this.fillGap(group, state, envelope.offset - 1);
      if (failure) return failure;
    }
    this.deliver(state, envelope);
    return undefined;
  }

  /**
   * Delivers messages after the state's offset up to `until` from history, page by page (the
   * server serves at most its `Recovery:MaxMessages` per page, whatever the limit asked for). When
   * retention has trimmed the start of the gap (the page's `firstRetained` is beyond the next
   * offset), those messages are lost: `recoveryFailed` says so with the last offset delivered, and
   * what is still retained is delivered, from `firstRetained` on. Resolves undefined when done, or
   * with the error of the history call that failed (what came before it was delivered).
   */
  private async fillGap(group: string, state: GroupState, until: number): Promise<{ error: unknown } | undefined> {
    while (state.offset < until) {
      let page: HistoryPage;
      try {
        page = await this.connection.invoke<HistoryPage>("GetHistory", group, state.offset, Math.min(this.pageSize, until - state.offset));
      } catch (error) {
        return { error };
      }
      if (page.epoch !== state.epoch) {
        // The group's history was replaced: nothing of the gap can be had.
        this.lose(group, state, page.epoch, until);
        return undefined;
      }
      if (page.firstRetained > state.offset + 1) {
        // Trimmed by retention up to firstRetained - 1; the page starts at firstRetained.
        this.lose(group, state, page.epoch, Math.min(until, page.firstRetained - 1));
      } else if (page.messages.length === 0) {
        this.lose(group, state, page.epoch, until); // nothing where the gap should be
        return undefined;
      }
      for (const message of page.messages) {
        if (message.offset > until) break;
        if (message.offset <= state.offset) continue;
        this.deliver(state, message);
      }
    }
    return undefined;
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

  /**
   * Applies a `Subscribe` answer: delivers its messages, then pages what it says is missing up to
   * its offset, then what waited for the group. Resolves undefined when done, or with the error of
   * the page that failed (what came before it was delivered; `pageUntil` says how far paging must
   * still go, and the group's envelopes go on waiting).
   */
  private async apply(group: string, state: GroupState, result: SubscribeResult, first: boolean): Promise<{ error: unknown } | undefined> {
    if (first || !result.recovered) {
      if (!first) {
        this.emit("recoveryFailed", { group, lastOffset: state.offset, lastEpoch: state.epoch, currentEpoch: result.epoch });
      }
      // Start just before the history we were given, or at the group's position.
      state.epoch = result.epoch;
      state.offset = result.messages.length > 0 ? result.messages[0].offset - 1 : result.offset;
    }
    for (const message of result.messages) {
      // The answer's messages follow one another from the position set above: no gap to fetch.
      const failure = await this.accept(group, state, message);
      if (failure) return failure;
    }
    if (result.recovered && result.hasMore) state.pageUntil = result.offset;
    return this.finish(group, state);
  }

  /** Pages up to `pageUntil` if set, then delivers what waited. Resolves with the failed page's error, or undefined. */
  private async finish(group: string, state: GroupState): Promise<{ error: unknown } | undefined> {
    if (state.pageUntil !== undefined) {
      const failure = await this.fillGap(group, state, state.pageUntil);
      if (failure) return failure;
      state.pageUntil = undefined;
    }
    state.resubscribing = false;
    await this.deliverWaiting(group, state);
    return undefined;
  }

  /**
   * After a reconnect, or a start when groups are followed from an earlier connection: subscribes
   * every followed group again, one at a time, from its last (offset, epoch). After a start with no
   * group followed, does nothing (no `resubscribed`).
   */
  private async resubscribeAll(afterStart = false): Promise<void> {
    if (afterStart && this.groups.size === 0) return; // a first start, or nothing followed any more
    this.abandonResubscribe();
    const round = this.round;
    for (const [group, state] of [...this.groups]) {
      // Subscribing again from the last offset delivered fetches any gap a failed fill left, and
      // what waited behind it is delivered after the answer: no fill retry is needed any more.
      // Until the group is settled, its live envelopes wait.
      this.cancelRetry(state);
      state.fillFailures = 0;
      state.resubscribing = true;
      state.pageUntil = undefined;
      this.unsettled.push([group, state]);
    }
    await this.continueResubscribe(round);
  }

  /** Supersedes the current resubscribe: its scheduled resumption does nothing, and it never emits `resubscribed`. */
  private abandonResubscribe(): void {
    this.round++;
    this.unsettled = [];
    this.resubscribeFailures = 0;
    if (this.resubscribeTimer !== undefined) clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = undefined;
  }

  /**
   * Walks the resubscribe's unsettled groups in order. A group whose `Subscribe` or page fails for
   * a reason that can pass stops the walk: it goes on with that group, from what it has delivered,
   * after the next of `gapFillRetryDelays` (one call at a time, so a rate-limited connection is not
   * hammered). A refusal that cannot change loses the group. When none is left, emits `resubscribed`.
   */
  private async continueResubscribe(round: number): Promise<void> {
    while (round === this.round && this.unsettled.length > 0) {
      const [group, state] = this.unsettled[0];
      if (this.groups.get(group) !== state) {
        this.unsettled.shift(); // unsubscribed, or subscribed anew, meanwhile
        continue;
      }
      let failure: { error: unknown } | undefined;
      try {
        failure = await this.resubscribe(group, state);
      } catch (error) {
        // A listener threw (calls' failures are resolved, not thrown): as before, the group is given up.
        this.unsettled.shift();
        this.loseGroup(group, state, error);
        continue;
      }
      if (!failure) {
        this.unsettled.shift();
        this.resubscribeFailures = 0;
        continue;
      }
      if (this.connection.state !== signalR.HubConnectionState.Connected) return; // dropped again, or stopped: the next reconnect starts over
      const code = errorCode(failure.error);
      if (code !== undefined && finalResubscribeRefusals.has(code)) {
        this.unsettled.shift();
        this.loseGroup(group, state, failure.error);
        continue;
      }
      const delay = this.gapFillRetryDelays[Math.min(this.resubscribeFailures, this.gapFillRetryDelays.length - 1)];
      this.resubscribeFailures++;
      this.resubscribeTimer = setTimeout(() => {
        this.resubscribeTimer = undefined;
        this.enqueue(async () => {
          if (round !== this.round || this.connection.state !== signalR.HubConnectionState.Connected) return; // superseded, dropped or stopped
          await this.continueResubscribe(round);
        }).catch(() => undefined); // a listener's error; the queue goes on
      }, delay);
      return;
    }
    if (round === this.round) {
      this.abandonResubscribe(); // done: nothing more to emit for this round
      this.emit("resubscribed");
    }
  }

  /**
   * Subscribes `group` again from its last position, or, when an earlier try's answer was applied
   * and only its paging failed, pages on from there. Resolves undefined when the group is settled,
   * or with the error of the call that failed.
   */
  private async resubscribe(group: string, state: GroupState): Promise<{ error: unknown } | undefined> {
    if (state.pageUntil !== undefined) return this.finish(group, state);
    const request: SubscribeRequest = { presence: state.presence };
    if (state.epoch !== null) {
      request.offset = state.offset;
      request.epoch = state.epoch;
    }
    let result: SubscribeResult;
    try {
      result = await this.connection.invoke<SubscribeResult>("Subscribe", group, request);
    } catch (error) {
      return { error };
    }
    return this.apply(group, state, result, state.epoch === null);
  }

  private loseGroup(group: string, state: GroupState, error: unknown): void {
    const loss: SubscriptionLoss = { group, lastOffset: state.offset, lastEpoch: state.epoch, error: error as Error };
    this.forget(group, state);
    state.waiting = [];
    this.emit("subscriptionLost", loss);
  }

  /** Stops following `group` if `state` is still its state. */
  private forget(group: string, state: GroupState): void {
    this.cancelRetry(state);
    if (this.groups.get(group) === state) this.groups.delete(group);
  }
}
