import type { GroupEnvelope, PresenceEvent } from "@switchboard/client";
import type { App } from "../app";
import { clear, errorText, field, formatTime, h, Outcome } from "../dom";
import { isAdmin } from "../session";
import type { Page } from "./page";

const roomsKey = "switchboard.rooms";
const historyOnJoin = 50;

interface Member {
  userId: string;
  name: string;
  online: boolean;
  since?: Date;
}

interface Room {
  name: string;
  list: HTMLOListElement;
  offsets: Set<number>;
  members: Map<string, Member>;
  unread: number;
}

/**
 * Rooms (chat groups) joined with the TypeScript client's subscribe: the last messages on join,
 * live messages after, and after a reconnect what was missed, each once and in order. Presence
 * comes from GetPresence on join and PresenceJoined/PresenceLeft after. Private messages and the
 * admin broadcast go through /hubs/secure-chat.
 */
export function chatPage(app: App): Page {
  const me = app.session;
  const rooms = new Map<string, Room>();
  let current: string | null = null;

  const roomInput = h("input", { type: "text", name: "room", required: true, maxlength: 128, autocomplete: "off", value: "general" });
  const joinOutcome = new Outcome();
  const roomList = h("ul", { class: "room-list", id: "room-list" });
  const presenceList = h("ul", { class: "presence-list", id: "presence-list" });
  const roomHeading = h("h2", { id: "room-heading" }, "Join a room to start");
  const messagesHolder = h("div", { class: "messages-holder" });
  const messageInput = h("input", { type: "text", name: "message", autocomplete: "off", required: true, maxlength: 16384, disabled: true });
  const sendButton = h("button", { type: "submit", disabled: true }, "Send");
  const sendOutcome = new Outcome();

  const joinForm = h("form", { id: "join-form", class: "inline-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void join(roomInput.value.trim()); } },
    field("room-name", "Room name", roomInput), h("button", { type: "submit" }, "Join"));
  const sendForm = h("form", { id: "send-form", class: "inline-form composer", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void send(); } },
    field("message-text", "Message", messageInput), sendButton);

  // Private messages.
  const knownUsers = h("datalist", { id: "known-users" });
  const privateTo = h("input", { type: "text", name: "to", required: true, maxlength: 128, autocomplete: "off", list: "known-users" });
  const privateText = h("input", { type: "text", name: "private-message", required: true, maxlength: 16384, autocomplete: "off" });
  const privateOutcome = new Outcome();
  const privateList = h("ol", { class: "messages private-messages", id: "private-messages", "aria-live": "polite" });
  const privateForm = h("form", { id: "private-form", class: "stack-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void sendPrivate(); } },
    field("private-to", "To (user id)", privateTo), knownUsers, field("private-text", "Private message", privateText),
    h("button", { type: "submit" }, "Send privately"));

  // The admin broadcast box, for role Admin only (the server checks the role too).
  const broadcastText = h("textarea", { name: "broadcast", required: true, rows: 2, maxlength: 16384 });
  const broadcastOutcome = new Outcome();
  const broadcastSection = isAdmin(me)
    ? h("section", { class: "card", "aria-labelledby": "broadcast-heading", id: "broadcast-section" },
      h("h2", { id: "broadcast-heading" }, "Admin broadcast"),
      h("form", { id: "broadcast-form", class: "stack-form", onsubmit: (e: SubmitEvent) => { e.preventDefault(); void broadcast(); } },
        field("broadcast-text", "Message to everyone signed in", broadcastText, "Shown as a toast on every open Switchboard page."),
        h("button", { type: "submit" }, "Send broadcast")),
      broadcastOutcome.element)
    : null;

  const element = h("section", { id: "page-chat", class: "page", "aria-labelledby": "chat-heading", hidden: true },
    h("h1", { id: "chat-heading", tabindex: -1 }, "Chat"),
    h("div", { class: "chat-layout" },
      h("div", { class: "chat-side" },
        h("section", { class: "card", "aria-labelledby": "rooms-heading" },
          h("h2", { id: "rooms-heading" }, "Rooms"), joinForm, joinOutcome.element, roomList),
        h("section", { class: "card", "aria-labelledby": "presence-heading" },
          h("h2", { id: "presence-heading" }, "In this room"), presenceList)),
      h("section", { class: "card chat-main", "aria-labelledby": "room-heading" },
        roomHeading, messagesHolder, sendForm, sendOutcome.element)),
    h("div", { class: "chat-extra" },
      h("section", { class: "card", "aria-labelledby": "private-heading" },
        h("h2", { id: "private-heading" }, "Private messages"), privateForm, privateOutcome.element, privateList),
      broadcastSection));

  app.chat.on("message", (envelope) => {
    const room = rooms.get(envelope.group);
    if (!room || room.offsets.has(envelope.offset)) return;
    room.offsets.add(envelope.offset);
    const stick = isAtBottom(room.list);
    room.list.append(messageItem(envelope, envelope.senderId === me.userId));
    if (envelope.group === current) {
      if (stick) room.list.scrollTop = room.list.scrollHeight;
    } else {
      room.unread++;
      renderRooms();
    }
  });
  app.chat.on("presenceJoined", (event) => onPresence(event, true));
  app.chat.on("presenceLeft", (event) => onPresence(event, false));
  app.chat.on("recoveryFailed", (failure) => {
    const room = rooms.get(failure.group);
    if (!room) return;
    // A new epoch numbers from 1 again: the offsets seen so far say nothing about what comes.
    if (failure.currentEpoch !== failure.lastEpoch) room.offsets.clear();
    room.list.append(h("li", { class: "notice" }, "Some earlier messages could not be recovered; the room's history was reset or trimmed."));
  });
  app.chat.on("subscriptionLost", (loss) => {
    const room = rooms.get(loss.group);
    if (!room) return;
    room.list.append(h("li", { class: "notice" }, `This room is no longer followed (${errorText(loss.error)}). Leave it and join it again to follow it.`));
  });
  // After a reconnect, presence events sent while away are lost: ask again.
  app.chat.on("resubscribed", () => {
    for (const room of rooms.values()) refreshPresence(room).catch(() => { /* dropped again: the next resubscribe asks again */ });
  });

  app.privateListeners.add((envelope) => {
    rememberUser(envelope.senderId ?? "");
    privateList.append(privateItem(envelope.senderName ?? envelope.senderId ?? "someone", "from", envelope.payload, envelope.timestamp, envelope.offset));
  });

  async function join(name: string): Promise<void> {
    joinOutcome.clear();
    if (rooms.has(name)) {
      select(name);
      return;
    }
    const room: Room = {
      name,
      list: h("ol", { class: "messages", "data-room": name, "aria-live": "polite", "aria-label": `Messages in ${name}`, tabindex: 0 }),
      offsets: new Set(),
      members: new Map(),
      unread: 0,
    };
    rooms.set(name, room);
    try {
      await app.startedAt;
      await app.chat.subscribe(name, { history: historyOnJoin, presence: true });
      await refreshPresence(room);
    } catch (error) {
      rooms.delete(name);
      joinOutcome.error(errorText(error));
      return;
    }
    saveRooms();
    select(name);
  }

  async function leave(name: string): Promise<void> {
    const room = rooms.get(name);
    if (!room) return;
    try {
      await app.chat.unsubscribe(name);
    } catch (error) {
      joinOutcome.error(errorText(error));
      return;
    }
    rooms.delete(name);
    saveRooms();
    if (current === name) current = null;
    select(current ?? rooms.keys().next().value ?? null);
    roomInput.focus();
  }

  function select(name: string | null): void {
    current = name;
    clear(messagesHolder);
    const room = name ? rooms.get(name) : undefined;
    if (room) {
      room.unread = 0;
      roomHeading.textContent = `# ${room.name}`;
      messagesHolder.append(room.list);
      room.list.scrollTop = room.list.scrollHeight;
    } else {
      roomHeading.textContent = "Join a room to start";
    }
    messageInput.disabled = !room;
    sendButton.disabled = !room;
    renderRooms();
    renderPresence();
  }

  // One id per message until it is acknowledged: sending the same text to the same room again
  // after a failure (the acknowledgement lost with the connection, say) repeats the id, and the
  // server answers with the original instead of storing it twice.
  let unsent: { room: string; text: string; id: string } | null = null;

  async function send(): Promise<void> {
    const text = messageInput.value;
    if (!current) return;
    sendOutcome.clear();
    sendButton.disabled = true;
    try {
      if (unsent?.room !== current || unsent.text !== text) unsent = { room: current, text, id: messageId() };
      await app.chat.publish(current, text, unsent.id);
      unsent = null;
      messageInput.value = "";
    } catch (error) {
      sendOutcome.error(errorText(error));
    } finally {
      sendButton.disabled = !current;
      messageInput.focus();
    }
  }

  async function sendPrivate(): Promise<void> {
    privateOutcome.clear();
    const to = privateTo.value.trim();
    const text = privateText.value;
    try {
      await app.secure.invoke("SendPrivateMessage", to, text);
      privateList.append(privateItem(to, "to", text, new Date(), null));
      privateText.value = "";
      privateOutcome.ok(`Sent to ${to}.`);
    } catch (error) {
      privateOutcome.error(errorText(error));
    }
  }

  async function broadcast(): Promise<void> {
    broadcastOutcome.clear();
    try {
      await app.secure.invoke("SendAdminMessage", broadcastText.value);
      broadcastText.value = "";
      broadcastOutcome.ok("Broadcast sent.");
    } catch (error) {
      broadcastOutcome.error(errorText(error));
    }
  }

  async function refreshPresence(room: Room): Promise<void> {
    const presence = await app.chat.getPresence(room.name);
    const here = new Set(presence.members.map((m) => m.userId));
    for (const member of room.members.values()) {
      if (!here.has(member.userId) && member.online) {
        member.online = false;
        member.since = new Date();
      }
    }
    for (const m of presence.members) {
      room.members.set(m.userId, { userId: m.userId, name: m.name, online: true, since: new Date(m.joinedAt) });
      rememberUser(m.userId);
    }
    if (room.name === current) renderPresence();
  }

  function onPresence(event: PresenceEvent, online: boolean): void {
    const room = rooms.get(event.group);
    if (!room) return;
    room.members.set(event.userId, { userId: event.userId, name: event.name, online, since: new Date() });
    rememberUser(event.userId);
    if (room.name === current) renderPresence();
  }

  function renderRooms(): void {
    clear(roomList);
    for (const room of rooms.values()) {
      const selected = room.name === current;
      roomList.append(h("li", { "data-room": room.name },
        h("button", { type: "button", class: "room-button", "aria-pressed": String(selected), onclick: () => select(room.name) },
          `# ${room.name}`, room.unread > 0 ? h("span", { class: "badge", "aria-label": `${room.unread} unread` }, String(room.unread)) : null),
        h("button", { type: "button", class: "secondary small", "aria-label": `Leave ${room.name}`, onclick: () => void leave(room.name) }, "Leave")));
    }
  }

  function renderPresence(): void {
    clear(presenceList);
    const room = current ? rooms.get(current) : undefined;
    if (!room) {
      presenceList.append(h("li", { class: "empty" }, "Nobody yet."));
      return;
    }
    const members = [...room.members.values()].sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
    for (const m of members) {
      const you = m.userId === me.userId ? " (you)" : "";
      presenceList.append(h("li", { "data-user-id": m.userId, "data-online": String(m.online), class: m.online ? "online" : "offline" },
        h("span", { class: "dot", "aria-hidden": "true" }),
        h("span", { class: "member-name" }, m.name + you),
        h("span", { class: "member-state" }, m.online ? "online" : `offline${m.since ? ` since ${formatTime(m.since)}` : ""}`),
        m.userId !== me.userId
          ? h("button", { type: "button", class: "link small", "aria-label": `Write privately to ${m.name}`,
            onclick: () => { privateTo.value = m.userId; privateText.focus(); } }, "Write")
          : null));
    }
  }

  function rememberUser(userId: string): void {
    if (!userId || userId === me.userId || knownUsers.querySelector(`option[value="${CSS.escape(userId)}"]`)) return;
    knownUsers.append(h("option", { value: userId }));
  }

  function saveRooms(): void {
    sessionStorage.setItem(roomsKey, JSON.stringify([...rooms.keys()]));
  }

  function restoreRooms(): void {
    let saved: unknown = [];
    try { saved = JSON.parse(sessionStorage.getItem(roomsKey) ?? "[]"); } catch { /* ignore a damaged entry */ }
    if (Array.isArray(saved)) {
      void (async () => { for (const name of saved) if (typeof name === "string") await join(name); })();
    }
  }

  select(null);
  restoreRooms();

  return {
    id: "chat",
    title: "Chat",
    element,
  };
}

function messageItem(envelope: GroupEnvelope, mine: boolean): HTMLLIElement {
  return h("li", { class: mine ? "message mine" : "message", "data-offset": envelope.offset, "data-id": envelope.id },
    h("div", { class: "message-meta" },
      h("span", { class: "sender" }, envelope.senderName ?? envelope.senderId ?? "server"),
      h("time", { datetime: new Date(envelope.timestamp).toISOString() }, formatTime(envelope.timestamp))),
    h("p", { class: "message-text" }, envelope.payload));
}

function privateItem(who: string, direction: "from" | "to", text: string, at: string | Date, offset: number | null): HTMLLIElement {
  return h("li", { class: `message private ${direction === "to" ? "mine" : ""}`, "data-direction": direction, "data-offset": offset ?? undefined },
    h("div", { class: "message-meta" },
      h("span", { class: "sender" }, direction === "from" ? `From ${who}` : `To ${who}`),
      h("time", { datetime: new Date(at).toISOString() }, formatTime(at))),
    h("p", { class: "message-text" }, text));
}

function isAtBottom(list: HTMLElement): boolean {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

/** A message id: random, from `crypto.randomUUID` where the page is a secure context, else from `getRandomValues`. */
function messageId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
