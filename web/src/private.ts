import * as signalR from "@microsoft/signalr";
import type { GroupEnvelope, HistoryPage, SubscribeRequest, SubscribeResult } from "@switchboard/client";

/**
 * The signed-in user's private channel on /hubs/secure-chat (`user:{id}`), received as envelopes
 * through SubscribePrivate so that private messages, like room messages, are recovered after a
 * reconnect and shown once: the same rules as the TypeScript client's subscribe, for the one
 * channel it does not cover. Messages sent through another server process can arrive out of
 * offset order, or one can be lost while a process's Redis subscription reconnects: an offset
 * beyond the next one makes it fetch the missing ones first, and a repeat is dropped. Everything
 * received goes through one ordered queue, so fetching never reorders what is shown.
 */
export class PrivateChannel {
  private epoch: string | null = null;
  private offset = 0;
  private early: GroupEnvelope[] | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: signalR.HubConnection,
    private readonly onMessage: (envelope: GroupEnvelope) => void,
    private readonly onLost: () => void,
  ) {
    connection.on("ReceiveGroupMessage", (envelope: GroupEnvelope) => {
      if (this.early) this.early.push(envelope); else this.enqueue(() => this.accept(envelope));
    });
  }

  /** Subscribes, the first time with the last 50 messages, afterwards from the last one shown. */
  async subscribe(): Promise<void> {
    this.early = [];
    try {
      const request: SubscribeRequest = this.epoch === null ? { history: 50 } : { offset: this.offset, epoch: this.epoch };
      const result = await this.connection.invoke<SubscribeResult>("SubscribePrivate", request);
      if (this.epoch === null || !result.recovered) {
        if (this.epoch !== null) this.onLost();
        this.epoch = result.epoch;
        this.offset = result.messages.length > 0 ? result.messages[0].offset - 1 : result.offset;
      }
      for (const message of result.messages) await this.accept(message);
      let more = result.recovered && result.hasMore;
      while (more) {
        const page = await this.connection.invoke<HistoryPage>("GetPrivateHistory", this.offset, 500);
        for (const message of page.messages) await this.accept(message);
        more = page.hasMore && page.messages.length > 0;
      }
    } finally {
      const early = (this.early ?? []).sort((a, b) => a.offset - b.offset);
      this.early = null;
      // Queued now, so that anything arriving from here on is shown after these.
      this.enqueue(async () => { for (const envelope of early) await this.accept(envelope); });
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch(() => undefined);
  }

  private async accept(envelope: GroupEnvelope): Promise<void> {
    if (envelope.epoch !== this.epoch) {
      // The channel's history was replaced while connected: start again from this message.
      this.epoch = envelope.epoch;
      this.offset = envelope.offset - 1;
    }
    if (envelope.offset <= this.offset) return; // already shown
    if (envelope.offset > this.offset + 1) await this.fillGap(envelope.offset - 1);
    this.offset = envelope.offset;
    this.onMessage(envelope);
  }

  /** Shows the messages after the last one shown up to `until`, from history; says so when they are gone. */
  private async fillGap(until: number): Promise<void> {
    while (this.offset < until) {
      const page = await this.connection.invoke<HistoryPage>("GetPrivateHistory", this.offset, Math.min(500, until - this.offset));
      if (page.epoch !== this.epoch || page.firstRetained > this.offset + 1 || page.messages.length === 0) {
        this.onLost();
        this.offset = until;
        return;
      }
      for (const message of page.messages) {
        if (message.offset > until) break;
        this.offset = message.offset;
        this.onMessage(message);
      }
    }
  }
}
