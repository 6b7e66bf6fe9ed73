/**
 * `virgo`, the command line (contract section 2). Every option also reads
 * from a `VIRGO_*` environment variable and from the config file (`--config`,
 * `VIRGO_CONFIG`, `./virgo.json` or `/etc/virgo/virgo.json`; see ../config.ts);
 * client commands talk to `--peer` (default http://127.0.0.1:8787). Exit codes:
 * exit_codes.ts.
 *
 * Start-up time matters here: every module this file imports statically is loaded by every
 * command, so the heavy parts (libp2p, LevelDB, esbuild: `../mod.ts`) are imported inside the
 * actions that need them.
 * @module
 */
import { Command, Option } from "commander";
import pkg from "../../package.json" with { type: "json" };
import { backupCommands } from "./backup.ts";
import { dataCommands } from "./data.ts";
import { devCommand } from "./dev.ts";
import { functionCommands } from "./functions.ts";
import { logsCommand } from "./logs.ts";
import { meshCommands } from "./mesh.ts";
import { secretCommands } from "./secrets.ts";
import { startCommand } from "./start.ts";
import { versionCommands } from "./versions.ts";
import { EXIT } from "./exit_codes.ts";

const program = new Command("virgo")
  .description("Virgo: a peer-to-peer edge-function runtime")
  .version(pkg.version, "-v, --version", "print the version")
  .addOption(
    new Option(
      "--config <file>",
      "config file for client and peer (default ./virgo.json, else /etc/virgo/virgo.json)",
    ).env("VIRGO_CONFIG"),
  )
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    "after",
    "\nExit codes: 0 ok, 1 failure, 2 usage or invalid input, 3 not found, 4 not allowed " +
      "(token), 5 conflict, 6 peer unreachable, 7 unavailable (retry later).",
  );
startCommand(program);
devCommand(program);
functionCommands(program);
versionCommands(program);
dataCommands(program);
meshCommands(program);
secretCommands(program);
backupCommands(program);
logsCommand(program);

try {
  await program.parseAsync(Deno.args, { from: "user" });
} catch (err) {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (typeof e.exitCode === "number" && e.code?.startsWith("commander.")) {
    // commander already printed the help, the version or the usage error.
    Deno.exit(e.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
  }
  console.error(`error ${e.code ?? "INTERNAL"}: ${e.message ?? String(err)}`);
  Deno.exit(
    typeof e.exitCode === "number"
      ? e.exitCode
      : e.code === "BAD_REQUEST"
      ? EXIT.USAGE
      : EXIT.FAILURE,
  );
}
