// Starts the built Switchboard server as a real process on 127.0.0.1 and a free port, and mints
// tokens with the server's own `token` command. Every wait is bounded.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
export const serverDll = process.env.SWITCHBOARD_SERVER_DLL
  ?? resolve(here, "../../src/Switchboard.Server/bin/Release/net10.0/Switchboard.Server.dll");
export const testKey = "switchboard-js-tests-signing-key-0123456789abcdef";

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

export const TIMEOUT = 15000;

/** Resolves with the first value `register` hands to its callback. */
export function nextEvent(register, what, ms = TIMEOUT) {
  return withTimeout(new Promise((resolve) => register((...args) => resolve(args))), ms, what);
}

export async function startServer(settings = {}) {
  const data = mkdtempSync(join(tmpdir(), "switchboard-js-"));
  const env = {
    ...process.env,
    ASPNETCORE_ENVIRONMENT: "Testing",
    Jwt__Key: testKey,
    Switchboard__History__DataFolder: data,
    // Tests flood on purpose (1,000 publishes from one connection).
    Switchboard__Limits__InvocationsPerSecond: "0",
    ...settings,
  };
  const child = spawn("dotnet", [serverDll, "--urls", "http://127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const baseUrl = await withTimeout(new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      const match = /Now listening on: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)));
  }), 30000, "the server to listen").catch((e) => { child.kill("SIGKILL"); throw e; });

  const run = promisify(execFile);
  return {
    baseUrl,
    /** A real token from the server's `token` command. */
    async token(user, { name, roles = [], expires } = {}) {
      const args = [serverDll, "token", "--user", user];
      if (name) args.push("--name", name);
      for (const role of roles) args.push("--role", role);
      if (expires) args.push("--expires", expires);
      const { stdout } = await withTimeout(run("dotnet", args, { env }), 30000, "the token command");
      return stdout.trim();
    },
    async stop() {
      child.kill("SIGKILL");
      await withTimeout(new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r))), 10000, "the server to exit");
      rmSync(data, { recursive: true, force: true });
    },
  };
}
