/**
 * What the CLI's commands share: the `--peer`/`--token`/`--json` options, the config file, the
 * client they make, and printing. Nothing here may import the runtime's heavy parts (libp2p,
 * LevelDB, esbuild): every client command loads this module, and `virgo --help` and
 * `virgo kv get` are meant to start in well under 150 ms.
 * @module
 */
import { type Command, Option } from "commander";
import { clientPeer, type ConfigFile, readConfigFile, splitList } from "../config.ts";
import { createClient } from "./client.ts";

/** Where client commands go without `--peer`, `VIRGO_PEER` or a config file that says. */
export const DEFAULT_PEER = "http://127.0.0.1:8787";

/** Collects a repeatable, comma-separated option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...splitList(value)];
}

/** Adds `--peer` and `--token` to a client command. */
export function peerOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--peer <url>", "peer to talk to").env("VIRGO_PEER"))
    .addOption(
      new Option("--token <token>", "admin token, sent on every request").env("VIRGO_TOKEN"),
    );
}

/** Adds `--json` to a listing command. */
export function jsonOption(cmd: Command): Command {
  return cmd.option("--json", "print JSON (the peer's answer as it is)");
}

/**
 * The config file of a command: `--config <file>` (a global option), `VIRGO_CONFIG`, else the
 * files {@linkcode readConfigFile} looks for.
 */
export async function configFor(cmd: Command): Promise<ConfigFile> {
  const { config } = cmd.optsWithGlobals<{ config?: string }>();
  return await readConfigFile(config || Deno.env.get("VIRGO_CONFIG") || undefined);
}

/** The client for a command: flags, then `VIRGO_*`, then the config file. */
export async function clientFor(cmd: Command) {
  const { values } = await configFor(cmd);
  const o = cmd.optsWithGlobals<{ peer?: string; token?: string }>();
  return createClient({
    peer: o.peer ?? clientPeer(values) ?? DEFAULT_PEER,
    token: o.token ?? (typeof values.token === "string" ? values.token : undefined),
  });
}

/** Prints a value: strings as they are, anything else as JSON. */
export function print(value: unknown): void {
  console.log(typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

/** Streams a response body to stdout. */
export async function writeBody(res: Response): Promise<void> {
  if (!res.body) return;
  for await (const chunk of res.body) await Deno.stdout.write(chunk);
}
