import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { SwitchboardClient } from "../dist/index.js";
import { startServer, withTimeout, TIMEOUT } from "../../../tests/js/server.mjs";
import { startProxy } from "./proxy.mjs";

let server;
let publisherToken;
let readerToken;

before(async () => {
  server = await startServer();
  [publisherToken, readerToken] = await Promise.all([server.token("writer", { name: "Writer" }), server.token("reader", { name: "Reader" })]);
});
after(() => server?.stop());

const group = () => "js-" + Math.random().toString(36).slice(2, 10);

function client(baseUrl, token = readerToken, messagePack = false) {
  return new SwitchboardClient({
    url: baseUrl + "/hubs/chat",
    accessTokenFactory: () => token,
    reconnectDelays: [0, 100],
    messagePack,
    logLevel: signalR.LogLevel.None,
  });
}

/** Collects delivered envelopes; `done` resolves once one with `lastOffset` arrived. */
function collect(c, lastOffset) {
  const received = [];
  let resolve;
  const done = new Promise((r) => { resolve = r; });
  c.on("message", (e) => { received.push(e); if (e.offset >= lastOffset) resolve(); });
  return { received, done: withTimeout(done, 30000, `offset ${lastOffset}`) };
}

async function plainPublisher(baseUrl) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(baseUrl + "/hubs/chat", { accessTokenFactory: () => publisherToken, skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None)
    .build();
  await withTimeout(connection.start(), TIMEOUT, "publisher start");
  return connection;
}

test("publish acknowledges offsets, history is delivered first, and a repeated id arrives once", async () => {
  const g = group();
  const c = client(server.baseUrl);
  await withTimeout(c.start(), TIMEOUT, "start");
  try {
    const acks = [];
    for (let i = 1; i <= 8; i++) acks.push(await c.publish(g, `m${i}`));
    assert.deepEqual(acks.map((a) => a.offset), [1, 2, 3, 4, 5, 6, 7, 8]);
    const { received, done } = collect(c, 10);
    await c.subscribe(g, { history: 3 });
    const first = await c.publish(g, "once", "order-1");
    const repeat = await c.publish(g, "once", "order-1");
    await c.publish(g, "last");
    await done;
    assert.equal(repeat.duplicate, true);
    assert.equal(repeat.offset, first.offset);
    assert.deepEqual(received.map((e) => e.payload), ["m6", "m7", "m8", "once", "last"]);
  } finally {
    await c.stop();
  }
});

for (const messagePack of [false, true]) {
  test(`a client whose TCP connection is cut mid-stream ends with all 1,000 messages once, in order (${messagePack ? "MessagePack" : "JSON"})`, async () => {
    const g = group();
    const proxy = await startProxy(server.baseUrl);
    const c = client(proxy.url, readerToken, messagePack);
    const resubscribed = withTimeout(new Promise((r) => c.on("resubscribed", r)), 30000, "resubscribed");
    const { received, done } = collect(c, 1000);
    const publisher = await plainPublisher(server.baseUrl);
    try {
      await withTimeout(c.start(), TIMEOUT, "start");
      await c.subscribe(g);
      for (let i = 1; i <= 1000; i++) {
        await publisher.send("Publish", g, { message: `m${i}` });
        if (i === 300) proxy.cutAll();
      }
      await resubscribed;
      await done;
      assert.ok(proxy.accepted >= 2, "the client reconnected through the proxy");
      assert.deepEqual(received.map((e) => Number(e.offset)), Array.from({ length: 1000 }, (_, i) => i + 1));
      assert.deepEqual(received.map((e) => e.payload), Array.from({ length: 1000 }, (_, i) => `m${i + 1}`));
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
      await proxy.close();
    }
  });
}

test("two subscribes of one group at once deliver its history once, in order", async () => {
  const g = group();
  const c = client(server.baseUrl);
  await withTimeout(c.start(), TIMEOUT, "start");
  try {
    for (let i = 1; i <= 5; i++) await c.publish(g, `m${i}`);
    const { received, done } = collect(c, 6);
    // The second call replaces the first's state before either answer arrives.
    const answers = await withTimeout(Promise.all([c.subscribe(g, { history: 5 }), c.subscribe(g, { history: 5 })]), TIMEOUT, "subscribes");
    assert.deepEqual(answers.map((a) => a.messages.length), [5, 5]);
    await c.publish(g, "live");
    await done;
    assert.deepEqual(received.map((e) => e.offset), [1, 2, 3, 4, 5, 6]);
  } finally {
    await c.stop();
  }
});

test("messages published while the client is away arrive in order before newer ones", async () => {
  const g = group();
  const proxy = await startProxy(server.baseUrl);
  const c = client(proxy.url);
  const reconnecting = withTimeout(new Promise((r) => c.on("reconnecting", r)), TIMEOUT, "reconnecting");
  const { received, done } = collect(c, 60);
  const publisher = await plainPublisher(server.baseUrl);
  try {
    await withTimeout(c.start(), TIMEOUT, "start");
    await c.subscribe(g);
    for (let i = 1; i <= 10; i++) await publisher.invoke("Publish", g, { message: `m${i}` });
    proxy.refusing = true;
    proxy.cutAll();
    await reconnecting;
    for (let i = 11; i <= 50; i++) await publisher.invoke("Publish", g, { message: `m${i}` });
    proxy.refusing = false;
    for (let i = 51; i <= 60; i++) await publisher.invoke("Publish", g, { message: `m${i}` });
    await done;
    assert.deepEqual(received.map((e) => e.offset), Array.from({ length: 60 }, (_, i) => i + 1));
  } finally {
    await Promise.all([c.stop(), publisher.stop()]);
    await proxy.close();
  }
});

test("a subscribe the server refused is not tried again after a reconnect", async () => {
  const g = group();
  const proxy = await startProxy(server.baseUrl);
  const c = client(proxy.url);
  const resubscribed = withTimeout(new Promise((r) => c.on("resubscribed", r)), TIMEOUT, "resubscribed");
  const lost = [];
  c.on("subscriptionLost", (loss) => lost.push(loss));
  const publisher = await plainPublisher(server.baseUrl);
  try {
    await withTimeout(c.start(), TIMEOUT, "start");
    await assert.rejects(c.subscribe("has space"), /group_name_invalid/);
    await c.subscribe(g);
    proxy.cutAll();
    await resubscribed;
    const next = withTimeout(new Promise((r) => c.on("message", r)), TIMEOUT, "a message after the reconnect");
    await publisher.invoke("Publish", g, { message: "after" });
    assert.equal((await next).payload, "after");
    assert.ok(proxy.accepted >= 2, "the client reconnected through the proxy");
    assert.deepEqual(lost, []); // the refused name was never followed, so it is not lost either
    assert.equal(c.positionOf("has space"), undefined);
  } finally {
    await Promise.all([c.stop(), publisher.stop()]);
    await proxy.close();
  }
});

test("presence events arrive for a group subscribed with presence", async () => {
  const g = group();
  const c = client(server.baseUrl);
  const joined = [];
  c.on("presenceJoined", (e) => joined.push(e));
  await withTimeout(c.start(), TIMEOUT, "start");
  const other = await plainPublisher(server.baseUrl);
  try {
    await c.subscribe(g, { presence: true });
    const writerJoined = withTimeout(new Promise((r) => c.on("presenceJoined", (e) => e.userId === "writer" && r(e))), TIMEOUT, "PresenceJoined");
    await other.invoke("JoinGroup", g);
    assert.deepEqual(await writerJoined, { group: g, userId: "writer", name: "Writer" });
    const presence = await c.getPresence(g);
    assert.deepEqual([presence.users, presence.connections], [2, 2]);
  } finally {
    await Promise.all([c.stop(), other.stop()]);
  }
});

/** Resolves (bounded) when `g`'s `offset` was delivered; the message says what was delivered so far. */
function delivered(c, g, offset, events) {
  const done = withTimeout(new Promise((r) => c.on("message", (e) => e.group === g && e.offset >= offset && r())), TIMEOUT, `${g}:${offset}`)
    .catch((e) => { throw new Error(`${e.message}; delivered so far: ${JSON.stringify(events)}`); });
  done.catch(() => undefined); // awaited later
  return done;
}

/** Records, per group, delivered offsets and recovery failures ("lost after n"), in the order the client raised them. */
function recordGroups(c) {
  const events = {};
  const add = (g, what) => (events[g] ??= []).push(what);
  c.on("message", (e) => add(e.group, Number(e.offset)));
  c.on("recoveryFailed", (f) => add(f.group, `lost after ${f.lastOffset}`));
  return events;
}

test("a client whose connection the server closed is started again and delivers what it missed in order, once, then live", async () => {
  const g = group();
  const other = group();
  const [reader, admin] = await Promise.all([server.token("js-closed-by-server"), server.token("ops", { roles: ["Admin"] })]);
  const c = client(server.baseUrl, reader);
  const events = recordGroups(c);
  const lost = [];
  c.on("subscriptionLost", (loss) => lost.push(loss));
  let reconnecting = false;
  c.on("reconnecting", () => { reconnecting = true; });
  let resubscribedCount = 0;
  c.on("resubscribed", () => { resubscribedCount++; });
  const closed = withTimeout(new Promise((r) => c.on("close", r)), TIMEOUT, "close");
  const publisher = await plainPublisher(server.baseUrl);
  try {
    await withTimeout(c.start(), TIMEOUT, "start");
    const subscribed = await c.subscribe(g);
    await c.subscribe(other, { presence: true });
    const third = delivered(c, g, 3, events);
    await publishRange(publisher, g, 1, 3);
    await third;

    // By user: the client skips negotiation, so it does not know its connection's id.
    const response = await withTimeout(fetch(`${server.baseUrl}/api/users/js-closed-by-server/connections?reason=start-again`,
      { method: "DELETE", headers: { Authorization: `Bearer ${admin}` } }), TIMEOUT, "DELETE");
    assert.equal(response.status, 200);
    assert.match((await closed)?.message ?? "", /disconnected: start-again/);
    assert.equal(c.connection.state, signalR.HubConnectionState.Disconnected);
    assert.equal(reconnecting, false); // closed for good: only a start brings it back

    // Missed while closed: 4..8 of the group, 1..2 of the other.
    await publishRange(publisher, g, 4, 8);
    await publishRange(publisher, other, 1, 2);
    const twelfth = delivered(c, g, 12, events);
    const otherThird = delivered(c, other, 3, events);
    const resubscribed = withTimeout(new Promise((r) => c.on("resubscribed", r)), TIMEOUT, "resubscribed");
    await withTimeout(c.start(), TIMEOUT, "start again");
    // Published at once: these may reach the server before the client's Subscribe (then they
    // come in its answer) or after it (then they are live, and wait behind what it missed).
    await publishRange(publisher, g, 9, 10);
    await resubscribed.catch((e) => { throw new Error(`${e.message}; delivered so far: ${JSON.stringify(events)}`); });
    await publishRange(publisher, g, 11, 12); // live, after the resubscribe
    await publishRange(publisher, other, 3, 3);
    await Promise.all([twelfth, otherThird]);

    assert.deepEqual(events[g], range(1, 12));
    assert.deepEqual(events[other], range(1, 3));
    assert.deepEqual(lost, []);
    assert.equal(resubscribedCount, 1);
    assert.deepEqual(c.positionOf(g), { offset: 12, epoch: subscribed.epoch });
  } finally {
    await Promise.all([c.stop(), publisher.stop()]);
  }
});

test("a client stopped and started again follows its groups from where it was, and a group unsubscribed meanwhile is not followed", async () => {
  const kept = group();
  const dropped = group();
  const c = client(server.baseUrl, await server.token("js-stopped-by-app"));
  const events = recordGroups(c);
  const lost = [];
  c.on("subscriptionLost", (loss) => lost.push(loss));
  const publisher = await plainPublisher(server.baseUrl);
  try {
    await withTimeout(c.start(), TIMEOUT, "start");
    await c.subscribe(kept);
    await c.subscribe(dropped);
    const first = Promise.all([delivered(c, kept, 1, events), delivered(c, dropped, 1, events)]);
    await publishRange(publisher, kept, 1, 1);
    await publishRange(publisher, dropped, 1, 1);
    await first;

    await withTimeout(c.stop(), TIMEOUT, "stop");
    // While stopped: unsubscribing ends the group at once (there is no subscription on the server
    // to end), and the other group's messages are missed.
    await withTimeout(c.unsubscribe(dropped), TIMEOUT, "unsubscribe while stopped");
    assert.equal(c.positionOf(dropped), undefined);
    await publishRange(publisher, kept, 2, 4);
    await publishRange(publisher, dropped, 2, 2);

    // Envelopes as they come off the connection, before the client looks at them: the
    // unsubscribed group must not be subscribed on the new connection.
    const raw = [];
    c.connection.on("ReceiveGroupMessage", (e) => raw.push(`${e.group}:${e.offset}`));
    const fifth = delivered(c, kept, 5, events);
    const resubscribed = withTimeout(new Promise((r) => c.on("resubscribed", r)), TIMEOUT, "resubscribed");
    await withTimeout(c.start(), TIMEOUT, "start again");
    await resubscribed.catch((e) => { throw new Error(`${e.message}; delivered so far: ${JSON.stringify(events)}`); });
    // Published in this order by one connection to one server: had the dropped group been
    // subscribed again, its 3 would reach the client before the kept group's 5.
    await publishRange(publisher, dropped, 3, 3);
    await publishRange(publisher, kept, 5, 5);
    await fifth;

    assert.deepEqual(events[kept], range(1, 5));
    assert.deepEqual(events[dropped], [1]);
    assert.deepEqual(raw.filter((r) => r.startsWith(`${dropped}:`)), []);
    assert.deepEqual(lost, []);
  } finally {
    await Promise.all([c.stop(), publisher.stop()]);
  }
});

test("an unsubscribe whose connection drops during the call resolves, and the group is not followed after the reconnect", async () => {
  const ended = group();
  const kept = group();
  const proxy = await startProxy(server.baseUrl);
  const c = new SwitchboardClient({
    url: proxy.url + "/hubs/chat",
    accessTokenFactory: () => readerToken,
    reconnectDelays: Array(200).fill(50), // attempts fail while the proxy refuses, and must not run out
    logLevel: signalR.LogLevel.None,
  });
  const events = recordGroups(c);
  const publisher = await plainPublisher(server.baseUrl);
  try {
    await withTimeout(c.start(), TIMEOUT, "start");
    await c.subscribe(ended);
    await c.subscribe(kept);

    // The Unsubscribe invocation leaves the client and never reaches the server; then the connection drops.
    proxy.dropping = true;
    const sent = withTimeout(proxy.nextDropped(), TIMEOUT, "the Unsubscribe invocation sent");
    const unsubscribe = c.unsubscribe(ended);
    await sent;
    proxy.refusing = true;
    proxy.cutAll();
    await withTimeout(unsubscribe, TIMEOUT, "unsubscribe"); // it used to reject with the dropped connection's error
    assert.equal(c.positionOf(ended), undefined);
    const resubscribed = withTimeout(new Promise((r) => c.on("resubscribed", r)), TIMEOUT, "resubscribed");
    proxy.dropping = false;
    proxy.refusing = false;
    await resubscribed;

    // Published in this order by one connection: had the ended group been subscribed again, its
    // message would reach the client before the kept group's.
    const first = delivered(c, kept, 1, events);
    await publishRange(publisher, ended, 1, 1);
    await publishRange(publisher, kept, 1, 1);
    await first;
    assert.equal(events[ended], undefined);
  } finally {
    await Promise.all([c.stop(), publisher.stop(), proxy.close()]);
  }
});

/**
 * Makes the server stop delivering `g` to the client's connection while `meanwhile` runs, then
 * deliver again, without the client knowing: its next live envelope is beyond the next offset, as
 * when a message is lost on the way (a Redis pub/sub blip, or another process publishing in between).
 */
async function missLiveMessages(c, g, meanwhile) {
  await withTimeout(c.connection.invoke("Unsubscribe", g), TIMEOUT, "Unsubscribe");
  await meanwhile();
  await withTimeout(c.connection.invoke("Subscribe", g, {}), TIMEOUT, "Subscribe");
}

async function publishRange(publisher, g, from, to) {
  for (let i = from; i <= to; i++) await withTimeout(publisher.invoke("Publish", g, { message: `m${i}` }), TIMEOUT, `publish m${i}`);
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Records delivered offsets and recovery failures ("lost after n") in the order the client raised
 * them; `done()` waits (bounded) until `lastOffset` was delivered.
 */
function record(c, lastOffset) {
  const events = [];
  let resolve;
  const delivered = new Promise((r) => { resolve = r; });
  c.on("message", (e) => { events.push(Number(e.offset)); if (e.offset >= lastOffset) resolve(); });
  c.on("recoveryFailed", (f) => events.push(`lost after ${f.lastOffset}`));
  return { events, done: () => withTimeout(delivered, TIMEOUT, `offset ${lastOffset}; delivered so far: ${JSON.stringify(events)}`) };
}

describe("a server that serves 5 messages per history page (the client asks for 500)", () => {
  let few;
  before(async () => {
    few = await startServer({ Switchboard__Recovery__MaxMessages: "5", Switchboard__Recovery__MaxHistory: "5" });
  });
  after(() => few?.stop());

  test("a backlog larger than the server's page is recovered after a reconnect", async () => {
    const g = group();
    const [reader, writer] = await Promise.all([few.token("away"), few.token("writer")]);
    const proxy = await startProxy(few.baseUrl);
    const c = client(proxy.url, reader);
    const lost = [];
    c.on("subscriptionLost", (loss) => lost.push(loss.error.message));
    const reconnecting = withTimeout(new Promise((r) => c.on("reconnecting", r)), TIMEOUT, "reconnecting");
    const resubscribed = withTimeout(new Promise((r) => c.on("resubscribed", r)), TIMEOUT, "resubscribed");
    const { events, done } = record(c, 51);
    const publisher = new signalR.HubConnectionBuilder().withUrl(few.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer }).configureLogging(signalR.LogLevel.None).build();
    try {
      await withTimeout(Promise.all([c.start(), publisher.start()]), TIMEOUT, "start");
      await c.subscribe(g);
      proxy.refusing = true;
      proxy.cutAll();
      await reconnecting;
      await publishRange(publisher, g, 1, 50); // ten of the server's pages
      proxy.refusing = false;
      await resubscribed;
      assert.deepEqual(lost, []);
      await publishRange(publisher, g, 51, 51);
      await done();
      assert.deepEqual(events, range(1, 51));
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
      await proxy.close();
    }
  });

  test("a live gap larger than the server's page is filled in order", async () => {
    const g = group();
    const [reader, writer] = await Promise.all([few.token("live"), few.token("writer")]);
    const c = client(few.baseUrl, reader);
    const { events, done } = record(c, 51);
    const first = withTimeout(new Promise((r) => c.on("message", r)), TIMEOUT, "m1");
    const publisher = new signalR.HubConnectionBuilder().withUrl(few.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer }).configureLogging(signalR.LogLevel.None).build();
    try {
      await withTimeout(Promise.all([c.start(), publisher.start()]), TIMEOUT, "start");
      await c.subscribe(g);
      await publishRange(publisher, g, 1, 1);
      await first;
      await missLiveMessages(c, g, () => publishRange(publisher, g, 2, 50));
      await publishRange(publisher, g, 51, 51);
      await done();
      assert.deepEqual(events, range(1, 51));
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
    }
  });
});

describe("a server that keeps 10 messages per group", () => {
  let short;
  before(async () => {
    short = await startServer({ Switchboard__History__MaxMessagesPerGroup: "10", Switchboard__History__TrimInterval: "00:00:00.200" });
  });
  after(() => short?.stop());

  test("a gap trimmed from history is reported and the client continues from now", async () => {
    const g = group();
    const [reader, writer, admin] = await Promise.all([short.token("late"), short.token("writer"), short.token("ops", { roles: ["Admin"] })]);
    const proxy = await startProxy(short.baseUrl);
    const c = client(proxy.url, reader);
    const failed = withTimeout(new Promise((r) => c.on("recoveryFailed", r)), 30000, "recoveryFailed");
    const reconnecting = withTimeout(new Promise((r) => c.on("reconnecting", r)), TIMEOUT, "reconnecting");
    const publisher = new signalR.HubConnectionBuilder().withUrl(short.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer }).configureLogging(signalR.LogLevel.None).build();
    try {
      await withTimeout(Promise.all([c.start(), publisher.start()]), TIMEOUT, "start");
      const first = await c.subscribe(g);
      proxy.refusing = true;
      proxy.cutAll();
      await reconnecting;
      for (let i = 1; i <= 30; i++) await publisher.invoke("Publish", g, { message: `m${i}` });
      // Wait until background retention has trimmed the group to 21..30.
      const deadline = Date.now() + TIMEOUT;
      for (;;) {
        const page = await (await fetch(`${short.baseUrl}/api/groups/${g}/messages?after=0&limit=50`, { headers: { authorization: `Bearer ${admin}` } })).json();
        if (page.firstRetained === 21) break;
        if (Date.now() > deadline) throw new Error("retention did not run");
        await new Promise((r) => setTimeout(r, 50));
      }
      const next = withTimeout(new Promise((r) => c.on("message", r)), TIMEOUT, "a message after recovery");
      proxy.refusing = false;
      const failure = await failed;
      await publisher.invoke("Publish", g, { message: "m31" });
      assert.deepEqual(failure, { group: g, lastOffset: 0, lastEpoch: first.epoch, currentEpoch: first.epoch });
      assert.equal((await next).offset, 31);
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
      await proxy.close();
    }
  });
  test("a live gap whose start was trimmed is reported, then what is retained is delivered in order", async () => {
    const g = group();
    const [reader, writer, admin] = await Promise.all([short.token("reader"), short.token("writer"), short.token("ops", { roles: ["Admin"] })]);
    // Pages of 4, so the retained rest takes several pages after the loss.
    const c = new SwitchboardClient({ url: short.baseUrl + "/hubs/chat", accessTokenFactory: () => reader, pageSize: 4, logLevel: signalR.LogLevel.None });
    const { events, done } = record(c, 32);
    const failed = withTimeout(new Promise((r) => c.on("recoveryFailed", r)), TIMEOUT, "recoveryFailed");
    const first = withTimeout(new Promise((r) => c.on("message", r)), TIMEOUT, "m1");
    const publisher = new signalR.HubConnectionBuilder().withUrl(short.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer }).configureLogging(signalR.LogLevel.None).build();
    try {
      await withTimeout(Promise.all([c.start(), publisher.start()]), TIMEOUT, "start");
      const subscribed = await c.subscribe(g);
      await publishRange(publisher, g, 1, 1);
      await first;
      await missLiveMessages(c, g, async () => {
        await publishRange(publisher, g, 2, 31);
        // Wait until background retention has trimmed the group to 22..31: 2..21 are gone.
        const deadline = Date.now() + TIMEOUT;
        for (;;) {
          const page = await (await fetch(`${short.baseUrl}/api/groups/${g}/messages?after=0&limit=50`, { headers: { authorization: `Bearer ${admin}` } })).json();
          if (page.firstRetained === 22) break;
          if (Date.now() > deadline) throw new Error("retention did not run");
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      await publishRange(publisher, g, 32, 32);
      await done();
      // Retention runs every 200 ms here and 32 makes the group 11 long, so it may have trimmed 22
      // too before the client read its first page: what was retained then starts at 22 or 23.
      const start = events[2];
      assert.ok(start === 22 || start === 23, `the first message after the loss is ${start}: ${JSON.stringify(events)}`);
      assert.deepEqual(events, [1, "lost after 1", ...range(start, 32)]);
      assert.deepEqual(await failed, { group: g, lastOffset: 1, lastEpoch: subscribed.epoch, currentEpoch: subscribed.epoch });
      assert.deepEqual(c.positionOf(g), { offset: 32, epoch: subscribed.epoch });
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
    }
  });
});

describe("a server allowing 3 groups per connection", () => {
  let small;
  before(async () => {
    small = await startServer({ Switchboard__Limits__MaxGroupsPerConnection: "3" });
  });
  after(() => small?.stop());

  test("a group refused after a reconnect is reported with its last position, and the others go on", async () => {
    // The user follows two groups; meanwhile an operator adds them to two user-level groups, which
    // the server applies to every connection of theirs (counted, never refused). After a reconnect
    // those two are in before the client asks again: the first group it follows gets the last
    // place and the second is refused with too_many_groups.
    const user = "q-" + Math.random().toString(36).slice(2, 10);
    const [reader, writer, ops] = await Promise.all([small.token(user), small.token("writer"), small.token("ops", { roles: ["Publisher"] })]);
    const [kept, refused] = [`k-${user}`, `r-${user}`];
    const proxy = await startProxy(small.baseUrl);
    const c = client(proxy.url, reader);
    const lost = withTimeout(new Promise((r) => c.on("subscriptionLost", r)), TIMEOUT, "subscriptionLost");
    const resubscribed = withTimeout(new Promise((r) => c.on("resubscribed", r)), TIMEOUT, "resubscribed");
    let first;
    const delivered = withTimeout(new Promise((r) => { first = r; }), TIMEOUT, "m1");
    let keptAfter;
    const keptDelivered = withTimeout(new Promise((r) => { keptAfter = r; }), TIMEOUT, "a message to the kept group");
    c.on("message", (e) => {
      if (e.payload === "m1") first(e);
      if (e.group === kept) keptAfter(e);
    });
    const publisher = new signalR.HubConnectionBuilder().withUrl(small.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer }).configureLogging(signalR.LogLevel.None).build();
    try {
      await withTimeout(Promise.all([c.start(), publisher.start()]), TIMEOUT, "start");
      await c.subscribe(kept);
      const refusedAt = await c.subscribe(refused);
      await publisher.invoke("Publish", refused, { message: "m1" });
      await delivered;
      for (let i = 0; i < 2; i++) {
        const added = await fetch(`${small.baseUrl}/api/groups/u${i}-${user}/users/${user}`, { method: "POST", headers: { authorization: `Bearer ${ops}` } });
        assert.equal(added.status, 200);
      }
      proxy.cutAll();
      const loss = await lost;
      await resubscribed;
      assert.deepEqual([loss.group, loss.lastOffset, loss.lastEpoch], [refused, 1, refusedAt.epoch]);
      assert.match(loss.error.message, /too_many_groups/);
      assert.equal(c.positionOf(refused), undefined);
      await publisher.invoke("Publish", kept, { message: "still here" });
      assert.equal((await keptDelivered).payload, "still here");
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
      await proxy.close();
    }
  });
});

describe("a server allowing each connection bursts of 10 invocations refilled at 1 per second", () => {
  // The client's GetHistory can be refused with rate_limited while its connection stays up and
  // the server goes on delivering to it (deliveries are not invocations).
  let slow;
  before(async () => {
    slow = await startServer({
      Switchboard__Limits__InvocationsPerSecond: "1",
      Switchboard__Limits__InvocationBurst: "10",
      Switchboard__Limits__ViolationsBeforeClose: "1000",
      Switchboard__History__Durability: "ProcessCrash", // publishes without an fsync each, so the timing below has room
    });
  });
  after(() => slow?.stop());

  const isRateLimited = (error) => /HubException: rate_limited: /.test(error?.message ?? "");

  /**
   * Spends the connection's invocations until the server refuses one with rate_limited, then takes
   * the next one the bucket refills as soon as it comes (asking every 20 ms): the bucket is then
   * empty, and its next token about a second away, far longer than a publish and its delivery take.
   */
  async function emptyBucket(connection, g) {
    const deadline = Date.now() + TIMEOUT;
    let refused = false;
    for (;;) {
      assert.ok(Date.now() < deadline, "the server never refused or never allowed again");
      try {
        await withTimeout(connection.invoke("GetHistory", g, 0, 1), TIMEOUT, "GetHistory");
        if (refused) return;
      } catch (error) {
        if (!isRateLimited(error)) throw error;
        refused = true;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** How many invocations the server has refused with rate_limited, from /metrics. */
  async function rateLimitedRefusals() {
    const text = await (await fetch(`${slow.baseUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("switchboard_refusals_total{") && l.includes('code="rate_limited"'));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  }

  /**
   * A started client subscribed to `g` that has 1 and missed 2..3 without knowing (published while
   * the server was not delivering the group to it), and a publisher.
   */
  async function gapRevealed(g, lastOffset) {
    const [reader, writer] = await Promise.all([slow.token("limited"), slow.token("writer")]);
    const c = client(slow.baseUrl, reader);
    const rec = record(c, lastOffset);
    const lost = [];
    c.on("subscriptionLost", (loss) => lost.push(loss));
    const first = withTimeout(new Promise((r) => c.on("message", r)), TIMEOUT, "m1");
    const publisher = new signalR.HubConnectionBuilder().withUrl(slow.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer }).configureLogging(signalR.LogLevel.None).build();
    await withTimeout(Promise.all([c.start(), publisher.start()]), TIMEOUT, "start");
    await c.subscribe(g);
    await publishRange(publisher, g, 1, 1);
    await first;
    await missLiveMessages(c, g, () => publishRange(publisher, g, 2, 3));
    return { c, publisher, lost, ...rec };
  }

  /**
   * Empties the client connection's invocation bucket, publishes 4 (delivered live, beyond the next
   * offset 2), and waits until the server has refused the client's GetHistory for the gap.
   */
  async function revealGapWhileRefused(c, publisher, g) {
    await emptyBucket(c.connection, g);
    const before = await rateLimitedRefusals();
    await publishRange(publisher, g, 4, 4);
    const deadline = Date.now() + TIMEOUT;
    while (await rateLimitedRefusals() <= before) {
      assert.ok(Date.now() < deadline, "the server never refused the client's GetHistory for the gap");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test("a gap whose fetch was rate limited is fetched again and delivered in order, though the group goes quiet", async () => {
    const g = group();
    const { c, publisher, lost, events, done } = await gapRevealed(g, 4);
    try {
      // 4 reveals the gap 2..3 and the client's GetHistory is refused. Nothing more is published:
      // only the client fetching again can deliver 2, 3 and 4, once the server allows it (in about a second).
      await revealGapWhileRefused(c, publisher, g);
      await done();
      assert.deepEqual(events, range(1, 4));
      assert.deepEqual(lost, []);
      assert.equal(c.positionOf(g).offset, 4);
      // Nothing twice afterwards: the next message follows on.
      const fifth = withTimeout(new Promise((r) => c.on("message", (e) => e.offset === 5 && r())), TIMEOUT, "m5");
      await publishRange(publisher, g, 5, 5);
      await fifth;
      assert.deepEqual(events, range(1, 5));
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
    }
  });

  test("messages arriving while a gap is fetched again wait behind it, and none is delivered twice", async () => {
    const g = group();
    const { c, publisher, lost, events, done } = await gapRevealed(g, 6);
    try {
      await revealGapWhileRefused(c, publisher, g);
      // 5 and 6 arrive live while 2..3 is still to be fetched (the server allows the client's next
      // invocation about a second after it emptied the bucket); then the group is quiet.
      await publishRange(publisher, g, 5, 6);
      await done();
      assert.deepEqual(events, range(1, 6));
      assert.deepEqual(lost, []);
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
    }
  });

  test("a gap whose fetch is refused for good loses the group with its last position", async () => {
    // A client configured with pages of 0 asks GetHistory for limit 0, which the server refuses
    // with position_invalid however often it is asked: the client reports the group lost instead
    // of trying again forever, or dropping the envelope without a word.
    const g = group();
    const [reader, writer] = await Promise.all([slow.token("zero"), slow.token("writer")]);
    const c = new SwitchboardClient({ url: slow.baseUrl + "/hubs/chat", accessTokenFactory: () => reader, pageSize: 0, logLevel: signalR.LogLevel.None });
    const { events } = record(c, 3);
    const lost = withTimeout(new Promise((r) => c.on("subscriptionLost", r)), TIMEOUT, "subscriptionLost");
    const first = withTimeout(new Promise((r) => c.on("message", r)), TIMEOUT, "m1");
    const publisher = new signalR.HubConnectionBuilder().withUrl(slow.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer }).configureLogging(signalR.LogLevel.None).build();
    try {
      await withTimeout(Promise.all([c.start(), publisher.start()]), TIMEOUT, "start");
      const subscribed = await c.subscribe(g);
      await publishRange(publisher, g, 1, 1);
      await first;
      await missLiveMessages(c, g, () => publishRange(publisher, g, 2, 2));
      await publishRange(publisher, g, 3, 3);
      const loss = await lost.catch((e) => { throw new Error(`${e.message}; delivered so far: ${JSON.stringify(events)}`); });
      assert.deepEqual([loss.group, loss.lastOffset, loss.lastEpoch], [g, 1, subscribed.epoch]);
      assert.match(loss.error.message, /HubException: position_invalid: after must not be negative and limit must be at least 1\./);
      assert.equal(c.positionOf(g), undefined);
      assert.deepEqual(events, [1]);
    } finally {
      await Promise.all([c.stop(), publisher.stop()]);
    }
  });

  test("a group with more than maxWaiting messages behind a gap that cannot be fetched is given up, and the others go on", async () => {
    // maxWaiting 5: 4 reveals the gap 2..3 and its fetch is refused (rate_limited); 5..11 arrive
    // live meanwhile, so more than 5 wait (the refused fetch is not tried again within the test:
    // one retry delay of 10 minutes). The client gives the group up at the sixth.
    const g = group();
    const other = group();
    const [reader, writer, writer2] = await Promise.all([slow.token("capped"), slow.token("writer"), slow.token("writer2")]);
    const c = new SwitchboardClient({ url: slow.baseUrl + "/hubs/chat", accessTokenFactory: () => reader, reconnectDelays: [0, 100], maxWaiting: 5, gapFillRetryDelays: [600000], logLevel: signalR.LogLevel.None });
    const events = [];
    const otherEvents = [];
    c.on("message", (e) => (e.group === g ? events : otherEvents).push(Number(e.offset)));
    const losses = [];
    const lost = withTimeout(new Promise((resolve, reject) => {
      c.on("subscriptionLost", (loss) => { losses.push(loss); resolve(loss); });
      // Without the bound nothing is given up (the retry is 10 minutes away): the wait for
      // subscriptionLost times out. Nothing after 1 may be delivered either way.
      c.on("message", (e) => { if (e.group === g && e.offset > 1) reject(new Error(`delivered ${g}:${e.offset} instead of giving the group up`)); });
    }), TIMEOUT, "subscriptionLost");
    lost.catch(() => undefined);
    const first = withTimeout(new Promise((r) => c.on("message", (e) => e.group === g && r())), TIMEOUT, "m1");
    const otherFirst = withTimeout(new Promise((r) => c.on("message", (e) => e.group === other && r())), TIMEOUT, "other m1");
    otherFirst.catch(() => undefined);
    const connect = (token) => new signalR.HubConnectionBuilder().withUrl(slow.baseUrl + "/hubs/chat", { accessTokenFactory: () => token }).configureLogging(signalR.LogLevel.None).build();
    const publisher = connect(writer);
    const publisher2 = connect(writer2); // a bucket of its own for the burst below
    try {
      await withTimeout(Promise.all([c.start(), publisher.start(), publisher2.start()]), TIMEOUT, "start");
      const subscribed = await c.subscribe(g);
      await c.subscribe(other);
      await publishRange(publisher, g, 1, 1);
      await first;
      await missLiveMessages(c, g, () => publishRange(publisher, g, 2, 3));

      await revealGapWhileRefused(c, publisher, g);
      await publishRange(publisher2, g, 5, 11);

      const loss = await lost.catch((e) => { throw new Error(`${e.message}; delivered so far: ${JSON.stringify(events)}`); });
      assert.deepEqual([loss.group, loss.lastOffset, loss.lastEpoch], [g, 1, subscribed.epoch]);
      assert.match(loss.error.message, /^More than 5 messages of group '[^']+' waited behind a gap that could not be fetched .*the group was given up\. Subscribe again to follow it\.$/);
      assert.equal(c.positionOf(g), undefined);

      // Not followed any more: nothing more of it is delivered; the other group goes on.
      await publishRange(publisher2, g, 12, 12);
      await publishRange(publisher2, other, 1, 1);
      await otherFirst;
      assert.deepEqual(otherEvents, [1]);
      assert.deepEqual(events, [1]);
      assert.equal(losses.length, 1);
    } finally {
      await Promise.all([c.stop(), publisher.stop(), publisher2.stop()]);
    }
  });

  test("maxWaiting must be at least 1", () => {
    assert.throws(() => new SwitchboardClient({ url: "http://127.0.0.1:1/hubs/chat", maxWaiting: 0 }), /maxWaiting must be at least 1/);
  });
});

describe("a server allowing each connection bursts of 4 invocations refilled at 10 per second, serving 2 messages per page", () => {
  // A client following 6 groups that each missed 3 needs 12 invocations to resubscribe (a
  // Subscribe and a GetHistory each), three times the burst; the server closes a connection only
  // after its default 20 refusals in a row.
  let burst;
  before(async () => {
    burst = await startServer({
      Switchboard__Limits__InvocationsPerSecond: "10",
      Switchboard__Limits__InvocationBurst: "4",
      Switchboard__Recovery__MaxMessages: "2",
      Switchboard__Recovery__MaxHistory: "2",
      Switchboard__History__Durability: "ProcessCrash",
    });
  });
  after(() => burst?.stop());

  /** Runs `call`, again every 20 ms while it is refused with rate_limited (bounded). */
  async function whenAllowed(call, what) {
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      try {
        return await withTimeout(call(), TIMEOUT, what);
      } catch (error) {
        if (!/HubException: rate_limited: /.test(error?.message ?? "") || Date.now() >= deadline) throw error;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  async function rateLimitedRefusals() {
    const text = await (await fetch(`${burst.baseUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("switchboard_refusals_total{") && l.includes('code="rate_limited"'));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  }

  /**
   * A client following `groupCount` groups through a proxy is cut off; each group gets 1..missed
   * meanwhile, and one more as soon as the client is back. Every group must end with all of them,
   * once, in order, and none lost.
   */
  async function resubscribeAfterCut(groupCount, missed) {
    const last = missed + 1;
    const groups = Array.from({ length: groupCount }, (_, i) => `rr${i}-` + Math.random().toString(36).slice(2, 10));
    const [reader, writer] = await Promise.all([burst.token("many"), burst.token("writer")]);
    const proxy = await startProxy(burst.baseUrl);
    const c = client(proxy.url, reader);
    const received = new Map(groups.map((g) => [g, []]));
    let allDone;
    const delivered = new Promise((r) => { allDone = r; });
    c.on("message", (e) => {
      received.get(e.group).push(Number(e.offset));
      if ([...received.values()].every((r) => r.length > 0 && r[r.length - 1] >= last)) allDone();
    });
    const lost = [];
    c.on("subscriptionLost", (loss) => lost.push(`${loss.group}: ${loss.error.message}`));
    let reconnectings = 0;
    const reconnecting = withTimeout(new Promise((r) => c.on("reconnecting", () => { reconnectings++; r(); })), TIMEOUT, "reconnecting");
    let resubscribedCount = 0;
    const resubscribed = new Promise((r) => c.on("resubscribed", () => {
      resubscribedCount++;
      r(new Map([...received].map(([g, offsets]) => [g, [...offsets]])));
    }));
    const publishers = groups.map(() => new signalR.HubConnectionBuilder()
      .withUrl(burst.baseUrl + "/hubs/chat", { accessTokenFactory: () => writer, skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets })
      .configureLogging(signalR.LogLevel.None).build());
    const publish = async (i, from, to) => {
      for (let n = from; n <= to; n++) {
        const ack = await whenAllowed(() => publishers[i].invoke("Publish", groups[i], { message: `m${n}` }), `publish m${n}`);
        assert.equal(ack.offset, n);
      }
    };
    try {
      await withTimeout(Promise.all([c.start(), ...publishers.map((p) => p.start())]), TIMEOUT, "start");
      for (const g of groups) await whenAllowed(() => c.subscribe(g), `subscribe ${g}`);
      // As soon as the client is back, one more per group (live, while the resubscribe is still
      // going on or after it).
      let live;
      c.connection.onreconnected(() => { live = Promise.all(groups.map((_, i) => publish(i, last, last))); });
      const refusalsBefore = await rateLimitedRefusals();
      proxy.refusing = true;
      proxy.cutAll();
      await reconnecting;
      await Promise.all(groups.map((_, i) => publish(i, 1, missed)));
      proxy.refusing = false;

      const atResubscribed = await withTimeout(resubscribed, TIMEOUT, `resubscribed; lost: ${JSON.stringify(lost)}`);
      assert.deepEqual(lost, [], "groups were lost");
      // Resubscribed comes once everything missed (which took pages after each answer) was delivered.
      for (const g of groups) assert.deepEqual(atResubscribed.get(g).slice(0, missed), range(1, missed), g);
      assert.ok(await rateLimitedRefusals() > refusalsBefore, "the server refused none of the resubscribe's calls: the test proves nothing");

      await withTimeout(delivered, TIMEOUT, `all groups up to ${last}; delivered so far: ${JSON.stringify([...received])}`);
      await withTimeout(live, TIMEOUT, "live publishes");
      for (const g of groups) assert.deepEqual(received.get(g), range(1, last), g);
      assert.deepEqual(lost, []);
      assert.equal(resubscribedCount, 1);
      assert.equal(reconnectings, 1, "the retries got the connection closed");
      for (const g of groups) assert.equal(c.positionOf(g)?.offset, last);
    } finally {
      await Promise.all([c.stop(), ...publishers.map((p) => p.stop())]);
      await proxy.close();
    }
  }

  test("groups whose resubscribe was rate limited are recovered in order, exactly once, none lost", () =>
    // 6 groups that each missed 3: the Subscribe calls after the first few are refused.
    resubscribeAfterCut(6, 3));

  test("a group whose pages after the answer were rate limited is paged on from where it stopped", () =>
    // One group that missed 12: the answer carries 2 and says there is more; the 5 pages after it
    // exceed the burst, and the group's live message waits behind them.
    resubscribeAfterCut(1, 12));
});
