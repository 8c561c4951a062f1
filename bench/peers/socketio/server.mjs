// Socket.IO 4.8.4 on Node: the peer of Switchboard's side-by-side benchmark (bench/). It does
// what the guide's ChatHub does, the Socket.IO way, with the server's default options:
//   join(room, ack)                       the socket joins a room
//   sendToGroup(room, user, message, ack) room broadcast of "message"(user, message)
//   sendToUser(userId, message, ack)      "privateMessage"(senderId, message) to the room user:{userId}
// A socket that connects with auth { userId } joins user:{userId}, like the guide's SecureChatHub.
// HTTP: POST /api/groups/{room}/messages with { "message": "..." } emits "notification" to the room;
// GET /stats answers { connections, heapBytes, rssBytes } (after a full GC with ?gc=1 when node
// runs with --expose-gc). Listens on 127.0.0.1 and PORT (0: any free port) and prints
// "Now listening on: http://127.0.0.1:<port>" like Kestrel, which the benchmark waits for.
// With REDIS_URL set, rooms span every node on that Redis through @socket.io/redis-adapter
// (the benchmark's two-process scenario).
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const maxBody = 65536;

const httpServer = createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const publish = /^\/api\/groups\/([^/]+)\/messages$/.exec(url.pathname);
  if (req.method === "POST" && publish) {
    const room = decodeURIComponent(publish[1]);
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
      if (body.length > maxBody) req.destroy();
    });
    req.on("end", () => {
      let message;
      try {
        message = JSON.parse(body).message;
      } catch {
        message = undefined;
      }
      if (typeof message !== "string") {
        res.writeHead(400, { "content-type": "application/json" }).end('{"code":"body_invalid"}');
        return;
      }
      io.to(room).emit("notification", { message, timestamp: new Date().toISOString() });
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    return;
  }
  if (req.method === "GET" && url.pathname === "/stats") {
    if (url.searchParams.get("gc") === "1" && typeof globalThis.gc === "function") globalThis.gc();
    const memory = process.memoryUsage();
    res.writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ connections: io.engine.clientsCount, heapBytes: memory.heapUsed, rssBytes: memory.rss }));
    return;
  }
  // socket.io answers its own path before this handler runs; anything else is unknown.
  if (!url.pathname.startsWith("/socket.io/")) res.writeHead(404).end();
});

const io = new Server(httpServer);
if (process.env.REDIS_URL) {
  const pubClient = createClient({ url: process.env.REDIS_URL });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
}

io.on("connection", (socket) => {
  const userId = socket.handshake.auth?.userId;
  if (typeof userId === "string" && userId.length > 0) socket.join(`user:${userId}`);

  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack();
  });
  socket.on("sendToGroup", (room, user, message, ack) => {
    io.to(room).emit("message", user, message);
    if (typeof ack === "function") ack();
  });
  socket.on("sendToUser", (targetUserId, message, ack) => {
    io.to(`user:${targetUserId}`).emit("privateMessage", userId ?? null, message);
    if (typeof ack === "function") ack();
  });
});

httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`Now listening on: http://127.0.0.1:${httpServer.address().port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
