/**
 * What the CLI's commands share: the `--peer`/`--token` options, the client
 * they make, and printing.
 * @module
 */
import { type Command, Option } from "commander";
import { readConfigFile, splitList } from "../config.ts";
import { createClient } from "./client.ts";

/** Where client commands go without `--peer`. */
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

/** The client for a command: flags, then `VIRGO_*`, then `virgo.json`. */
export async function clientFor(cmd: Command) {
  const file = await readConfigFile();
  const o = cmd.optsWithGlobals<{ peer?: string; token?: string }>();
  return createClient({
    peer: o.peer ?? (typeof file.peer === "string" ? file.peer : DEFAULT_PEER),
    token: o.token ?? (typeof file.token === "string" ? file.token : undefined),
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
