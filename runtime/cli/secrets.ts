/**
 * `virgo secret set|ls|rm <fn> <NAME>`: a function's secrets. A value is read from stdin (or
 * typed at a prompt that does not echo), never taken from the command line, where it would
 * land in the shell's history and in every `ps` listing.
 * @module
 */
import type { Command } from "commander";
import { CliError } from "./client.ts";
import { clientFor, jsonOption, peerOptions, print } from "./_shared.ts";

/** Reads a line from the terminal without echoing it. */
async function promptHidden(label: string): Promise<string> {
  await Deno.stderr.write(new TextEncoder().encode(label));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(1);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null || buf[0] === 13 || buf[0] === 10) break;
      if (buf[0] === 3) throw new CliError("CANCELLED", "Cancelled");
      if (buf[0] === 127 || buf[0] === 8) bytes.pop();
      else bytes.push(buf[0]!);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(new TextEncoder().encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The value to set: piped stdin (one trailing newline dropped), or a hidden prompt. */
async function readValue(name: string): Promise<string> {
  if (Deno.stdin.isTerminal()) return await promptHidden(`Value of ${name}: `);
  const text = new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer());
  return text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
}

const path = (fn: string, name?: string) =>
  `/v1/functions/${encodeURIComponent(fn)}/secrets${
    name === undefined ? "" : `/${encodeURIComponent(name)}`
  }`;

/** Registers these commands on `program`. */
export function secretCommands(program: Command): void {
  const secret = program.command("secret").description(
    "a function's secrets, seen by it as env.<NAME> (values are never shown)",
  );
  peerOptions(secret.command("set"))
    .description("set a secret; the value is read from stdin or a prompt, never from arguments")
    .argument("<fn>")
    .argument("<NAME>")
    .action(async (fn: string, name: string, _o: unknown, cmd: Command) => {
      const value = await readValue(name);
      if (value === "") throw new CliError("BAD_REQUEST", "Empty value: nothing was set");
      print(
        await (await clientFor(cmd)).json(path(fn, name), {
          method: "PUT",
          headers: { "content-type": "text/plain; charset=utf-8" },
          body: value,
        }),
      );
    });
  jsonOption(peerOptions(secret.command("ls")))
    .description("list a function's secret names")
    .argument("<fn>")
    .action(async (fn: string, o: { json?: boolean }, cmd: Command) => {
      const res = await (await clientFor(cmd)).json<{ secrets: string[] }>(path(fn));
      if (o.json) return print(res);
      for (const n of res.secrets) print(n);
    });
  peerOptions(secret.command("rm"))
    .description("remove a secret")
    .argument("<fn>")
    .argument("<NAME>")
    .action(async (fn: string, name: string, _o: unknown, cmd: Command) => {
      print(await (await clientFor(cmd)).json(path(fn, name), { method: "DELETE" }));
    });
}
