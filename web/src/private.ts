import * as signalR from "@microsoft/signalr";
import type { GroupEnvelope, HistoryPage, SubscribeRequest, SubscribeResult } from "@switchboard/client";

/**
 * The signed-in user's private channel on /hubs/secure-chat (`user:{id}`), received as envelopes
 * through SubscribePrivate so that private messages, like room messages, are recovered after a
 * reconnect and shown once: the same rules as the TypeScript client's subscribe, for the one
 * channel it does not cover. SignalR delivers one connection's messages in order, so a gap can
 * only open across a reconnect, and the resubscribe from the last offset fills it.
 */
export class PrivateChannel {
  private epoch: string | null = null;
  private offset = 0;
  private early: GroupEnvelope[] | null = null;

  constructor(
    private readonly connection: signalR.HubConnection,
    private readonly onMessage: (envelope: GroupEnvelope) => void,
    private readonly onLost: () => void,
  ) {
    connection.on("ReceiveGroupMessage", (envelope: GroupEnvelope) => {
      if (this.early) this.early.push(envelope); else this.accept(envelope);
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
      for (const message of result.messages) this.accept(message);
      let more = result.recovered && result.hasMore;
      while (more) {
        const page = await this.connection.invoke<HistoryPage>("GetPrivateHistory", this.offset, 500);
        for (const message of page.messages) this.accept(message);
        more = page.hasMore && page.messages.length > 0;
      }
    } finally {
      const early = (this.early ?? []).sort((a, b) => a.offset - b.offset);
      this.early = null;
      for (const envelope of early) this.accept(envelope);
    }
  }

  private accept(envelope: GroupEnvelope): void {
    if (envelope.epoch !== this.epoch) {
      // The channel's history was replaced while connected: start again from this message.
      this.epoch = envelope.epoch;
      this.offset = envelope.offset - 1;
    }
    if (envelope.offset <= this.offset) return; // already shown
    this.offset = envelope.offset;
    this.onMessage(envelope);
  }
}
