/**
 * Chaos runs: real peers on loopback (`_harness.ts`), a steady mixed load
 * from this process — unique writes on fresh keys, overwrites and reads of a
 * few hot keys, compare-and-set counters, deletes, calls of `functions/hello.ts`
 * — through random peers, recorded as a {@linkcode History}; meanwhile a
 * fault schedule kills and restarts peers, pauses them past the failure
 * timeout, or takes a majority down. At the end every key is read once more
 * and the history is checked: no acknowledged write lost, every key
 * linearizable, every counter within its bounds. The report also gives the
 * time each survivor took to notice each fault and the mesh took to heal.
 *
 * Used by `test/chaos_test.ts` (a short run) and `bench/chaos.ts` (`npm run chaos`).
 *
 * @example
 * ```ts
 * const { report } = await runChaos({ peers: 3, faults: ["kill", "pause"], durationMs: 15_000 });
 * console.log(formatReport(report));
 * ```
 * @module
 */
import {
  deploy,
  isRunning,
  type PeerProcess,
  type ProcessRef,
  startPeer,
  stopAll,
  waitFor,
} from "./_harness.ts";
import {
  checkAcknowledgedWrites,
  checkCounters,
  type CounterReport,
  History,
  type HistorySummary,
  type Op,
  type OpInput,
  type OpKind,
  outcomeOf,
  outcomeOfError,
  summarize,
} from "./_history.ts";
import { checkKey, checkLinearizable } from "./_linearizability.ts";

/**
 * How long a paused peer stays paused: past the mesh's failure timeout
 * (SWIM: an unanswered probe, then a suspicion of 4 probe periods — ~5–6 s at
 * this size), so the others drop it and it comes back into a view that moved on.
 */
export const PAUSE_MS = 8_000;

/** How long patient clients wait for an answer: longer than a pause. */
export const PATIENT_MS = PAUSE_MS + 7_000;

/** A fault of the schedule. */
export type FaultKind =
  /** SIGKILL one peer (and its sandboxes), restart it on the same data folder and ports. */
  | "kill"
  /** SIGSTOP one peer and its children for {@linkcode PAUSE_MS}, then SIGCONT. */
  | "pause"
  /** SIGKILL a majority (2 of 3, 3 of 5), then restart them all. */
  | "majority";

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  /** Peers in the mesh. @default {3} */
  peers?: number;
  /** Least time under load, faults included. @default {20_000} */
  durationMs?: number;
  /** Seed of every random choice (clients' operations, victims). @default {1} */
  seed?: number;
  /** The schedule, run one after the other. @default {["kill", "pause", "majority"]} */
  faults?: FaultKind[];
  /** Concurrent clients, each one operation at a time. @default {8} */
  clients?: number;
  /**
   * A call without an answer by then has an unknown outcome. Half of the
   * clients wait this long; the other half wait {@linkcode PATIENT_MS}, past
   * a pause, so a paused peer answers them when it resumes. @default {3_000}
   */
  requestTimeoutMs?: number;
  /** How long a killed peer stays down. @default {2_000} */
  downMs?: number;
  /** Linearizability search steps per key. @default {2_000_000} */
  budget?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Ends the load and the schedule early; peers are still stopped. */
  signal?: AbortSignal;
}

/** What one fault did and how the mesh took it. */
export interface FaultReport {
  kind: FaultKind;
  victims: string[];
  /** Seconds since the load started. */
  at: number;
  /** Per survivor and victim: ms until the victim left the survivor's view; null if never. */
  detection: Array<{ observer: string; victim: string; ms: number | null }>;
  /** For restarts: ms from spawn to the peer's "Ready at". */
  restartMs?: number;
  /** ms from the heal (restart spawned, SIGCONT) until every peer sees every peer; null if never. */
  reconvergeMs: number | null;
  error?: string;
}

/** The report of a run. */
export interface ChaosReport {
  config: Required<Omit<ChaosOptions, "log" | "signal">>;
  /** Seconds under load. */
  loadSeconds: number;
  operations: HistorySummary;
  /** Calls answered for certain 5 s or more after they were sent: held by a paused peer. */
  lateAnswers: number;
  faults: FaultReport[];
  lost: {
    acknowledged: number;
    count: number;
    unreadable: number;
    examples: Array<{ key: string; value: string; got: string }>;
  };
  linearizability: {
    verdict: string;
    keys: number;
    anomalies: Array<{
      key: string;
      ops: number;
      unknownOps: number;
      /**
       * The same check on values only: `ok` when only versions break (a write applied twice under
       * two versions), `anomaly` when values do too (a write lost or brought back over later ones).
       */
      values: string;
      witness: string;
    }>;
    undecided: Array<{ key: string; ops: number; unknownOps: number; steps: number }>;
  };
  counters: CounterReport[];
  /** Processes of ours still alive after the run (must be empty). */
  leftover: number[];
  /** No lost write, no anomaly, every counter within bounds, nothing left running. */
  ok: boolean;
}

/** Longest the final reads of a run may take, all keys together. */
const FINAL_READS_MS = 90_000;
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res) => {
    const t = setTimeout(res, Math.max(0, ms));
    signal?.addEventListener("abort", () => (clearTimeout(t), res()), { once: true });
  });

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The peer ids `url` sees, or undefined when it does not answer in time. */
async function viewAt(url: string): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${url}/v1/peers`, { signal: AbortSignal.timeout(2_000) });
    const body = await res.json() as { peers: Array<{ peerId: string }> };
    return body.peers.map((p) => p.peerId);
  } catch {
    return undefined;
  }
}

const portOf = (addr: string, re: RegExp) => Number(re.exec(addr)?.[1] ?? NaN);

/** One peer of the mesh across kills and restarts. */
interface Slot {
  proc: PeerProcess;
  readonly peerId: string;
  readonly data: string;
  readonly httpPort: number;
  readonly p2pPort: number;
  state: "up" | "down" | "paused";
}

/** The peers of a run: every process started is noted, so none outlives it. */
class Cluster {
  slots: Slot[] = [];
  /** Every process of ours seen so far (peers, their sandboxes), for the final check. */
  readonly #seen: ProcessRef[] = [];

  /** Starts `n` peers joining the first, as `startMesh` does, noting each as soon as it runs. */
  async start(n: number): Promise<void> {
    const first = await this.#slot(await startPeer());
    this.slots = [first];
    const rest = await Promise.allSettled(Array.from({ length: n - 1 }, async () => {
      this.slots.push(await this.#slot(await startPeer({ join: [first.proc.p2p] })));
    }));
    for (const r of rest) if (r.status === "rejected") throw r.reason;
    if (await reconvergence(this, performance.now()) === null) {
      throw new Error(`The ${n} peers did not all see each other`);
    }
  }

  async #slot(p: PeerProcess): Promise<Slot> {
    this.#seen.push(...await p.tree());
    return {
      proc: p,
      peerId: p.peerId,
      data: p.data,
      httpPort: portOf(p.url, /:(\d+)\/?$/),
      p2pPort: portOf(p.p2p, /\/tcp\/(\d+)/),
      state: "up",
    };
  }

  /** SIGKILL for the peer and its sandboxes; its data folder stays for the restart. */
  async kill(s: Slot): Promise<void> {
    this.#seen.push(...await s.proc.tree());
    s.state = "down";
    await s.proc.kill();
  }

  async restart(s: Slot): Promise<void> {
    const others = this.slots.filter((o) => o !== s && o.state !== "down");
    const proc = await startPeer({
      data: s.data,
      p2pPort: s.p2pPort,
      httpPort: s.httpPort,
      join: others.map((o) => o.proc.p2p),
    });
    const slot = await this.#slot(proc);
    if (proc.peerId !== s.peerId) {
      await proc.stop();
      throw new Error(`Restarted peer has a new id: ${proc.peerId}, was ${s.peerId}`);
    }
    Object.assign(s, slot);
  }

  /** SIGSTOP (or SIGCONT) the peer and every process under it. */
  async pause(s: Slot, on: boolean): Promise<void> {
    this.#seen.push(...await s.proc.signal(on ? "SIGSTOP" : "SIGCONT"));
    s.state = on ? "paused" : "up";
  }

  /**
   * Stops every peer (a paused one is resumed to see SIGTERM), removes the data folders, and
   * returns the processes of ours still running.
   */
  async stopAll(): Promise<number[]> {
    for (const s of this.slots) this.#seen.push(...await s.proc.tree());
    await stopAll(this.slots.map((s) => s.proc), { graceMs: 10_000 });
    const leftover: number[] = [];
    for (const p of this.#seen) {
      if (!leftover.includes(p.pid) && await isRunning(p)) leftover.push(p.pid);
    }
    return leftover;
  }
}

/** Key families of the workload. */
const SET = "set/";
const HOT = "hot/";
const CTR = "ctr/";
const HOT_KEYS = 4;
const COUNTERS = 3;

/** One client: its name, its patience and its own random sequence. */
interface Client {
  name: string;
  timeoutMs: number;
  rand: () => number;
  /** Set keys it wrote, to read back now and then. */
  mine: string[];
  seq: number;
  /** Peers that timed out or refused, avoided until then (as a client-side load balancer would). */
  avoid: Map<Slot, number>;
}

/** How long a client avoids a peer that did not answer. */
const AVOID_MS = 5_000;
/** How long a client waits after a 5xx before its next call. */
const BACKOFF_MS = 100;

const kvPath = (key: string) => `/v1/kv/${encodeURIComponent(key)}`;

/** The clients: each loops over random operations on random peers until stopped. */
class Workload {
  readonly history = new History();
  #stopped = false;
  #clients: Promise<void>[] = [];
  readonly #cluster: Cluster;

  constructor(cluster: Cluster) {
    this.#cluster = cluster;
  }

  start(clients: number, seed: number, timeoutMs: number): void {
    this.#clients = Array.from({ length: clients }, (_, c) =>
      this.#run({
        name: `c${c}`,
        timeoutMs: c % 2 ? PATIENT_MS : timeoutMs,
        rand: random(seed * 1000 + c),
        mine: [],
        seq: 0,
        avoid: new Map(),
      }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#clients);
  }

  /** One recorded HTTP call of `c` to a random peer. */
  async call(
    c: Client,
    kind: OpKind,
    key: string,
    input: OpInput,
    path: string,
    init: RequestInit = {},
    slot = this.#pick(c),
  ): Promise<Op> {
    const done = this.history.begin(c.name, kind, key, input, slot.peerId);
    let op: Op;
    try {
      const res = await fetch(`http://127.0.0.1:${slot.httpPort}${path}`, {
        ...init,
        signal: AbortSignal.timeout(c.timeoutMs),
      });
      const outcome = outcomeOf(res, await res.text());
      if (outcome.type === "ok" && kind !== "read") delete outcome.value;
      op = done(outcome);
    } catch (err) {
      op = done(outcomeOfError(err));
    }
    const o = op.outcome;
    if (o.type === "unknown" && o.status === undefined) {
      c.avoid.set(slot, performance.now() + AVOID_MS);
    }
    // A peer that answers 503 at once (no quorum) would otherwise be asked in a tight loop.
    if (o.type === "unknown" && o.status !== undefined) await sleep(BACKOFF_MS);
    return op;
  }

  #pick(c: Client): Slot {
    const now = performance.now();
    const ok = this.#cluster.slots.filter((s) => (c.avoid.get(s) ?? 0) <= now);
    const slots = ok.length ? ok : this.#cluster.slots;
    return slots[Math.floor(c.rand() * slots.length)]!;
  }

  async #run(c: Client): Promise<void> {
    const put = (value: string) => ({ method: "PUT", body: value });
    const hot = () => `${HOT}${Math.floor(c.rand() * HOT_KEYS)}`;
    while (!this.#stopped) {
      const value = `${c.name} ${++c.seq}`;
      const r = c.rand();
      if (r < 0.2) {
        const key = `${SET}${c.name}/${c.seq}`;
        c.mine.push(key);
        await this.call(c, "write", key, { value }, kvPath(key), put(value));
      } else if (r < 0.4) {
        const key = hot();
        await this.call(c, "write", key, { value }, kvPath(key), put(value));
      } else if (r < 0.63) {
        const key = hot();
        await this.call(c, "read", key, {}, kvPath(key));
      } else if (r < 0.66) {
        const key = hot();
        await this.call(c, "delete", key, {}, kvPath(key), { method: "DELETE" });
      } else if (r < 0.71 && c.mine.length) {
        const key = c.mine[Math.floor(c.rand() * c.mine.length)]!;
        await this.call(c, "read", key, {}, kvPath(key));
      } else if (r < 0.86) {
        await this.#increment(c, `${CTR}${Math.floor(c.rand() * COUNTERS)}`);
      } else {
        await this.call(c, "invoke", "hello", {}, `/fn/hello?name=${c.name}`);
      }
    }
  }

  /** GET, then PUT If-Match with the count + 1; again on 412, a few times. */
  async #increment(c: Client, key: string): Promise<void> {
    for (let attempt = 0; attempt < 5 && !this.#stopped; attempt++) {
      const read = await this.call(c, "read", key, {}, kvPath(key));
      const o = read.outcome;
      let count = 0;
      let ifMatch = "0";
      if (o.type === "ok" && o.version) {
        count = parseInt(o.value ?? "", 10);
        ifMatch = o.version;
      } else if (!(o.type === "fail" && o.status === 404)) return;
      const value = `${count + 1} ${c.name} ${++c.seq}`;
      const init = { method: "PUT", body: value, headers: { "if-match": ifMatch } };
      const cas = await this.call(c, "cas", key, { value, ifMatch }, kvPath(key), init);
      if (!(cas.outcome.type === "fail" && cas.outcome.status === 412)) return;
    }
  }

  /** Reads every key once more, as client `final`, retrying until each answer is definite. */
  async finalReads(slots: Slot[], timeoutMs: number): Promise<void> {
    const keys = [
      ...new Set(this.history.ops.filter((o) => o.kind !== "invoke").map((o) => o.key)),
    ];
    const c: Client = {
      name: "final",
      timeoutMs,
      rand: random(0),
      mine: [],
      seq: 0,
      avoid: new Map(),
    };
    let next = 0;
    // Bounded as a whole: with peers that never come back, thousands of keys × 10 tries would
    // run for many minutes. Keys not read by then count as unreadable, and the run fails.
    const deadline = performance.now() + FINAL_READS_MS;
    const worker = async () => {
      for (let k = next++; k < keys.length && performance.now() < deadline; k = next++) {
        for (let attempt = 0; attempt < 10 && performance.now() < deadline; attempt++) {
          const slot = slots[(k + attempt) % slots.length]!;
          const op = await this.call(c, "read", keys[k]!, {}, kvPath(keys[k]!), {}, slot);
          const o = op.outcome;
          if (o.type === "ok" || (o.type === "fail" && o.status === 404)) break;
          await sleep(300);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }
}

/** Per survivor and victim, ms from `since` until the victim left the survivor's view. */
async function detection(
  survivors: Slot[],
  victims: Slot[],
  since: number,
  timeoutMs = 30_000,
): Promise<FaultReport["detection"]> {
  const pairs = survivors.flatMap((s) => victims.map((v) => ({ s, v })));
  return await Promise.all(pairs.map(async ({ s, v }) => {
    while (performance.now() - since < timeoutMs) {
      const view = await viewAt(`http://127.0.0.1:${s.httpPort}`);
      if (view && !view.includes(v.peerId)) {
        return { observer: s.peerId, victim: v.peerId, ms: Math.round(performance.now() - since) };
      }
      await sleep(50);
    }
    return { observer: s.peerId, victim: v.peerId, ms: null };
  }));
}

/** ms from `since` until every peer sees exactly every peer; null after `timeoutMs`. */
async function reconvergence(
  cluster: Cluster,
  since: number,
  timeoutMs = 60_000,
): Promise<number | null> {
  const ids = cluster.slots.map((s) => s.peerId).sort().join();
  while (performance.now() - since < timeoutMs) {
    const views = await Promise.all(
      cluster.slots.map((s) => viewAt(`http://127.0.0.1:${s.httpPort}`)),
    );
    if (views.every((v) => v && [...v].sort().join() === ids)) {
      return Math.round(performance.now() - since);
    }
    await sleep(50);
  }
  return null;
}

/** Runs one fault and measures how the mesh noticed it and healed. */
async function runFault(
  kind: FaultKind,
  cluster: Cluster,
  rand: () => number,
  opts: { downMs: number; start: number; log: (line: string) => void },
): Promise<FaultReport> {
  const shuffled = [...cluster.slots].sort(() => rand() - 0.5);
  const victims = shuffled.slice(
    0,
    kind === "majority" ? Math.floor(cluster.slots.length / 2) + 1 : 1,
  );
  const survivors = cluster.slots.filter((s) => !victims.includes(s));
  const at = performance.now();
  const report: FaultReport = {
    kind,
    victims: victims.map((v) => v.peerId),
    at: Math.round((at - opts.start) / 100) / 10,
    detection: [],
    reconvergeMs: null,
  };
  const short = (id: string) => id.slice(-6);
  opts.log(`${report.at}s ${kind}: ${report.victims.map(short).join(", ")}`);
  try {
    if (kind === "pause") {
      await cluster.pause(victims[0]!, true);
      report.detection = await detection(survivors, victims, at);
      await sleep(Math.max(0, PAUSE_MS - (performance.now() - at)));
      const healed = performance.now();
      await cluster.pause(victims[0]!, false);
      report.reconvergeMs = await reconvergence(cluster, healed);
    } else {
      await Promise.all(victims.map((v) => cluster.kill(v)));
      report.detection = await detection(survivors, victims, at);
      await sleep(Math.max(0, opts.downMs - (performance.now() - at)));
      const healed = performance.now();
      await Promise.all(victims.map((v) => cluster.restart(v)));
      report.restartMs = Math.round(performance.now() - healed);
      report.reconvergeMs = await reconvergence(cluster, healed);
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    // Whatever failed, leave every peer running for the rest of the run.
    for (const v of victims) {
      if (v.state === "paused") await cluster.pause(v, false).catch(() => {});
      if (v.state === "down") await cluster.restart(v).catch(() => {});
    }
  }
  const seen = report.detection.map((d) => d.ms === null ? "never" : `${d.ms} ms`).join(", ");
  opts.log(
    `  noticed after ${seen}; ${
      report.restartMs !== undefined ? `restarted in ${report.restartMs} ms, ` : ""
    }` +
      `reconverged after ${report.reconvergeMs ?? "never"} ms${
        report.error ? `; error: ${report.error}` : ""
      }`,
  );
  return report;
}

/**
 * Starts a mesh, runs the load and the fault schedule, checks the history and
 * stops every process it started, whatever happens.
 */
export async function runChaos(
  options: ChaosOptions = {},
): Promise<{ report: ChaosReport; history: readonly Op[] }> {
  const config = {
    peers: options.peers ?? 3,
    durationMs: options.durationMs ?? 20_000,
    seed: options.seed ?? 1,
    faults: options.faults ?? ["kill", "pause", "majority"] as FaultKind[],
    clients: options.clients ?? 8,
    requestTimeoutMs: options.requestTimeoutMs ?? 3_000,
    downMs: options.downMs ?? 2_000,
    budget: options.budget ?? 2_000_000,
  };
  const log = options.log ?? (() => {});
  const signal = options.signal;
  const rand = random(config.seed);
  const cluster = new Cluster();
  const workload = new Workload(cluster);
  const faults: FaultReport[] = [];
  let leftover: number[] = [];
  let loadSeconds = 0;
  try {
    log(`starting ${config.peers} peers`);
    await cluster.start(config.peers);
    await deploy(cluster.slots[0]!.proc, "hello", "hello");
    await waitFor("hello on every peer", async () => {
      const res = await Promise.all(
        cluster.slots.map((s) => fetch(`${s.proc.url}/v1/functions/hello`)),
      );
      await Promise.all(res.map((r) => r.body?.cancel()));
      return res.every((r) => r.ok);
    }, 60_000);
    const start = performance.now();
    workload.start(config.clients, config.seed, config.requestTimeoutMs);
    log(`load: ${config.clients} clients`);
    await sleep(2_000, signal);
    for (const kind of config.faults) {
      if (signal?.aborted) break;
      faults.push(await runFault(kind, cluster, rand, { downMs: config.downMs, start, log }));
      await sleep(1_500, signal);
    }
    await sleep(config.durationMs - (performance.now() - start), signal);
    await workload.stop();
    loadSeconds = Math.round((performance.now() - start) / 100) / 10;
    log(
      `load stopped after ${loadSeconds}s, ${workload.history.ops.length} operations; final reads`,
    );
    await reconvergence(cluster, performance.now());
    await workload.finalReads(cluster.slots, config.requestTimeoutMs);
  } finally {
    await workload.stop();
    leftover = await cluster.stopAll();
  }
  log("checking the history");
  const history = workload.history.ops;
  return { report: buildReport(config, history, faults, leftover, loadSeconds), history };
}

function buildReport(
  config: ChaosReport["config"],
  ops: readonly Op[],
  faults: FaultReport[],
  leftover: number[],
  loadSeconds: number,
): ChaosReport {
  const durable = checkAcknowledgedWrites(ops, (k) => k.startsWith(SET));
  const lin = checkLinearizable(ops, { budget: config.budget });
  const counters = checkCounters(ops, (k) => k.startsWith(CTR), (v) => parseInt(v, 10));
  const report: ChaosReport = {
    config,
    loadSeconds,
    operations: summarize(ops),
    lateAnswers:
      ops.filter((o) => o.outcome.type !== "unknown" && o.ret - o.invoke >= 5_000).length,
    faults,
    lost: {
      acknowledged: durable.acknowledged,
      count: durable.lost.length,
      unreadable: durable.unreadable.length,
      examples: durable.lost.slice(0, 10),
    },
    linearizability: {
      verdict: lin.verdict,
      keys: lin.keys,
      anomalies: lin.anomalies.map((a) => ({
        key: a.key,
        ops: a.ops,
        unknownOps: a.unknownOps,
        values: checkKey(a.key, ops.filter((o) => o.key === a.key), {
          budget: config.budget,
          ignoreVersions: true,
        }).verdict,
        witness: a.witness ?? "",
      })),
      undecided: lin.undecided.map((u) => ({
        key: u.key,
        ops: u.ops,
        unknownOps: u.unknownOps,
        steps: u.steps,
      })),
    },
    counters,
    leftover,
    ok: false,
  };
  report.ok = durable.lost.length === 0 && durable.unreadable.length === 0 &&
    lin.anomalies.length === 0 && counters.every((c) => c.ok) && leftover.length === 0 &&
    faults.every((f) => !f.error);
  return report;
}

/** The report as a few readable lines. */
export function formatReport(r: ChaosReport): string {
  const o = r.operations;
  const causes = (m: Record<string, number>) =>
    Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${v}`).join(", ") ||
    "none";
  const unknown = Object.values(o.unknown).reduce((a, b) => a + b, 0);
  const failed = Object.values(o.failed).reduce((a, b) => a + b, 0);
  const lines = [
    `chaos: ${r.config.peers} peers, seed ${r.config.seed}, ${r.loadSeconds}s of load, ` +
    `${r.config.clients} clients — ${r.ok ? "OK" : "PROBLEMS FOUND"}`,
    `operations: ${o.attempted} attempted, ${o.acknowledged} acknowledged, ${failed} failed, ${unknown} unknown`,
    `  failed: ${causes(o.failed)}`,
    `  answered 5 s or more after sent: ${r.lateAnswers}`,
    `  unknown: ${causes(o.unknown)}`,
    ...Object.entries(o.byKind).map(([k, v]) =>
      `  ${k}: ${v.attempted} attempted, ${v.acknowledged} ok, ${v.failed} failed, ${v.unknown} unknown`
    ),
    `faults:`,
    ...r.faults.map((f) => {
      const ms = f.detection.map((d) => d.ms ?? "never");
      return `  ${f.at}s ${f.kind} ${f.victims.map((v) => v.slice(-6)).join(",")}: noticed after ` +
        `[${ms.join(", ")}] ms, ${f.restartMs !== undefined ? `restart ${f.restartMs} ms, ` : ""}` +
        `reconverged after ${f.reconvergeMs ?? "never"} ms${f.error ? ` (error: ${f.error})` : ""}`;
    }),
    `lost acknowledged writes: ${r.lost.count} of ${r.lost.acknowledged}` +
    (r.lost.unreadable ? ` (${r.lost.unreadable} unreadable at the end)` : ""),
    ...r.lost.examples.slice(0, 3).map((l) =>
      `  ${l.key}: wrote ${JSON.stringify(l.value)}, read ${l.got}`
    ),
    `linearizability: ${r.linearizability.verdict} — ${r.linearizability.anomalies.length} of ` +
    `${r.linearizability.keys} keys with anomalies, ${r.linearizability.undecided.length} undecided`,
    ...r.linearizability.anomalies.map((a) =>
      `  ${a.key} (${a.ops} ops, ${a.unknownOps} unknown; ${
        a.values === "ok" ? "versions only, values linearizable" : `values: ${a.values}`
      }): ${a.witness}`
    ),
    `counters: ${
      r.counters.map((c) =>
        `${c.key} ${c.acknowledged} ≤ ${c.final ?? "?"} ≤ ${c.acknowledged + c.unknown}${
          c.ok ? "" : " ✗"
        }`
      )
        .join("; ")
    }`,
  ];
  if (r.leftover.length) lines.push(`left running: ${r.leftover.join(", ")}`);
  return lines.join("\n");
}
