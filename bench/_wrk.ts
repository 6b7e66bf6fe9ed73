/**
 * `wrk` as the load generator for every HTTP throughput figure (a JS load
 * generator would eat the CPU it measures): a warm-up run, then a measured
 * run with `--latency`, parsed into req/s and percentiles in ms.
 * @module
 */
import { spawn } from "../test/_harness.ts";
import { r } from "./_util.ts";

/** One wrk measurement. */
export interface WrkResult {
  url: string;
  connections: number;
  threads: number;
  seconds: number;
  reqPerSec: number;
  requests: number;
  p50ms: number | null;
  p75ms: number | null;
  p90ms: number | null;
  p99ms: number | null;
  /** Non-2xx/3xx responses (wrk counts them as requests). */
  non2xx: number;
  socketErrors: number;
}

/** Options of {@linkcode wrk}. */
export interface WrkOptions {
  connections: number;
  /** @default {1} */
  threads?: number;
  seconds: number;
  /** Warm-up run before the measured one, in seconds (0 = none). @default {1} */
  warmupSeconds?: number;
  headers?: Record<string, string>;
}

/** True when `wrk` is on the PATH. */
export async function haveWrk(): Promise<boolean> {
  try {
    const out = await new Deno.Command("wrk", { args: ["-v"], stdout: "piped", stderr: "piped" }).output();
    return new TextDecoder().decode(out.stdout).includes("wrk");
  } catch {
    return false;
  }
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  switch (unit) {
    case "us":
      return n / 1000;
    case "ms":
      return n;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    default:
      return NaN;
  }
}

/** Parses wrk's text output (with `--latency`). */
export function parseWrk(text: string): Omit<WrkResult, "url" | "connections" | "threads" | "seconds"> {
  const lat = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    return m ? r(toMs(m[1]!, m[2]!), 4) : null;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) throw new Error(`Could not parse wrk output: ${text.slice(0, 400)}`);
  const reqs = /(\d+) requests in/.exec(text);
  const non = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    reqPerSec: Math.round(Number(rps[1])),
    requests: Number(reqs?.[1] ?? 0),
    p50ms: lat("50"),
    p75ms: lat("75"),
    p90ms: lat("90"),
    p99ms: lat("99"),
    non2xx: Number(non?.[1] ?? 0),
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

async function once(url: string, o: WrkOptions, seconds: number): Promise<string> {
  const args = [
    "-t", String(o.threads ?? 1),
    "-c", String(o.connections),
    "-d", `${seconds}s`,
    "--latency",
    "--timeout", "10s",
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    url,
  ];
  const { child, tracked } = spawn("wrk", args, { label: "wrk", stdout: "piped", stderr: "piped" });
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  const status = await tracked.exited;
  if (status.code !== 0) throw new Error(`wrk exited ${status.code}: ${err || out}`);
  return out;
}

/** Warms up, then measures `url` with wrk. Fails when most responses were errors. */
export async function wrk(url: string, o: WrkOptions): Promise<WrkResult> {
  const warm = o.warmupSeconds ?? 1;
  if (warm > 0) await once(url, o, warm);
  const parsed = parseWrk(await once(url, o, o.seconds));
  if (parsed.requests > 0 && parsed.non2xx > parsed.requests / 2) {
    throw new Error(`${url}: ${parsed.non2xx} of ${parsed.requests} responses were not 2xx`);
  }
  return { url, connections: o.connections, threads: o.threads ?? 1, seconds: o.seconds, ...parsed };
}

/** One side of an A/B comparison. */
export interface Target {
  url: string;
  headers?: Record<string, string>;
}

/** Medians over rounds of one side. */
export interface Side {
  rounds: WrkResult[];
  reqPerSec: number;
  p50ms: number | null;
  p99ms: number | null;
}

function median(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function side(rounds: WrkResult[]): Side {
  return {
    rounds,
    reqPerSec: Math.round(median(rounds.map((x) => x.reqPerSec)) ?? 0),
    p50ms: r(median(rounds.map((x) => x.p50ms)) ?? undefined, 4),
    p99ms: r(median(rounds.map((x) => x.p99ms)) ?? undefined, 4),
  };
}

/**
 * Measures every target in turn, `rounds` times over (A B C, A B C, …), so all see the same
 * background noise of a shared machine; reports each side's medians.
 *
 * @example
 * ```ts
 * const sides = await alternate({ bare: { url: a }, virgo: { url: b } }, { connections: 50, seconds: 5, rounds: 2 });
 * sides.virgo.reqPerSec / sides.bare.reqPerSec;
 * ```
 */
export async function alternate<K extends string>(
  targets: Record<K, Target>,
  o: { connections: number; seconds: number; rounds: number; warmupSeconds?: number },
): Promise<Record<K, Side>> {
  const names = Object.keys(targets) as K[];
  const runs = new Map<K, WrkResult[]>(names.map((n) => [n, []]));
  const common = { connections: o.connections, seconds: o.seconds, warmupSeconds: o.warmupSeconds ?? 1 };
  for (let i = 0; i < o.rounds; i++) {
    for (const n of names) {
      const t = targets[n];
      runs.get(n)!.push(await wrk(t.url, { ...common, ...(t.headers ? { headers: t.headers } : {}) }));
    }
  }
  return Object.fromEntries(names.map((n) => [n, side(runs.get(n)!)])) as Record<K, Side>;
}

/**
 * Measures `base` and `subject` alternately, `rounds` times each, so both see
 * the same background noise of a shared machine; reports medians and ratios
 * (subject / base for req/s, subject − base for latency).
 */
export async function versus(
  base: Target,
  subject: Target,
  o: { connections: number; seconds: number; rounds: number; warmupSeconds?: number },
) {
  const b: WrkResult[] = [];
  const s: WrkResult[] = [];
  for (let i = 0; i < o.rounds; i++) {
    const common = { connections: o.connections, seconds: o.seconds, warmupSeconds: o.warmupSeconds ?? 1 };
    b.push(await wrk(base.url, { ...common, ...(base.headers ? { headers: base.headers } : {}) }));
    s.push(await wrk(subject.url, { ...common, ...(subject.headers ? { headers: subject.headers } : {}) }));
  }
  const bs = side(b);
  const ss = side(s);
  return {
    connections: o.connections,
    base: bs,
    subject: ss,
    reqPerSecRatio: r(ss.reqPerSec / bs.reqPerSec),
    p50AddedMs: ss.p50ms !== null && bs.p50ms !== null ? r(ss.p50ms - bs.p50ms, 4) : null,
    p99AddedMs: ss.p99ms !== null && bs.p99ms !== null ? r(ss.p99ms - bs.p99ms, 4) : null,
    perRoundRatio: b.map((x, i) => r(s[i]!.reqPerSec / x.reqPerSec)),
  };
}
