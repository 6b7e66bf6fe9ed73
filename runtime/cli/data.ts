/**
 * `virgo kv` and `virgo mem`: the key-value pool and VIRGO's memory API.
 * @module
 */
import type { Command } from "commander";
import { CliError } from "./client.ts";
import { clientFor, jsonOption, peerOptions, print, writeBody } from "./_shared.ts";

/** Registers these commands on `program`. */
export function dataCommands(program: Command): void {
  const kv = peerOptions(program.command("kv")).description("the cluster key-value pool");
  peerOptions(kv.command("get")).argument("<key>").option(
    "--consistency <mode>",
    "strong (a quorum read, the default) or eventual (one replica; never behind what this peer acknowledged)",
  ).action(
    async (key: string, o: { consistency?: string }, cmd: Command) => {
      if (
        o.consistency !== undefined && o.consistency !== "strong" && o.consistency !== "eventual"
      ) {
        throw new CliError(
          "BAD_REQUEST",
          `--consistency must be strong or eventual: ${o.consistency}`,
        );
      }
      const q = o.consistency ? `?consistency=${o.consistency}` : "";
      await writeBody(
        await (await clientFor(cmd)).fetch(`/v1/kv/${encodeURIComponent(key)}${q}`),
      );
    },
  );
  peerOptions(kv.command("set")).argument("<key>").argument("<value>", "value (@file reads a file)")
    .option("--ttl <seconds>").option("--if-match <version>")
    .action(
      async (key: string, value: string, o: { ttl?: string; ifMatch?: string }, cmd: Command) => {
        const headers: Record<string, string> = {};
        if (o.ifMatch) headers["if-match"] = o.ifMatch;
        const q = o.ttl ? `?ttl=${encodeURIComponent(o.ttl)}` : "";
        const body = value.startsWith("@") ? await Deno.readFile(value.slice(1)) : value;
        print(
          await (await clientFor(cmd)).json(`/v1/kv/${encodeURIComponent(key)}${q}`, {
            method: "PUT",
            headers,
            body,
          }),
        );
      },
    );
  peerOptions(kv.command("del")).argument("<key>").action(
    async (key: string, _o: unknown, cmd: Command) => {
      print(
        await (await clientFor(cmd)).json(`/v1/kv/${encodeURIComponent(key)}`, {
          method: "DELETE",
        }),
      );
    },
  );
  jsonOption(peerOptions(kv.command("ls"))).argument("[prefix]", "key prefix", "").option(
    "--limit <n>",
    "page size",
    "100",
  )
    .option("--after <key>", "start after this key")
    .action(
      async (
        prefix: string,
        o: { limit: string; after?: string; json?: boolean },
        cmd: Command,
      ) => {
        const q = new URLSearchParams({ prefix, limit: o.limit });
        if (o.after) q.set("after", o.after);
        const page = await (await clientFor(cmd)).json<{ keys: string[]; next?: string }>(
          `/v1/kv?${q}`,
        );
        if (o.json) return print(page);
        for (const k of page.keys) print(k);
        if (page.next) console.error(`(more: --after ${page.next})`);
      },
    );

  const mem = peerOptions(program.command("mem")).description(
    "VIRGO's memory API: malloc/set/get/free",
  );
  peerOptions(mem.command("alloc")).argument("<size>", "bytes").action(
    async (size: string, _o: unknown, cmd: Command) => {
      const n = Number(size);
      if (!Number.isInteger(n) || n <= 0) {
        throw new CliError("BAD_REQUEST", `size must be a positive integer: ${size}`);
      }
      print(
        await (await clientFor(cmd)).json("/v1/mem", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ size: n }),
        }),
      );
    },
  );
  peerOptions(mem.command("set")).argument("<addr>").argument("<data>").option(
    "--offset <n>",
    "byte offset",
    "0",
  )
    .action(async (addr: string, data: string, o: { offset: string }, cmd: Command) => {
      print(
        await (await clientFor(cmd)).json(
          `/v1/mem/${encodeURIComponent(addr)}?offset=${encodeURIComponent(o.offset)}`,
          {
            method: "PUT",
            body: data,
          },
        ),
      );
    });
  peerOptions(mem.command("get")).argument("<addr>").action(
    async (addr: string, _o: unknown, cmd: Command) => {
      await writeBody(await (await clientFor(cmd)).fetch(`/v1/mem/${encodeURIComponent(addr)}`));
    },
  );
  peerOptions(mem.command("free")).argument("<addr>").action(
    async (addr: string, _o: unknown, cmd: Command) => {
      print(
        await (await clientFor(cmd)).json(`/v1/mem/${encodeURIComponent(addr)}`, {
          method: "DELETE",
        }),
      );
    },
  );
}
