/**
 * A bounded JS HTTP client for experiments that need per-call detail (which
 * peer ran each call, from `x-virgo-peer`) rather than raw throughput: those
 * figures compare strategies run by the same client, never against wrk.
 * @module
 */
import { r, summary } from "./_util.ts";

/** Per-call outcome counts of one closed-loop run. */
export interface ClientRun {
  concurrency: number;
  seconds: number;
  calls: number;
  callsPerSec: number;
  errors: number;
  errorSamples: string[];
  latency: ReturnType<typeof summary>;
  /** Calls per peer id (from `x-virgo-peer`) with their latency. */
  perPeer: Record<string, { calls: number; share: number; latency: ReturnType<typeof summary> }>;
}

/** `concurrency` loops call `url` back to back for `seconds`. */
export async function closedLoop(
  url: string,
  o: { concurrency: number; seconds: number; headers?: Record<string, string> },
): Promise<ClientRun> {
  const all: number[] = [];
  const byPeer = new Map<string, number[]>();
  let errors = 0;
  const errorSamples: string[] = [];
  const end = performance.now() + o.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: o.concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      try {
        const res = await fetch(url, { headers: o.headers ?? {} });
        const body = await res.text();
        const ms = performance.now() - s;
        if (!res.ok) {
          errors++;
          if (errorSamples.length < 3) errorSamples.push(`${res.status} ${body.slice(0, 160)}`);
          continue;
        }
        all.push(ms);
        const peer = res.headers.get("x-virgo-peer") ?? "?";
        let list = byPeer.get(peer);
        if (!list) byPeer.set(peer, list = []);
        list.push(ms);
      } catch (err) {
        errors++;
        if (errorSamples.length < 3) errorSamples.push(String(err).slice(0, 160));
      }
    }
  }));
  const dt = (performance.now() - t0) / 1000;
  const perPeer: ClientRun["perPeer"] = {};
  for (const [peer, lat] of byPeer) {
    perPeer[peer] = { calls: lat.length, share: r(lat.length / Math.max(1, all.length)) ?? 0, latency: summary(lat) };
  }
  return {
    concurrency: o.concurrency,
    seconds: o.seconds,
    calls: all.length,
    callsPerSec: Math.round(all.length / dt),
    errors,
    errorSamples,
    latency: summary(all),
    perPeer,
  };
}
