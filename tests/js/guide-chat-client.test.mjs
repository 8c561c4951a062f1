// The guide's JavaScript ChatClient, copied as written. Only the URL (absolute, to this test's
// server) and the token source (Node has no localStorage) are filled in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { startServer, withTimeout, TIMEOUT } from "./server.mjs";

let server;
let hubUrl;
let accessToken;

before(async () => {
  server = await startServer();
  hubUrl = server.baseUrl + "/hubs/chat";
  accessToken = await server.token("john", { name: "John" });
});
after(() => server?.stop());

// ---- the guide's code, unchanged but for the URL and getAccessToken ----
class ChatClient {
    constructor() {
        this.connection = new signalR.HubConnectionBuilder()
            .withUrl(hubUrl, {
                accessTokenFactory: () => this.getAccessToken()
            })
            .withAutomaticReconnect([0, 2000, 5000, 10000, 30000])
            .configureLogging(signalR.LogLevel.Information)
            .build();

        this.setupEventHandlers();
    }

    setupEventHandlers() {
        this.connection.on("ReceiveMessage", (user, message) => {
            console.log(`${user}: ${message}`);
            this.onMessageReceived?.(user, message);
        });

        this.connection.on("UserConnected", (connectionId) => {
            console.log(`User connected: ${connectionId}`);
        });

        this.connection.on("UserDisconnected", (connectionId) => {
            console.log(`User disconnected: ${connectionId}`);
        });

        this.connection.onreconnecting((error) => {
            console.log("Reconnecting...", error);
        });

        this.connection.onreconnected((connectionId) => {
            console.log("Reconnected:", connectionId);
        });

        this.connection.onclose((error) => {
            console.log("Connection closed:", error);
        });
    }

    async start() {
        try {
            await this.connection.start();
            console.log("SignalR Connected");
        } catch (err) {
            console.error("SignalR Connection Error:", err);
            setTimeout(() => this.start(), 5000);
        }
    }

    async sendMessage(user, message) {
        try {
            await this.connection.invoke("SendMessage", user, message);
        } catch (err) {
            console.error("Error sending message:", err);
        }
    }

    async joinGroup(groupName) {
        await this.connection.invoke("JoinGroup", groupName);
    }

    async leaveGroup(groupName) {
        await this.connection.invoke("LeaveGroup", groupName);
    }

    getAccessToken() {
        return accessToken; // the guide reads localStorage.getItem("accessToken")
    }
}
// ---- end of the guide's code ----

test("the guide's ChatClient starts, joins a group, sends and receives its own message", async () => {
  const chat = new ChatClient();
  const received = new Promise((resolve) => {
    chat.onMessageReceived = (user, message) => resolve([user, message]);
  });
  // The guide's start() retries a failed start with setTimeout(..., 5000). A retry it leaves
  // behind is cleared below, so a failed start fails this test at once instead of waiting.
  const retries = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (callback, ms, ...args) => {
    const timer = realSetTimeout(callback, ms, ...args);
    if (ms === 5000) retries.push(timer);
    return timer;
  };
  try {
    // The guide's usage, line for line.
    try {
      await withTimeout(chat.start(), TIMEOUT, "start");
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    assert.equal(chat.connection.state, signalR.HubConnectionState.Connected);
    await withTimeout(chat.joinGroup("general"), TIMEOUT, "joinGroup");
    await withTimeout(chat.sendMessage("John", "Hello everyone!"), TIMEOUT, "sendMessage");

    assert.deepEqual(await withTimeout(received, TIMEOUT, "ReceiveMessage"), ["John", "Hello everyone!"]);
    await withTimeout(chat.leaveGroup("general"), TIMEOUT, "leaveGroup");
  } finally {
    retries.forEach(clearTimeout);
    await chat.connection.stop();
  }
});
