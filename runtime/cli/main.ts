/**
 * `virgo`, the command line (contract section 2). Every option also reads
 * from a `VIRGO_*` environment variable and from `virgo.json` in the working
 * folder; client commands talk to `--peer` (default http://127.0.0.1:8787).
 * @module
 */
import { Command } from "commander";
import { backupCommands } from "./backup.ts";
import { dataCommands } from "./data.ts";
import { devCommand } from "./dev.ts";
import { functionCommands } from "./functions.ts";
import { meshCommands } from "./mesh.ts";
import { secretCommands } from "./secrets.ts";
import { startCommand } from "./start.ts";
import { versionCommands } from "./versions.ts";

const program = new Command("virgo")
  .description("Virgo: a peer-to-peer edge-function runtime")
  .showHelpAfterError()
  .exitOverride();
startCommand(program);
devCommand(program);
functionCommands(program);
versionCommands(program);
dataCommands(program);
meshCommands(program);
secretCommands(program);
backupCommands(program);

try {
  await program.parseAsync(Deno.args, { from: "user" });
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (typeof e.exitCode === "number" && e.code?.startsWith("commander.")) {
    // commander already printed help or the usage error.
    Deno.exit(e.exitCode);
  }
  console.error(`error ${e.code ?? "INTERNAL"}: ${e.message ?? String(err)}`);
  Deno.exit(1);
}
