/**
 * Every process a benchmark starts goes through here, so `stopAll()` (run at
 * the end of each part, on error and on SIGINT/SIGTERM) can end them — and
 * their children (a peer's sandbox processes), which are not killed with
 * their parent. Peers are real `virgo start` processes on loopback with
 * ephemeral ports, ready when they print `Ready at <url>`.
 * @module
 */
import { descendantsOf, ROOT, sleep, waitFor } from "./_util.ts";

const CLI = `${ROOT}runtime/cli/main.ts`;
const CONFIG = `${ROOT}deno.json`;

/** A process we started. */
export interface Tracked {
  readonly pid: number;
  readonly label: string;
  /** SIGTERM, then SIGKILL after `graceMs`; also kills descendants left behind. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: Promise<Deno.CommandStatus>;
}

const live = new Set<Tracked>();

function track(child: Deno.ChildProcess, label: string): Tracked {
  let stopping: Promise<void> | undefined;
  const exited = child.status;
  const t: Tracked = {
    pid: child.pid,
    label,
    exited,
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        // Children of a peer (sandboxes) survive a SIGKILL of the peer: note them first.
        const kids = await descendantsOf(child.pid);
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = await Promise.race([
          exited.then(() => false),
          new Promise<boolean>((res) => (timer = setTimeout(() => res(true), graceMs))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
          await exited;
        }
        for (const k of kids) {
          try {
            Deno.kill(k, "SIGKILL");
          } catch { /* already gone: the normal case */ }
        }
        live.delete(t);
      })();
      return stopping;
    },
  };
  live.add(t);
  exited.then(() => live.delete(t)).catch(() => {});
  return t;
}

/** Spawns a tracked process with stdout/stderr discarded or piped. */
export function spawn(
  cmd: string,
  args: string[],
  opts: { label?: string; stdout?: "piped" | "null"; stderr?: "piped" | "null"; env?: Record<string, string> } = {},
): { child: Deno.ChildProcess; tracked: Tracked } {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: opts.stdout ?? "null",
    stderr: opts.stderr ?? "null",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
  return { child, tracked: track(child, opts.label ?? cmd) };
}

/** Stops every process still running (in parallel). */
export async function stopAll(graceMs = 3_000): Promise<void> {
  await Promise.all([...live].map((t) => t.stop(graceMs).catch(() => {})));
}

/** How many tracked processes are running. */
export function liveCount(): number {
  return live.size;
}

let signalsInstalled = false;
/** On SIGINT/SIGTERM: stop everything, then exit 130. */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const onSignal = (sig: string) => {
    console.error(`\n${sig}: stopping ${live.size} benchmark process(es)…`);
    stopAll(1_000).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
}

/** Splits a byte stream into lines, calling `onLine` for each. */
async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const l of parts) onLine(l);
  }
  if (rest) onLine(rest);
}

/** A running peer. */
export interface Peer {
  readonly peerId: string;
  readonly url: string;
  readonly p2p: string;
  readonly data: string;
  readonly pid: number;
  /** stderr lines (pino JSON) with arrival time (ms since epoch). */
  readonly logs: Array<{ at: number; line: string }>;
  stop(): Promise<void>;
}

/** Options of {@linkcode startPeer}. */
export interface PeerOptions {
  join?: string[];
  spares?: number;
  routing?: string;
  /** Prefix of the command (e.g. `["taskset", "-c", "1"]`). */
  wrap?: string[];
  args?: string[];
  env?: Record<string, string>;
  /** Keep stderr lines (default true). */
  keepLogs?: boolean;
  /** Start timeout. @default {90000} */
  timeoutMs?: number;
}

/** Starts `virgo start` on loopback and waits for `Ready at`. */
export async function startPeer(opts: PeerOptions = {}): Promise<Peer> {
  const data = await Deno.makeTempDir({ prefix: "virgo-bench-" });
  const args = [
    "run", "-A", "--config", CONFIG, CLI, "start",
    "--http", "127.0.0.1:0",
    "--p2p", "/ip4/127.0.0.1/tcp/0",
    "--data", data,
    "--spares", String(opts.spares ?? 1),
    ...(opts.routing ? ["--routing", opts.routing] : []),
    ...(opts.join ?? []).flatMap((j) => ["--join", j]),
    ...(opts.args ?? []),
  ];
  const [cmd, ...pre] = opts.wrap?.length ? [...opts.wrap, Deno.execPath()] : [Deno.execPath()];
  const prof = Deno.env.get("VIRGO_BENCH_CPU_PROF");
  if (prof) args.splice(1, 0, "--cpu-prof", `--cpu-prof-dir=${prof}`);
  const { child, tracked } = spawn(cmd!, [...pre, ...args], {
    label: "peer",
    stdout: "piped",
    stderr: "piped",
    env: { VIRGO_LOG: "info", ...opts.env },
  });
  const logs: Array<{ at: number; line: string }> = [];
  const keep = opts.keepLogs ?? true;
  eachLine(child.stderr, (line) => {
    if (keep || logs.length < 50) logs.push({ at: Date.now(), line });
  }).catch(() => {});
  let peerId = "";
  let url = "";
  let p2p = "";
  const ready = Promise.withResolvers<void>();
  eachLine(child.stdout, (line) => {
    const id = /^Virgo peer (\S+)/.exec(line);
    if (id) peerId = id[1]!;
    const p = /^\s+p2p\s+(\S+)/.exec(line);
    if (p && !p2p) p2p = p[1]!;
    const m = /^Ready at (\S+)/.exec(line);
    if (m) {
      url = m[1]!;
      ready.resolve();
    }
  }).catch(() => {});
  const timeoutMs = opts.timeoutMs ?? 90_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ready.promise,
      tracked.exited.then((s) => {
        throw new Error(`Peer exited (${s.code}) before ready: ${logs.slice(-8).map((l) => l.line).join("\n")}`);
      }),
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`Peer not ready in ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } catch (err) {
    await tracked.stop(1_000);
    await Deno.remove(data, { recursive: true }).catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    peerId,
    url,
    p2p,
    data,
    pid: child.pid,
    logs,
    async stop() {
      await tracked.stop();
      await Deno.remove(data, { recursive: true }).catch(() => {});
    },
  };
}

/** The peer ids in a peer's view. */
export async function viewOf(peer: Peer): Promise<string[]> {
  const res = await fetch(`${peer.url}/v1/peers`);
  const body = await res.json() as { peers: Array<{ peerId: string }> };
  return body.peers.map((p) => p.peerId);
}

export { waitFor };

/** Starts `n` peers, the rest joining the first, and waits until every view has `n` peers. */
export async function startMesh(n: number, opts: PeerOptions = {}, viewTimeoutMs = 30_000): Promise<Peer[]> {
  const first = await startPeer(opts);
  const peers = [first];
  try {
    const rest = await Promise.allSettled(
      Array.from({ length: n - 1 }, () => startPeer({ ...opts, join: [first.p2p, ...(opts.join ?? [])] })),
    );
    for (const s of rest) if (s.status === "fulfilled") peers.push(s.value);
    const failed = rest.find((s) => s.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    await Promise.all(peers.map((p) =>
      waitFor(`${p.peerId.slice(-6)} to see ${n} peers`, async () => (await viewOf(p)).length === n, viewTimeoutMs, 100)
    ));
    return peers;
  } catch (err) {
    await stopPeers(peers);
    throw err;
  }
}

/** Stops peers in parallel and removes their data. */
export async function stopPeers(peers: Peer[]): Promise<void> {
  await Promise.all(peers.map((p) => p.stop().catch(() => {})));
}

/** Deploys a file through the CLI (`virgo deploy`), as a user would; throws on failure. */
export async function deployCli(peer: Peer, entry: string, name: string): Promise<{ name: string; version: string }> {
  const path = entry.includes("/") ? entry : `${ROOT}functions/${entry}.ts`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, CLI, "deploy", path, "--name", name, "--peer", peer.url],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  if (out.code !== 0) throw new Error(`deploy ${name} failed: ${dec.decode(out.stderr).slice(0, 500)}`);
  return JSON.parse(dec.decode(out.stdout));
}

/** Deploys source over HTTP; returns the response (not checked). */
export function deploySource(peer: Peer, name: string, code: string): Promise<Response> {
  return fetch(`${peer.url}/v1/functions/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  });
}

/** Waits until `peer` answers `GET path` with 200 (e.g. a function deployed elsewhere has arrived). */
export async function waitOk(peer: Peer, path: string, headers: Record<string, string> = {}, timeoutMs = 20_000) {
  await waitFor(`${peer.url}${path}`, async () => {
    const res = await fetch(`${peer.url}${path}`, { headers });
    await res.body?.cancel();
    return res.ok;
  }, timeoutMs, 100);
}

/** A CPU hog (`sh` busy loop), optionally pinned with taskset. */
export function startHog(cpu?: number): Tracked {
  const loop = ["sh", "-c", "while :; do :; done"];
  const cmd = cpu === undefined ? loop : ["taskset", "-c", String(cpu), ...loop];
  return spawn(cmd[0]!, cmd.slice(1), { label: "hog" }).tracked;
}

/** Lets a freshly started process settle (JIT, GC) before measuring. */
export const settle = (ms = 500) => sleep(ms);

/** A running baseline server (`bench/_baseline.ts`). */
export interface Baseline {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts the bare-hono baseline (optionally with a LevelDB at `levelDir`) and waits until it listens. */
export async function startBaseline(opts: { levelDir?: string } = {}): Promise<Baseline> {
  const args = ["run", "-A", "--config", CONFIG, `${ROOT}bench/_baseline.ts`];
  if (opts.levelDir) args.push("--level", opts.levelDir);
  const { child, tracked } = spawn(Deno.execPath(), args, { label: "baseline", stdout: "piped", stderr: "piped" });
  let errText = "";
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) errText = (errText + c).slice(-2000);
  })().catch(() => {});
  const ready = Promise.withResolvers<string>();
  eachLine(child.stdout, (line) => {
    const m = /^Ready at (\S+)/.exec(line);
    if (m) ready.resolve(m[1]!);
  }).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      ready.promise,
      tracked.exited.then((s) => {
        throw new Error(`Baseline exited (${s.code}): ${errText}`);
      }),
      new Promise<string>((_, rej) => (timer = setTimeout(() => rej(new Error("Baseline not ready in 30 s")), 30_000))),
    ]);
    return { url, pid: child.pid, stop: () => tracked.stop() };
  } catch (err) {
    await tracked.stop(1_000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
