// Bundles the web app into dist/: index.html, app.js and app.css, nothing else. The server embeds
// dist/ at build time (src/Switchboard.Server/Switchboard.Server.csproj) and serves it at '/'.
//
// The TypeScript client is imported from its sources (clients/js/src) through tsconfig "paths",
// which esbuild honours; the same "paths" send its '@microsoft/signalr' imports to this folder's
// node_modules, so one copy of SignalR is bundled whether or not clients/js has its own installed.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "dist");

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: join(here, "src/main.ts") }, // app.js, and app.css from the CSS it imports
  outdir: out,
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  tsconfig: join(here, "tsconfig.json"),
});
await copyFile(join(here, "src/index.html"), join(out, "index.html"));
