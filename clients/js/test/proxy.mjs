// A loopback TCP forwarder whose connections a test can reset (as a dropped network does), whose
// door it can close for a while, and which can drop what clients send (a network that stopped
// carrying it).
import net from "node:net";

export async function startProxy(upstreamUrl) {
  const upstream = new URL(upstreamUrl);
  const pairs = new Set();
  const state = { refusing: false, accepted: 0, dropping: false, onDropped: undefined };
  const server = net.createServer((client) => {
    state.accepted++;
    if (state.refusing) {
      client.resetAndDestroy();
      return;
    }
    const target = net.connect(Number(upstream.port), upstream.hostname);
    const pair = { client, target };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      target.destroy();
    };
    client.on("error", drop).on("close", drop);
    target.on("error", drop).on("close", drop);
    client.on("data", (chunk) => {
      if (!state.dropping) {
        target.write(chunk);
        return;
      }
      const dropped = state.onDropped;
      state.onDropped = undefined;
      dropped?.();
    });
    target.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get accepted() { return state.accepted; },
    set refusing(value) { state.refusing = value; },
    /** While true, what clients send is dropped instead of forwarded. */
    set dropping(value) { state.dropping = value; },
    /** Resolves when data from a client is next dropped. */
    nextDropped() { return new Promise((resolve) => { state.onDropped = resolve; }); },
    /** Resets every open connection in both directions. */
    cutAll() {
      for (const { client, target } of pairs) {
        client.resetAndDestroy();
        target.resetAndDestroy();
      }
      pairs.clear();
    },
    close() {
      this.cutAll();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
