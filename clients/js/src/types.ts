// Wire types of Switchboard's chat hub, as they travel in JSON and MessagePack (camelCase in both).

/** A group message with its position: `ReceiveGroupMessage`, history pages and recovery answers. */
export interface GroupEnvelope {
  id: string;
  group: string;
  offset: number;
  epoch: string;
  senderId: string | null;
  senderName: string | null;
  timestamp: string | Date;
  payload: string;
}

export interface SubscribeRequest {
  offset?: number;
  epoch?: string;
  history?: number;
  presence?: boolean;
}

export interface SubscribeResult {
  group: string;
  epoch: string;
  offset: number;
  recovered: boolean;
  hasMore: boolean;
  messages: GroupEnvelope[];
}

export interface HistoryPage {
  group: string;
  epoch: string;
  offset: number;
  firstRetained: number;
  hasMore: boolean;
  messages: GroupEnvelope[];
}

export interface PublishResult {
  id: string;
  group: string;
  offset: number;
  epoch: string;
  duplicate: boolean;
}

export interface PresenceEvent {
  group: string;
  userId: string;
  name: string;
}

export interface PresenceMember {
  userId: string;
  name: string;
  connections: number;
  joinedAt: string | Date;
}

export interface GroupPresence {
  group: string;
  users: number;
  connections: number;
  members: PresenceMember[];
}

/** Recovery of `group` was impossible: what the client had, and the epoch it continues with. */
export interface RecoveryFailure {
  group: string;
  lastOffset: number;
  lastEpoch: string | null;
  currentEpoch: string;
}

/**
 * `group` could not be followed again after a reconnect, or the server refused a gap's fetch for
 * good, or more than `maxWaiting` of its envelopes waited: the last position delivered (`lastEpoch`
 * null when nothing was) and the server's refusal (or an error saying too many waited).
 */
export interface SubscriptionLoss {
  group: string;
  lastOffset: number;
  lastEpoch: string | null;
  error: Error;
}
