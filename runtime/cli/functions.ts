/**
 * `virgo deploy`, `virgo invoke` and `virgo functions`: functions from the shell.
 * @module
 */
import type { Command } from "commander";
import { splitList } from "../config.ts";
import { CliError } from "./client.ts";
import { exitCodeForStatus } from "./exit_codes.ts";
import { clientFor, jsonOption, peerOptions, print, writeBody } from "./_shared.ts";

/** Registers these commands on `program`. */
export function functionCommands(program: Command): void {
  peerOptions(program.command("deploy"))
    .description("bundle an entry module and deploy it")
    .argument("<entry>", "entry module, e.g. functions/hello.ts")
    .option("--name <name>", "function name (default: the file name)")
    .option(
      "--var <K=V>",
      "a variable for env.VARS (repeatable)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .option("--timeout-ms <n>", "per-call timeout")
    .option("--memory-mb <n>", "memory cap")
    .option("--allow-net <hosts>", "outbound allowlist, comma-separated host[:port]")
    .option("--kv-namespace <ns>", "share a key-value namespace with other functions")
    .option("--private", "callers of /fn/<name> need the admin token")
    .option("--allow-private", "let the function reach private addresses (10/8, 192.168/16, …)")
    .action(
      async (entry: string, o: Record<string, string | string[] | undefined>, cmd: Command) => {
        const name = (o.name as string | undefined) ??
          entry.split("/").pop()!.replace(/\.(m?[jt]sx?)$/, "").toLowerCase();
        const vars: Record<string, string> = {};
        for (const kv of (o.var as string[] | undefined) ?? []) {
          const i = kv.indexOf("=");
          if (i <= 0) throw new CliError("BAD_REQUEST", `--var expects K=V: ${kv}`);
          vars[kv.slice(0, i)] = kv.slice(i + 1);
        }
        // esbuild is loaded only by the commands that bundle.
        const { bundle } = await import("../catalog/bundle.ts");
        const body: Record<string, unknown> = { code: (await bundle(entry)).code, vars };
        for (const [flag, key] of [["timeoutMs", "timeoutMs"], ["memoryMb", "memoryMb"]] as const) {
          if (o[flag] !== undefined) {
            const n = Number(o[flag]);
            if (!Number.isInteger(n)) {
              throw new CliError("BAD_REQUEST", `--${flag} expects an integer`);
            }
            body[key] = n;
          }
        }
        if (o.allowNet) body.allowNet = splitList(o.allowNet as string);
        if (o.kvNamespace) body.kvNamespace = o.kvNamespace;
        if (o.private) body.public = false;
        if (o.allowPrivate) body.allowPrivate = true;
        const client = await clientFor(cmd);
        const res = await client.json(`/v1/functions/${encodeURIComponent(name)}`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        print(res);
      },
    );

  peerOptions(program.command("invoke"))
    .description(
      "call a function and print its response body; with the token it reaches private " +
        "functions and shows a failing function's own message",
    )
    .argument("<name>")
    .argument("[path]", "path and query inside the function", "/")
    .option("-X, --method <method>", "HTTP method", "GET")
    .option("-d, --data <data>", "request body (@file reads a file)")
    .option(
      "-H, --header <h>",
      "header 'K: V' (repeatable)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .option("-i, --include", "print the status line and headers (with the request id) first")
    .action(async (name: string, path: string, o: Record<string, unknown>, cmd: Command) => {
      const client = await clientFor(cmd);
      const headers = new Headers();
      for (const h of (o.header as string[] | undefined) ?? []) {
        const i = h.indexOf(":");
        if (i <= 0) throw new CliError("BAD_REQUEST", `--header expects 'K: V': ${h}`);
        headers.set(h.slice(0, i).trim(), h.slice(i + 1).trim());
      }
      let body: BodyInit | undefined;
      const data = o.data as string | undefined;
      if (data !== undefined) {
        body = data.startsWith("@") ? await Deno.readFile(data.slice(1)) : data;
      }
      const rel = path.startsWith("/") ? path : `/${path}`;
      const url = `/fn/${encodeURIComponent(name)}${rel === "/" ? "" : rel}`;
      const init = { method: String(o.method).toUpperCase(), headers, body: body ?? null };
      if (!o.include) {
        await writeBody(await client.fetch(url, init));
        return;
      }
      // With -i every answer is shown as it came, 2xx or not: status, headers (the request id
      // among them), body; the exit code still tells failure from success.
      const res = await client.raw(url, init);
      console.log(`HTTP ${res.status} ${res.statusText}`.trimEnd());
      for (const [k, v] of res.headers) console.log(`${k}: ${v}`);
      console.log();
      await writeBody(res);
      const exit = exitCodeForStatus(res.status);
      if (exit !== 0) Deno.exitCode = exit;
    });

  const functions = peerOptions(program.command("functions")).description(
    "list or remove functions",
  );
  jsonOption(peerOptions(functions.command("ls", { isDefault: true }))).description(
    "list functions",
  )
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const res = await (await clientFor(cmd)).json<
        { functions: Array<Record<string, unknown>> }
      >("/v1/functions");
      if (o.json) return print(res);
      const { functions } = res;
      if (functions.length === 0) return print("no functions");
      for (const f of functions) print(`${f.name}\t${f.version}\t${f.size} B\t${f.deployedAt}`);
    });
  peerOptions(functions.command("rm")).description("remove a function mesh-wide").argument("<name>")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      print(
        await (await clientFor(cmd)).json(`/v1/functions/${encodeURIComponent(name)}`, {
          method: "DELETE",
        }),
      );
    });
}
