/**
 * `virgo`, the command line (contract section 2). Every option also reads
 * from a `VIRGO_*` environment variable and from `virgo.json` in the working
 * folder; client commands talk to `--peer` (default http://127.0.0.1:8787).
 * @module
 */
import { Command, Option } from "commander";
import { bundle, createLogger, readConfigFile, resolveConfig, startPeer } from "../mod.ts";
import { splitList } from "../config.ts";
import { generateSwarmKey } from "../../p2p/mod.ts";
import { CliError, createClient } from "./client.ts";

const DEFAULT_PEER = "http://127.0.0.1:8787";
const EXAMPLES = ["hello", "echo", "fib", "router", "counter"];

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...splitList(value)];
}

function peerOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--peer <url>", "peer to talk to").env("VIRGO_PEER"))
    .addOption(new Option("--token <token>", "admin token").env("VIRGO_TOKEN"));
}

async function clientFor(cmd: Command) {
  const file = await readConfigFile();
  const o = cmd.optsWithGlobals<{ peer?: string; token?: string }>();
  return createClient({
    peer: o.peer ?? (typeof file.peer === "string" ? file.peer : DEFAULT_PEER),
    token: o.token ?? (typeof file.token === "string" ? file.token : undefined),
  });
}

function print(value: unknown): void {
  console.log(typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

async function writeBody(res: Response): Promise<void> {
  if (!res.body) return;
  for await (const chunk of res.body) await Deno.stdout.write(chunk);
}

const program = new Command("virgo")
  .description("Virgo: a peer-to-peer edge-function runtime")
  .showHelpAfterError()
  .exitOverride();

program.command("start")
  .description("run a peer")
  .addOption(
    new Option("--http <host:port>", "HTTP listen address (default 127.0.0.1:8787)").env(
      "VIRGO_HTTP",
    ),
  )
  .addOption(
    new Option("--p2p <multiaddr>", "libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/7878)").env(
      "VIRGO_P2P",
    ),
  )
  .addOption(new Option("--data <dir>", "data folder (default ./.virgo)").env("VIRGO_DATA"))
  .addOption(
    new Option("--join <multiaddr>", "peer to join (repeatable; env comma-separated)").env(
      "VIRGO_JOIN",
    ).argParser(collect),
  )
  .addOption(new Option("--mdns", "discover peers on the LAN with mDNS").env("VIRGO_MDNS"))
  .addOption(
    new Option("--routing <strategy>", "p2c | least-loaded | random | local (default p2c)").env(
      "VIRGO_ROUTING",
    ),
  )
  .addOption(new Option("--replicas <n>", "copies of each key (default 3)").env("VIRGO_REPLICAS"))
  .addOption(
    new Option("--pool-mb <n>", "memory-pool capacity this peer offers (default 256)").env(
      "VIRGO_POOL_MB",
    ),
  )
  .addOption(
    new Option("--token <token>", "admin token; without one the peer listens on loopback only").env(
      "VIRGO_TOKEN",
    ),
  )
  .addOption(
    new Option("--swarm-key <file>", "libp2p swarm key: a private mesh").env("VIRGO_SWARM_KEY"),
  )
  .addOption(
    new Option("--spares <n>", "pre-started generic sandboxes (default 1)").env("VIRGO_SPARES"),
  )
  .addOption(
    new Option("--with-examples", "deploy the example functions on first start").env(
      "VIRGO_WITH_EXAMPLES",
    ),
  )
  .action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig(await readConfigFile(), opts);
    const logger = createLogger();
    const peer = await startPeer(cfg, logger);
    if (cfg.withExamples) {
      const root = new URL("../../functions/", import.meta.url);
      for (const name of EXAMPLES) {
        if (peer.functions().includes(name)) continue;
        const { code } = await bundle(new URL(`${name}.ts`, root).pathname);
        await peer.deploy(name, {
          code,
          vars: {},
          timeoutMs: 10_000,
          memoryMb: 128,
          allowLoopback: false,
        });
      }
    }
    const fns = peer.functions();
    console.log(`Virgo peer ${peer.peerId}`);
    console.log(`  http       ${peer.url}`);
    for (const a of peer.addrs()) console.log(`  p2p        ${a}`);
    console.log(`  routing    ${cfg.routing}, ${cfg.replicas} replicas, ${cfg.poolMb} MiB pool`);
    console.log(
      `  functions  ${fns.length ? fns.join(", ") : "(none yet: virgo deploy <entry.ts>)"}`,
    );
    console.log(
      `  auth       ${
        cfg.token
          ? "token required for /v1 mutations"
          : "none: listening on loopback only (give --token to expose)"
      }`,
    );
    console.log(`Ready at ${peer.url}`);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "Shutting down");
      await peer.stop();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
  });

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
  .action(async (entry: string, o: Record<string, string | string[] | undefined>, cmd: Command) => {
    const name = (o.name as string | undefined) ??
      entry.split("/").pop()!.replace(/\.(m?[jt]sx?)$/, "").toLowerCase();
    const vars: Record<string, string> = {};
    for (const kv of (o.var as string[] | undefined) ?? []) {
      const i = kv.indexOf("=");
      if (i <= 0) throw new CliError("BAD_REQUEST", `--var expects K=V: ${kv}`);
      vars[kv.slice(0, i)] = kv.slice(i + 1);
    }
    const body: Record<string, unknown> = { code: (await bundle(entry)).code, vars };
    for (const [flag, key] of [["timeoutMs", "timeoutMs"], ["memoryMb", "memoryMb"]] as const) {
      if (o[flag] !== undefined) {
        const n = Number(o[flag]);
        if (!Number.isInteger(n)) throw new CliError("BAD_REQUEST", `--${flag} expects an integer`);
        body[key] = n;
      }
    }
    if (o.allowNet) body.allowNet = splitList(o.allowNet as string);
    if (o.kvNamespace) body.kvNamespace = o.kvNamespace;
    const client = await clientFor(cmd);
    const res = await client.json(`/v1/functions/${encodeURIComponent(name)}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    print(res);
  });

peerOptions(program.command("invoke"))
  .description("call a function and print its response body")
  .argument("<name>")
  .argument("[path]", "path and query inside the function", "/")
  .option("-X, --method <method>", "HTTP method", "GET")
  .option("-d, --data <data>", "request body (@file reads a file)")
  .option(
    "-H, --header <h>",
    "header 'K: V' (repeatable)",
    (v: string, p: string[] = []) => [...p, v],
  )
  .option("-i, --include", "print status and headers too")
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
    if (data !== undefined) body = data.startsWith("@") ? await Deno.readFile(data.slice(1)) : data;
    const rel = path.startsWith("/") ? path : `/${path}`;
    const res = await client.fetch(`/fn/${encodeURIComponent(name)}${rel === "/" ? "" : rel}`, {
      method: String(o.method).toUpperCase(),
      headers,
      body: body ?? null,
    });
    if (o.include) {
      console.log(`HTTP ${res.status}`);
      for (const [k, v] of res.headers) console.log(`${k}: ${v}`);
      console.log();
    }
    await writeBody(res);
  });

const functions = peerOptions(program.command("functions")).description("list or remove functions");
peerOptions(functions.command("ls", { isDefault: true })).description("list functions")
  .action(async (_o: unknown, cmd: Command) => {
    const { functions } = await (await clientFor(cmd)).json<
      { functions: Array<Record<string, unknown>> }
    >("/v1/functions");
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

const kv = peerOptions(program.command("kv")).description("the cluster key-value pool");
peerOptions(kv.command("get")).argument("<key>").action(
  async (key: string, _o: unknown, cmd: Command) => {
    await writeBody(await (await clientFor(cmd)).fetch(`/v1/kv/${encodeURIComponent(key)}`));
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
      await (await clientFor(cmd)).json(`/v1/kv/${encodeURIComponent(key)}`, { method: "DELETE" }),
    );
  },
);
peerOptions(kv.command("ls")).argument("[prefix]", "key prefix", "").option(
  "--limit <n>",
  "page size",
  "100",
)
  .option("--after <key>", "start after this key")
  .action(async (prefix: string, o: { limit: string; after?: string }, cmd: Command) => {
    const q = new URLSearchParams({ prefix, limit: o.limit });
    if (o.after) q.set("after", o.after);
    const page = await (await clientFor(cmd)).json<{ keys: string[]; next?: string }>(
      `/v1/kv?${q}`,
    );
    for (const k of page.keys) print(k);
    if (page.next) console.error(`(more: --after ${page.next})`);
  });

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

peerOptions(program.command("peers")).description(
  "the mesh as this peer sees it, with each peer's load",
)
  .option("--json", "print JSON")
  .action(async (o: { json?: boolean }, cmd: Command) => {
    const view = await (await clientFor(cmd)).json<{ peers: Array<Record<string, unknown>> }>(
      "/v1/peers",
    );
    if (o.json) return print(view);
    print("peer\tinflight\tqueued\tcores\tloop ms\tpool free MiB\tfunctions\tage ms\thttp");
    for (const p of view.peers) {
      print([
        `${p.self ? "*" : " "}${p.peerId}`,
        p.inflight,
        p.queued,
        p.cores,
        p.loopDelayMs,
        Math.round(Number(p.poolFreeBytes) / 1048576),
        (p.functions as unknown[]).length,
        Math.round(Number(p.ageMs)),
        p.http ?? "",
      ].join("\t"));
    }
  });

peerOptions(program.command("status")).description("this peer's status").action(
  async (_o: unknown, cmd: Command) => {
    print(await (await clientFor(cmd)).json("/v1/status"));
  },
);

program.command("keygen")
  .description("print a new swarm key for a private mesh (--swarm-key)")
  .action(async () => {
    await Deno.stdout.write(generateSwarmKey());
  });

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
