/**
 * The one harness for peer processes, used by the integration tests and the
 * benchmarks: real `virgo start` processes on 127.0.0.1 with ephemeral ports
 * and a LevelDB in a temp folder, ready when they print `Ready at <url>`
 * (never by sleeping).
 *
 * Every process started here is tracked together with the processes under it
 * (a peer's sandboxes, which a SIGKILL of the peer would leave behind), so it
 * is paused, killed or stopped as a whole. A peer that fails to start, or a
 * mesh that starts only in part, is stopped before the error is thrown. After
 * the last test of a test module, whatever the module left running is stopped
 * and the temp folders made here are removed; programs (the benchmarks) call
 * {@linkcode stopEverything} themselves and {@linkcode installSignalHandlers}
 * for Ctrl-C.
 *
 * @example
 * ```ts
 * const peers = await startMesh(3);
 * try {
 *   await deploy(peers[0]!, "hello", "hello");
 * } finally {
 *   await stopAll(peers); // and their data folders
 * }
 * ```
 * @module
 */

import { PEER_SEMI_SPACE_MB } from "../runtime/constants.ts";
import { freePort } from "./_ports.ts";

export { freePort };

const ROOT = new URL("../", import.meta.url).pathname;
const CLI = `${ROOT}runtime/cli/main.ts`;
const CONFIG = `${ROOT}deno.json`;

/** How long a peer may take to say `Ready at`: 30 peers starting at once on 2 cores need a minute. */
const START_TIMEOUT_MS = 90_000;

/**
 * How long `stop()` waits after SIGTERM before SIGKILL. A peer's shutdown is a leave
 * (`LEAVE_ACK_TIMEOUT_MS`, 2 s), a drain (`SHUTDOWN_GRACE_MS`, 5 s), then closing its parts:
 * this leaves it room on a loaded 2-core machine.
 */
const STOP_GRACE_MS = 20_000;

/** A process as found in /proc: with its start time, so a later process with its pid is not it. */
export interface ProcessRef {
  readonly pid: number;
  /** Clock ticks from boot to its start (field 22 of /proc/<pid>/stat). */
  readonly started: string;
}

/** When `pid` started; undefined once it has exited (a zombie has) or on a system without /proc. */
async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is the state (field 3).
  return fields[0] && fields[0] !== "Z" && fields[0] !== "X" ? fields[19] : undefined;
}

/** Direct children of `pid`, from /proc/<pid>/task/<tid>/children. */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  try {
    for await (const t of Deno.readDir(`/proc/${pid}/task`)) {
      const s = await Deno.readTextFile(`/proc/${pid}/task/${t.name}/children`).catch(() => "");
      for (const x of s.trim().split(/\s+/)) if (x) out.push(Number(x));
    }
  } catch { /* gone */ }
  return out;
}

/** Every process under `pid`, depth first (none without /proc). */
export async function descendantsOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const c of await childrenOf(pid)) out.push(c, ...await descendantsOf(c));
  return out;
}

/** Whether `ref` is still running: the same process, not a zombie. */
export async function isRunning(ref: ProcessRef): Promise<boolean> {
  return await startTimeOf(ref.pid) === ref.started;
}

/** Sends `signal` to `ref` if it is still that process; whether it was sent. */
async function signalProcess(ref: ProcessRef, signal: Deno.Signal): Promise<boolean> {
  if (!await isRunning(ref)) return false;
  try {
    Deno.kill(ref.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `refs` runs, up to `ms`: a SIGKILL takes effect soon, not at once. */
async function gone(refs: readonly ProcessRef[], ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  for (const r of refs) {
    while (Date.now() < end && await isRunning(r)) await new Promise((res) => setTimeout(res, 10));
  }
}

/** A process started here: a peer, or anything else through {@linkcode spawn}. */
export interface Tracked {
  readonly pid: number;
  readonly label: string;
  /** Resolves when the process exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** The process and every process under it, top down; empty once it has exited. */
  tree(): Promise<ProcessRef[]>;
  /** Signals the whole tree (SIGCONT bottom up, anything else top down); what it signalled. */
  signal(signal: Deno.Signal): Promise<ProcessRef[]>;
  /**
   * SIGTERM (a paused tree is resumed to see it), then SIGKILL after `graceMs`; what was under
   * it is killed once it has exited. Resolves to the exit code. @default {STOP_GRACE_MS}
   */
  stop(graceMs?: number): Promise<number>;
  /** SIGKILL for it and everything under it, and waits. */
  kill(): Promise<void>;
}

/** Processes started here and still running. */
const running = new Set<Tracked>();
/** Temp folders made here and not removed yet. */
const tempDirs = new Set<string>();

async function removeTemp(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  tempDirs.delete(dir);
}

async function makeTemp(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  tempDirs.add(dir);
  return dir;
}

/** Whether `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>((res) => (timer = setTimeout(() => res(false), ms))),
  ]);
  clearTimeout(timer);
  return done;
}

function track(child: Deno.ChildProcess, label: string): Tracked {
  const pid = child.pid;
  const exited = child.status;
  const root = startTimeOf(pid);
  let stopping: Promise<number> | undefined;
  const tree = async (): Promise<ProcessRef[]> => {
    const started = await root;
    const refs: ProcessRef[] = [];
    for (const p of [pid, ...await descendantsOf(pid)]) {
      const s = await startTimeOf(p);
      if (s !== undefined) refs.push({ pid: p, started: s });
    }
    // Once it has exited, its pid may be someone else's.
    return started !== undefined && refs[0]?.pid === pid && refs[0].started === started ? refs : [];
  };
  const signal = async (sig: Deno.Signal): Promise<ProcessRef[]> => {
    const refs = await tree();
    for (const r of sig === "SIGCONT" ? [...refs].reverse() : refs) await signalProcess(r, sig);
    return refs;
  };
  const kill = async (): Promise<void> => {
    // Stopped first, so it starts nothing between the reading of its tree and the SIGKILLs.
    await signal("SIGSTOP");
    const refs = await tree();
    for (const r of refs) await signalProcess(r, "SIGKILL");
    try {
      child.kill("SIGKILL"); // without /proc, the tree is empty
    } catch { /* exited already */ }
    await exited;
    await gone(refs);
  };
  const t: Tracked = {
    pid,
    label,
    exited,
    tree,
    signal,
    kill,
    stop(graceMs = STOP_GRACE_MS) {
      stopping ??= (async () => {
        const refs = await tree();
        try {
          child.kill("SIGTERM");
        } catch { /* exited already */ }
        for (const r of [...refs].reverse()) await signalProcess(r, "SIGCONT");
        if (!await within(exited, graceMs)) await kill();
        const status = await exited;
        // Sandboxes end with their peer; those that did not would outlive it.
        for (const r of refs.slice(1)) await signalProcess(r, "SIGKILL");
        await gone(refs);
        return status.code;
      })();
      return stopping;
    },
  };
  running.add(t);
  exited.finally(() => running.delete(t)).catch(() => {});
  return t;
}

/** Options of {@linkcode spawn}. */
export interface SpawnOptions {
  /** A name for messages. @default {cmd} */
  label?: string;
  /** @default {"null"} */
  stdout?: "piped" | "null";
  /** @default {"null"} */
  stderr?: "piped" | "null";
  /** Added to the environment (`NO_COLOR=1` always). */
  env?: Record<string, string>;
  /** Working folder. @default {the test's} */
  cwd?: string;
}

/** Starts a tracked process (stdin closed). */
export function spawn(
  cmd: string,
  args: string[],
  options: SpawnOptions = {},
): { child: Deno.ChildProcess; tracked: Tracked } {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: options.stdout ?? "null",
    stderr: options.stderr ?? "null",
    env: { NO_COLOR: "1", ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  }).spawn();
  return { child, tracked: track(child, options.label ?? cmd) };
}

/** How many processes started here are running. */
export function runningCount(): number {
  return running.size;
}

/** Stops every process started here that still runs, in parallel, then removes the temp folders. */
export async function stopEverything(options: { graceMs?: number } = {}): Promise<void> {
  await Promise.all([...running].map((t) => t.stop(options.graceMs).catch(() => {})));
  await Promise.all([...tempDirs].map(removeTemp));
}

let signalsInstalled = false;
/** For programs: on SIGINT or SIGTERM, stop everything started here, then exit 130. */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const onSignal = (sig: string) => {
    console.error(`\n${sig}: stopping ${running.size} process(es)…`);
    stopEverything({ graceMs: 1_000 }).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
}

// Under `deno test`: nothing a test module started outlives it (a no-op under `deno run`).
Deno.test.afterAll(() => stopEverything());

/** Splits a byte stream into text lines. */
function lines(stream: ReadableStream<Uint8Array>): ReadableStream<string> {
  let rest = "";
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>({
      transform(chunk, controller) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) controller.enqueue(line);
      },
      flush(controller) {
        if (rest) controller.enqueue(rest);
      },
    }),
  );
}

/** A running peer process. Its data folder stays until {@linkcode stopAll}: it may be restarted. */
export interface PeerProcess extends Tracked {
  readonly peerId: string;
  readonly url: string;
  readonly p2p: string;
  readonly data: string;
  /** Lines the peer wrote to stderr (its JSON log), for assertions. */
  readonly logs: string[];
  /** When each line of `logs` arrived (ms since the epoch). */
  readonly logTimes: number[];
}

/** Options of {@linkcode startPeer}. */
export interface StartOptions {
  /** Data folder; a fresh temp folder by default. */
  data?: string;
  join?: string[];
  /**
   * Fixed libp2p port, e.g. to restart a peer at the same address. By default one from
   * {@linkcode freePort}, which no other test and no outgoing connection takes meanwhile.
   */
  p2pPort?: number;
  /** Fixed HTTP port; by default one from {@linkcode freePort}, as `p2pPort`. */
  httpPort?: number;
  /** Warm sandbox processes (`--spares`). @default {1} */
  spares?: number;
  args?: string[];
  env?: Record<string, string>;
  /** Run inside this network namespace (`ip netns exec`), listening on `host`. */
  netns?: string;
  /** Address to listen on. @default {"127.0.0.1"} */
  host?: string;
  /** Leave out `--p2p`, so the peer listens where it does by default. */
  omitP2p?: boolean;
  /** Runs the peer under this command, e.g. `["taskset", "-c", "1"]`. */
  wrap?: string[];
  /** Keeps only the first this many lines of `logs` (a long run's memory). @default {Infinity} */
  maxLogs?: number;
  /** @default {90_000} */
  timeoutMs?: number;
  /** An installed `virgo` to run instead of the checkout's source (test/cli_install_test.ts). */
  bin?: string;
  /** Working folder of the peer. @default {the test's} */
  cwd?: string;
}

/** The command line that runs Deno, under `wrap` and inside a network namespace when asked. */
function denoCommand(
  args: string[],
  netns?: string,
  wrap: string[] = [],
): { cmd: string; args: string[] } {
  const netnsExec = netns ? ["ip", "netns", "exec", netns] : [];
  const [cmd, ...rest] = [...wrap, ...netnsExec, Deno.execPath(), ...args];
  return { cmd: cmd!, args: rest };
}

/**
 * Starts `virgo start` and waits until it is ready. `VIRGO_BENCH_CPU_PROF=<dir>` has every peer
 * write a V8 CPU profile there on exit.
 */
export async function startPeer(opts: StartOptions = {}): Promise<PeerProcess> {
  const data = opts.data ?? await makeTemp("virgo-peer-");
  const host = opts.host ?? "127.0.0.1";
  const prof = Deno.env.get("VIRGO_BENCH_CPU_PROF");
  const args = [
    "run",
    ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
    "-A",
    // As bin/virgo runs a peer.
    `--v8-flags=--max-semi-space-size=${PEER_SEMI_SPACE_MB}`,
    "--config",
    CONFIG,
    CLI,
    "start",
    "--http",
    `${host}:${opts.httpPort ?? freePort()}`,
    ...(opts.omitP2p ? [] : ["--p2p", `/ip4/${host}/tcp/${opts.p2pPort ?? freePort()}`]),
    "--data",
    data,
    "--spares",
    String(opts.spares ?? 1),
    ...(opts.join ?? []).flatMap((j) => ["--join", j]),
    ...(opts.args ?? []),
  ];
  const run = opts.bin
    ? { cmd: opts.bin, args: args.slice(args.indexOf(CLI) + 1) }
    : denoCommand(args, opts.netns, opts.wrap);
  const { child, tracked } = spawn(run.cmd, run.args, {
    label: "peer",
    stdout: "piped",
    stderr: "piped",
    env: { VIRGO_LOG: "info", ...opts.env },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const logs: string[] = [];
  const logTimes: number[] = [];
  const maxLogs = opts.maxLogs ?? Infinity;
  const logsDone = (async () => {
    for await (const line of lines(child.stderr)) {
      if (logs.length >= maxLogs) continue;
      logs.push(line);
      logTimes.push(Date.now());
    }
  })().catch(() => {});
  const reader = lines(child.stdout).getReader();
  let peerId = "";
  let url = "";
  let p2p = "";
  const timeoutMs = opts.timeoutMs ?? START_TIMEOUT_MS;
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    void tracked.kill();
  }, timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        const status = await tracked.exited;
        await logsDone;
        const last = logs.slice(-20).join("\n");
        throw new Error(
          timedOut
            ? `Peer not ready in ${timeoutMs} ms:\n${last}`
            : `Peer exited (${status.code}) before ready:\n${last}`,
        );
      }
      const id = /^Virgo peer (\S+)/.exec(value);
      if (id) peerId = id[1]!;
      const p = /^\s+p2p\s+(\S+)/.exec(value);
      if (p && !p2p) p2p = p[1]!;
      const ready = /^Ready at (\S+)/.exec(value);
      if (ready) {
        url = ready[1]!;
        break;
      }
    }
  } catch (err) {
    await tracked.kill();
    if (opts.data === undefined) await removeTemp(data);
    throw err;
  } finally {
    clearTimeout(deadline);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    for (;;) if ((await reader.read()).done) break;
  })().catch(() => {});
  return { ...tracked, peerId, url, p2p, data, logs, logTimes };
}

/** Options of {@linkcode startMesh}. */
export interface MeshOptions extends StartOptions {
  /** How long every peer may take to see all the others. @default {30_000} */
  viewTimeoutMs?: number;
}

/** Starts `n` peers, each joining the first; if any fails to start or to see the others, none is left running. */
export async function startMesh(n: number, opts: MeshOptions = {}): Promise<PeerProcess[]> {
  const { viewTimeoutMs = 30_000, ...start } = opts;
  const first = await startPeer(start);
  const peers = [first];
  try {
    const rest = await Promise.allSettled(
      Array.from(
        { length: n - 1 },
        () => startPeer({ ...start, join: [first.p2p, ...(start.join ?? [])] }),
      ),
    );
    for (const r of rest) if (r.status === "fulfilled") peers.push(r.value);
    for (const r of rest) if (r.status === "rejected") throw r.reason;
    await Promise.all(
      peers.map((p) =>
        waitFor(
          `${p.peerId} to see ${n} peers`,
          async () => (await viewOf(p)).length === n,
          viewTimeoutMs,
        )
      ),
    );
    return peers;
  } catch (err) {
    await stopAll(peers);
    throw err;
  }
}

/** Stops every peer (in parallel), then removes their data folders. */
export async function stopAll(
  peers: readonly PeerProcess[],
  options: { graceMs?: number } = {},
): Promise<void> {
  await Promise.all(peers.map((p) => p.stop(options.graceMs)));
  await Promise.all(peers.map((p) => removeTemp(p.data)));
}

/** Runs the CLI with `args`; returns exit code and output. */
export async function cli(
  args: string[],
  env: Record<string, string> = {},
  netns?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = denoCommand(["run", "-A", "--config", CONFIG, CLI, ...args], netns);
  const out = await new Deno.Command(run.cmd, {
    args: run.args,
    stdin: "null",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Deploys a file from `functions/` (or any path) through the CLI; throws on failure. */
export async function deploy(peer: PeerProcess, entry: string, name: string, extra: string[] = []) {
  const path = entry.includes("/") ? entry : `${ROOT}functions/${entry}.ts`;
  const r = await cli(["deploy", path, "--name", name, "--peer", peer.url, ...extra]);
  if (r.code !== 0) throw new Error(`deploy ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { name: string; version: string; size: number };
}

/** Deploys source text directly over HTTP. */
export async function deploySource(
  peer: PeerProcess,
  name: string,
  code: string,
  extra: Record<string, unknown> = {},
): Promise<Response> {
  return await fetch(`${peer.url}/v1/functions/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, ...extra }),
  });
}

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/**
 * Waits until every peer serves function `name` and their catalogues are one: each peer's view
 * shows every peer of `peers` with the same catalogue digest. `headers` carry a token if needed.
 */
export async function waitForFunction(
  peers: PeerProcess[],
  name: string,
  headers: Record<string, string> = {},
): Promise<void> {
  await waitFor(`${name} to reach every peer`, async () => {
    const digests = new Set<string>();
    for (const p of peers) {
      const fn = await fetch(`${p.url}/v1/functions/${name}`, { headers });
      await fn.body?.cancel();
      if (fn.status !== 200) return false;
      const res = await fetch(`${p.url}/v1/peers`, { headers });
      const view = (await res.json()).peers as Array<
        { peerId: string; catalog: { digest: string } }
      >;
      for (const q of peers) {
        const seen = view.find((v) => v.peerId === q.peerId);
        if (!seen) return false;
        digests.add(seen.catalog.digest);
      }
    }
    return digests.size === 1;
  });
}

/** The peer ids in a peer's view. */
export async function viewOf(peer: PeerProcess): Promise<string[]> {
  const res = await fetch(`${peer.url}/v1/peers`);
  const body = await res.json() as { peers: Array<{ peerId: string }> };
  return body.peers.map((p) => p.peerId);
}
