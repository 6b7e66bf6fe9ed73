#!/usr/bin/env node
// `npx virgo …`: runs the CLI on the Deno binary that `npm install` brought
// (the `deno` npm package), with this package's deno.json, so the machine's
// Node version does not matter.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
let deno;
try {
  deno = join(dirname(require.resolve("deno/package.json")), "deno");
} catch {
  deno = "deno";
}
const child = spawn(
  deno,
  ["run", "-A", "--config", join(root, "deno.json"), join(root, "runtime/cli/main.ts"), ...process.argv.slice(2)],
  { stdio: "inherit" },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
