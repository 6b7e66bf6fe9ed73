/**
 * `virgo dev <file>`: run one function on a local peer and reload it on save
 * (`../dev/mod.ts`, loaded only when this command runs).
 * @module
 */
import type { Command } from "commander";

const collect = (v: string, p: string[] = []) => [...p, v];

/** `K=V` pairs of a repeatable option. */
function pairs(flag: string, list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) {
      throw Object.assign(new Error(`--${flag} expects K=V: ${kv}`), { code: "BAD_REQUEST" });
    }
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** Registers `virgo dev` on `program`. */
export function devCommand(program: Command): void {
  program.command("dev")
    .description(
      "run one function on a local peer with its own pool (env.KV, vars, secrets) and reload it " +
        "on save",
    )
    .argument("<file>", "entry module, e.g. functions/counter.ts")
    .option("--port <n>", "HTTP port on 127.0.0.1 (0: any free port)", "8787")
    .option("--persist <dir>", "keep the pool in this data folder (default: throwaway)")
    .option("--name <name>", "function name (default: the file name)")
    .option("--var <K=V>", "a variable for env (repeatable)", collect)
    .option(
      "--secret <K=V>",
      "a secret for env (repeatable); .dev.vars or .env beside the file is read too",
      collect,
    )
    .option("--verbose", "also the peer's own log lines")
    .action(async (file: string, o: Record<string, unknown>) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw Object.assign(new Error(`--port expects a port number: ${o.port}`), {
          code: "BAD_REQUEST",
        });
      }
      // Bundling (a `deno bundle` process) runs while the peer's modules load.
      const { bundle } = await import("../catalog/bundle.ts");
      const firstBundle = bundle(file, { sourcemap: true });
      firstBundle.catch(() => {}); // shown by startDev
      const { startDev } = await import("../dev/mod.ts");
      const dev = await startDev({
        firstBundle,
        entry: file,
        name: o.name as string | undefined,
        port,
        persist: o.persist as string | undefined,
        vars: pairs("var", o.var as string[] | undefined),
        secrets: pairs("secret", o.secret as string[] | undefined),
        verbose: Boolean(o.verbose),
      });
      console.log(`virgo dev: ${dev.name} (${file})`);
      console.log(`  url      ${dev.functionUrl}`);
      console.log(`  api      ${dev.url}/v1 (no token: loopback only)`);
      console.log(
        `  pool     ${
          o.persist
            ? `kept in ${dev.data}`
            : "throwaway (removed on exit; --persist <dir> keeps it)"
        }`,
      );
      console.log(`  watching ${dev.watched().length} files`);
      console.log(`Ready in ${Math.round(performance.now())} ms at ${dev.functionUrl}`);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await dev.stop();
        Deno.exit(0);
      };
      Deno.addSignalListener("SIGINT", () => void stop());
      Deno.addSignalListener("SIGTERM", () => void stop());
    });
}
