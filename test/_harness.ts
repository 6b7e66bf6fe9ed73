/**
 * Integration-test harness: real peer processes (`virgo start`) on
 * 127.0.0.1 with ephemeral ports and a LevelDB in a temp folder, stopped by
 * the test that started them. Readiness is awaited on the peer's own
 * "Ready at" line, never by sleeping.
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const CLI = `${ROOT}runtime/cli/main.ts`;
const CONFIG = `${ROOT}deno.json`;

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

/** A running peer process. */
export interface PeerProcess {
  readonly peerId: string;
  readonly url: string;
  readonly p2p: string;
  readonly data: string;
  /** Lines the peer wrote to stderr (its JSON log), for assertions. */
  readonly logs: string[];
  /** The PID, for signals. */
  readonly pid: number;
  /** Stops it with SIGTERM and waits; resolves to the exit code. */
  stop(): Promise<number>;
  /** Kills it with SIGKILL and waits. */
  kill(): Promise<void>;
  /** Resolves when the process exits. */
  readonly exited: Promise<Deno.CommandStatus>;
}

/** Options of {@linkcode startPeer}. */
export interface StartOptions {
  /** Data folder; a fresh temp folder by default. */
  data?: string;
  join?: string[];
  /** Fixed libp2p port, e.g. to restart a peer at the same address. */
  p2pPort?: number;
  httpPort?: number;
  args?: string[];
  env?: Record<string, string>;
  /** Run inside this network namespace (`ip netns exec`), listening on `host`. */
  netns?: string;
  /** Address to listen on. @default {"127.0.0.1"} */
  host?: string;
  /** Leave out `--p2p`, so the peer listens where it does by default. */
  omitP2p?: boolean;
}

/** The command line that runs Deno, inside a network namespace when asked. */
function denoCommand(args: string[], netns?: string): { cmd: string; args: string[] } {
  return netns
    ? { cmd: "ip", args: ["netns", "exec", netns, Deno.execPath(), ...args] }
    : { cmd: Deno.execPath(), args };
}

/** Starts `virgo start` and waits until it is ready. */
export async function startPeer(opts: StartOptions = {}): Promise<PeerProcess> {
  const data = opts.data ?? await Deno.makeTempDir({ prefix: "virgo-test-" });
  const args = [
    "run",
    "-A",
    "--config",
    CONFIG,
    CLI,
    "start",
    "--http",
    `${opts.host ?? "127.0.0.1"}:${opts.httpPort ?? 0}`,
    ...(opts.omitP2p ? [] : ["--p2p", `/ip4/${opts.host ?? "127.0.0.1"}/tcp/${opts.p2pPort ?? 0}`]),
    "--data",
    data,
    "--spares",
    "1",
    ...(opts.join ?? []).flatMap((j) => ["--join", j]),
    ...(opts.args ?? []),
  ];
  const run = denoCommand(args, opts.netns);
  const child = new Deno.Command(run.cmd, {
    args: run.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", VIRGO_LOG: "info", ...opts.env },
  }).spawn();
  const logs: string[] = [];
  const logsDone = (async () => {
    for await (const line of lines(child.stderr)) {
      logs.push(line);
    }
  })().catch(() => {});
  const reader = lines(child.stdout).getReader();
  let peerId = "";
  let url = "";
  let p2p = "";
  const deadline = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 60_000);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        const status = await child.status;
        await logsDone;
        throw new Error(
          `Peer exited (${status.code}) before ready:\n${logs.slice(-20).join("\n")}`,
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
  } finally {
    clearTimeout(deadline);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    for (;;) if ((await reader.read()).done) break;
  })().catch(() => {});
  const exited = child.status;
  return {
    peerId,
    url,
    p2p,
    data,
    logs,
    pid: child.pid,
    exited,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      return (await exited).code;
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await exited;
    },
  };
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

/** The peer ids in a peer's view. */
export async function viewOf(peer: PeerProcess): Promise<string[]> {
  const res = await fetch(`${peer.url}/v1/peers`);
  const body = await res.json() as { peers: Array<{ peerId: string }> };
  return body.peers.map((p) => p.peerId);
}

/** Starts `n` peers, each joining the first. */
export async function startMesh(n: number, opts: StartOptions = {}): Promise<PeerProcess[]> {
  const first = await startPeer(opts);
  const rest = await Promise.all(
    Array.from(
      { length: n - 1 },
      () => startPeer({ ...opts, join: [first.p2p, ...(opts.join ?? [])] }),
    ),
  );
  const peers = [first, ...rest];
  await Promise.all(
    peers.map((p) =>
      waitFor(`${p.peerId} to see ${n} peers`, async () => (await viewOf(p)).length === n)
    ),
  );
  return peers;
}

/** Stops every peer, then removes their data folders. */
export async function stopAll(peers: PeerProcess[]): Promise<void> {
  await Promise.all(peers.map((p) => p.stop()));
  await Promise.all(peers.map((p) => Deno.remove(p.data, { recursive: true }).catch(() => {})));
}
