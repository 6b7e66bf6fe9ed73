/**
 * Small shared helpers of the benchmarks: percentiles, rounding, machine and
 * version info, process memory from /proc, and a result envelope that every
 * part writes to `bench/results/<name>.json`.
 * @module
 */

/** Root of the repository, with a trailing slash. */
export const ROOT = new URL("../", import.meta.url).pathname;
/** Where results go. */
export const RESULTS = `${ROOT}bench/results/`;

/** Rounds to `d` decimals (3 by default); NaN and non-numbers pass through as null. */
export function r(x: number | undefined, d = 3): number | null {
  if (x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** The `p` quantile (0..1) of `xs` (sorted in place); NaN when empty. */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
}

/** p50/p99/mean/max of latencies in ms. */
export function summary(xs: number[]): { n: number; p50ms: number | null; p99ms: number | null; meanMs: number | null; maxMs: number | null } {
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : NaN;
  return { n, p50ms: r(pct(xs, 0.5)), p99ms: r(pct(xs, 0.99)), meanMs: r(mean), maxMs: r(pct(xs, 1)) };
}

/** Waits `ms`. */
export const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Polls `check` until truthy or a timeout: the integration tests' helper. */
export { waitFor } from "../test/_harness.ts";

/** Output of a command, trimmed; "" when it fails. */
export async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/** What the results were measured on. */
export async function machineInfo(): Promise<Record<string, unknown>> {
  let cpu = "";
  try {
    cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "";
  } catch { /* not Linux */ }
  const mem = Deno.systemMemoryInfo();
  const pkg = JSON.parse(await Deno.readTextFile(`${ROOT}package.json`)) as { dependencies: Record<string, string> };
  const deps = pkg.dependencies;
  return {
    date: new Date().toISOString(),
    hostname: Deno.hostname(),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    arch: Deno.build.arch,
    cpu,
    cores: navigator.hardwareConcurrency,
    memTotalMb: Math.round(mem.total / 1048576),
    memAvailableMb: Math.round(mem.available / 1048576),
    loadavg: Deno.loadavg(),
    versions: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      wrk: (await sh("wrk", ["-v"])).split("\n")[0] ?? "",
      hono: deps.hono,
      level: deps.level,
      libp2p: deps.libp2p,
      virgo: (JSON.parse(await Deno.readTextFile(`${ROOT}package.json`)) as { version: string }).version,
      git: await sh("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]),
      gitDirty: (await sh("git", ["-C", ROOT, "status", "--porcelain"])).length > 0,
    },
  };
}

/** VmRSS of a process in MB, or undefined when it is gone. */
export async function rssMb(pid: number): Promise<number | undefined> {
  try {
    const s = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = Number(s.match(/VmRSS:\s*(\d+)/)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes a process wrote and read through syscalls (/proc/<pid>/io), or undefined. */
export async function procIo(pid: number): Promise<{ rchar: number; wchar: number } | undefined> {
  try {
    const s = await Deno.readTextFile(`/proc/${pid}/io`);
    return { rchar: Number(s.match(/rchar:\s*(\d+)/)?.[1]), wchar: Number(s.match(/wchar:\s*(\d+)/)?.[1]) };
  } catch {
    return undefined;
  }
}

/** Total bytes of files under `dir`. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) total += await dirBytes(p);
      else if (e.isFile) total += (await Deno.stat(p).catch(() => ({ size: 0 }))).size;
    }
  } catch { /* removed meanwhile */ }
  return total;
}

/** The error of a failed step, for the JSON. */
export function errorInfo(err: unknown): { error: string; stack?: string } {
  if (err instanceof Error) {
    const out: { error: string; stack?: string } = { error: `${err.name}: ${err.message}` };
    if (err.stack) out.stack = err.stack.split("\n").slice(0, 6).join("\n");
    return out;
  }
  return { error: String(err) };
}

/**
 * Runs one step of a part; on failure records the error under `key` and goes on.
 * Steps log a line to stderr so a long run shows progress.
 */
export async function step<T>(
  into: Record<string, unknown>,
  key: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const t0 = performance.now();
  log(`  · ${key} …`);
  try {
    const v = await fn();
    into[key] = v;
    log(`  · ${key} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return v;
  } catch (err) {
    into[key] = errorInfo(err);
    log(`  · ${key} FAILED after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${errorInfo(err).error}`);
    return undefined;
  }
}

/** Progress output (stderr, so stdout keeps only the table). */
export function log(msg: string): void {
  console.error(msg);
}

/** Options every part takes. */
export interface PartOptions {
  /** Shorter runs and smaller data sets. */
  quick: boolean;
}

/** One row of the headline table. */
export interface Headline {
  part: string;
  metric: string;
  virgo: string;
  baseline: string;
  ratio: string;
  target: string;
  /** true = met, false = missed, undefined = no target or not measured. */
  ok?: boolean | undefined;
}

/** What a part hands back to `run.ts`. */
export interface PartResult {
  name: string;
  data: Record<string, unknown>;
  headlines: Headline[];
}

/** Writes `bench/results/<name>.json` with machine info around `data`. */
export async function writeResult(name: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  await Deno.mkdir(RESULTS, { recursive: true });
  const body = { name, machine: await machineInfo(), ...extra, results: data };
  await Deno.writeTextFile(`${RESULTS}${name}.json`, JSON.stringify(body, null, 2) + "\n");
}

/** Formats a number for the table ("—" when missing). */
export function f(x: number | null | undefined, unit = "", d = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  const s = Math.abs(x) >= 1000 || (Number.isInteger(x) && unit !== "ms")
    ? Math.round(x).toLocaleString("en-US")
    : x.toFixed(d);
  return unit ? `${s} ${unit}` : s;
}

/** TCP payload bytes of one process's established sockets, in total and per socket. */
export interface TcpBytes {
  sent: number;
  recv: number;
  sockets: number;
  /** By `local peer` address pair: a socket is the same one in two samples only if its pair is. */
  bySocket: Map<string, { sent: number; recv: number }>;
}

/**
 * TCP payload bytes sent and received so far by each process's established
 * sockets (from `ss -tinp`: bytes_sent/bytes_received per socket), by pid.
 * Covers libp2p's noise + yamux framing, not IP/TCP headers. Compare two
 * samples with {@linkcode tcpDelta}: totals drop when a socket closes.
 */
export async function tcpBytesByPid(): Promise<Map<number, TcpBytes>> {
  const out = await sh("ss", ["-tinpH", "state", "established"]);
  const by = new Map<number, TcpBytes>();
  let owners: number[] = [];
  let socket = "";
  for (const line of out.split("\n")) {
    if (line.includes("users:((")) {
      owners = [...new Set([...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
      // `Recv-Q Send-Q Local:Port Peer:Port users:(…)` with the state filtered out.
      socket = line.trim().split(/\s+/).slice(2, 4).join(" ");
      for (const pid of owners) {
        const e = by.get(pid) ?? { sent: 0, recv: 0, sockets: 0, bySocket: new Map() };
        e.sockets++;
        by.set(pid, e);
      }
    }
    const sent = /bytes_sent:(\d+)/.exec(line);
    const recv = /bytes_received:(\d+)/.exec(line);
    if ((sent || recv) && owners.length) {
      const one = { sent: Number(sent?.[1] ?? 0), recv: Number(recv?.[1] ?? 0) };
      for (const pid of owners) {
        const e = by.get(pid)!;
        e.sent += one.sent;
        e.recv += one.recv;
        e.bySocket.set(socket, one);
      }
      owners = [];
    }
  }
  return by;
}

/**
 * Bytes a process sent and received between two samples, over the sockets open at both: a socket
 * that closed in between (connections are bounded and recycled) would otherwise make the
 * difference of totals negative, and one opened in between has no start to subtract.
 */
export function tcpDelta(before: TcpBytes, after: TcpBytes): { sent: number; recv: number } {
  let sent = 0;
  let recv = 0;
  for (const [key, a] of after.bySocket) {
    const b = before.bySocket.get(key);
    if (!b) continue;
    sent += a.sent - b.sent;
    recv += a.recv - b.recv;
  }
  return { sent, recv };
}
