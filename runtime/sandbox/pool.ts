/**
 * The sandbox pool: which process serves which function version, spares kept warm, scaling,
 * admission (per-process limits, a per-peer cap and a queue bounded by the time calls wait in
 * it), draining on retire, idle retirement and the memory watchdog.
 *
 * @module
 */
import { DEFAULT_PROFILE, type Profile, profileKey } from "./_flags.ts";
import { childDenoDir, type ProcessInit, SandboxProcess } from "./_process.ts";
import { childProgram } from "./_child_program.ts";
import { startWatchdog } from "./_watchdog.ts";
import { type ProcessMemory, processMemory } from "./memory.ts";
import { loggable } from "./_calls.ts";
import { type Group, Queue } from "./_queue.ts";
import {
  DEFAULT_IDLE_MS,
  DEFAULT_MEMORY_MB,
  DEFAULT_SPARES,
  DEFAULT_TIMEOUT_MS,
  defaultMaxWarm,
  IDLE_SWEEP_MS,
  LOAD_TIMEOUT_MS,
  SCALE_BUSY_MS,
  SPARE_REFILL_DELAY_MS,
  STOP_GRACE_MS,
} from "./constants.ts";
import { SandboxError } from "./errors.ts";
import type {
  CallRequest,
  FunctionSpec,
  InvokeOptions,
  SandboxInit,
  SandboxPool,
  SandboxStats,
} from "./types.ts";

const DEFAULT_KEY = profileKey(DEFAULT_PROFILE);

/** Versions remembered as retired, so a late call to one does not keep a process alive. */
const RETIRED_MEMORY = 256;

function profileOf(spec: FunctionSpec): Profile {
  const p: Profile = { memoryMb: spec.memoryMb || DEFAULT_MEMORY_MB };
  if (spec.allowNet !== undefined) p.allowNet = spec.allowNet;
  if (spec.allowLoopback) p.allowLoopback = true;
  if (spec.allowPrivate) p.allowPrivate = true;
  return p;
}

/**
 * Creates a pool that runs each function version in its own Deno process.
 *
 * Why processes: a memory bomb in a Worker kills the whole host (measured: a fatal V8
 * out-of-memory ends the process); a child process
 * dies alone, and its permissions and memory are capped by the OS and Deno flags.
 *
 * Under overload, calls beyond what the processes can run wait in a queue, and a call that would
 * wait longer than `queueWaitMs` is refused at once with `OVERLOADED` (with a retry delay); a
 * queued call's timeout runs from its arrival.
 *
 * @example
 * ```ts
 * const pool = createSandboxPool({ peerId, logger, kv: (ns, op) => kvPool.run(ns, op), denyNet: ["127.0.0.1:8080"] });
 * await pool.start();
 * await pool.load(spec);                        // INVALID_BUNDLE if the code does not load
 * const res = await pool.invoke(spec, new Request("http://fn/hello"), { requestId: "r1" });
 * pool.retire(spec.version);                    // redeploy: drain, then end
 * await pool.stop();
 * ```
 */
export function createSandboxPool(init: SandboxInit): SandboxPool {
  const spareTarget = init.spares ?? DEFAULT_SPARES;
  const idleMs = init.idleMs ?? DEFAULT_IDLE_MS;
  const maxWarm = init.maxWarm ?? defaultMaxWarm();
  const maxInstances = Math.max(1, init.maxInstances ?? navigator.hardwareConcurrency ?? 1);
  const loadTimeoutMs = init.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
  const stopGraceMs = init.stopGraceMs ?? STOP_GRACE_MS;
  const spares: SandboxProcess[] = [];
  const groups = new Map<string, Group>();
  const retired = new Set<string>();
  const all = new Set<SandboxProcess>();
  const refills = new Set<ReturnType<typeof setTimeout>>();
  let sparesStarting = 0;
  let running = false;
  let stopping: Promise<void> | undefined;
  let drained: (() => void) | undefined;
  let stopWatchdog: (() => void) | undefined;
  let sweep: ReturnType<typeof setInterval> | undefined;
  let program = "";

  const runningCalls = (): number => {
    let n = 0;
    for (const p of all) n += p.inflight;
    return n;
  };

  const queue = new Queue({
    maxInflight: init.maxInflight,
    maxConcurrency: init.maxConcurrency,
    queueWaitMs: init.queueWaitMs,
    maxQueued: init.maxQueued,
    peerInflight: runningCalls,
    needProcess: (g) => maybeGrow(g),
  });

  const procInit = (profile: Profile): ProcessInit => ({
    program,
    profile,
    denyNet: init.denyNet,
    peerId: init.peerId,
    logger: init.logger,
    onLog: init.onLog,
    kv: init.kv,
    maxResponseBytes: init.maxResponseBytes ?? Infinity,
    onExit(p) {
      all.delete(p);
      const i = spares.indexOf(p);
      if (i >= 0) spares.splice(i, 1);
      const g = p.spec && groups.get(p.spec.version);
      if (g) {
        g.procs = g.procs.filter((q) => q !== p);
        if (g.waiting.length > 0) queue.pump(g); // may start a replacement
        settle(g);
      }
      if (!running) checkDrained();
    },
    onIdle(p) {
      if (!running) {
        if (p.inflight === 0) p.kill("SANDBOX_STOPPED", "Sandbox pool stopped", true);
        return checkDrained();
      }
      const g = p.spec && groups.get(p.spec.version);
      if (g) {
        queue.ended(g);
        settle(g);
      }
      queue.pumpAll();
    },
  });

  const checkDrained = () => {
    if (drained && [...all].every((p) => p.inflight === 0)) drained();
  };

  const spawn = async (
    profile: Profile,
    load?: { spec: FunctionSpec; timeoutMs: number },
  ): Promise<SandboxProcess> => {
    const p = await SandboxProcess.start(procInit(profile), load);
    all.add(p);
    if (!running) p.kill("SANDBOX_STOPPED", "Sandbox pool stopped", true);
    return p;
  };

  const fillSpares = (): Promise<void> => {
    const started: Promise<void>[] = [];
    while (running && spares.length + sparesStarting < spareTarget) {
      sparesStarting++;
      started.push(
        spawn(DEFAULT_PROFILE).then(
          (p) => {
            if (p.alive) spares.push(p);
          },
          (e) => init.logger.warn({ err: String(e) }, "Could not start a spare sandbox"),
        ).finally(() => sparesStarting--),
      );
    }
    return Promise.all(started).then(() => {});
  };

  /** A process with `spec` loaded: a warm spare when the profile fits, else a fresh one. */
  const startFor = async (spec: FunctionSpec): Promise<SandboxProcess> => {
    const profile = profileOf(spec);
    const timeoutMs = Math.max(loadTimeoutMs, spec.timeoutMs || DEFAULT_TIMEOUT_MS);
    const p = profileKey(profile) === DEFAULT_KEY ? spares.shift() : undefined;
    // No spare: a process started for this function, loaded as it starts.
    if (!p) return await spawn(profile, { spec, timeoutMs });
    const t = setTimeout(() => {
      refills.delete(t);
      fillSpares();
    }, SPARE_REFILL_DELAY_MS);
    Deno.unrefTimer(t as unknown as number);
    refills.add(t);
    try {
      await p.load(spec, timeoutMs);
    } catch (e) {
      p.close(); // the failed module may have run top-level code: never reuse this process
      throw e;
    }
    return p;
  };

  const grow = (g: Group): Promise<SandboxProcess> => {
    g.starting ??= startFor(g.spec).then(
      (p) => {
        if (running && groups.get(g.spec.version) === g) {
          g.procs.push(p);
          trimWarm(p);
          queue.pump(g);
          settle(g); // superseded while it loaded: ended at once unless calls wait for it
        } else p.close();
        return p;
      },
      (err) => {
        // Nothing left to run the waiting calls on: they fail as the start did.
        if (!g.procs.some((p) => p.alive)) queue.failAll(g, err);
        throw err;
      },
    ).finally(() => g.starting = undefined);
    return g.starting;
  };

  /** Ends idle function processes, least recently used first, while more than `maxWarm` run. */
  const trimWarm = (keep: SandboxProcess): void => {
    let count = 0;
    const idle: Array<[Group, SandboxProcess]> = [];
    for (const g of groups.values()) {
      count += g.procs.length;
      for (const p of g.procs) if (p !== keep && p.inflight === 0) idle.push([g, p]);
    }
    if (count <= maxWarm) return;
    idle.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [g, p] of idle.slice(0, count - maxWarm)) {
      p.close();
      g.procs = g.procs.filter((q) => q !== p);
    }
  };

  /** Starts a process for `g` when calls wait and none can take them. */
  const maybeGrow = (g: Group): void => {
    if (!running || g.starting || g.waiting.length === 0) return;
    const serving = g.procs.filter((p) => p.healthy).length;
    const head = g.waiting[0]!;
    if (
      serving === 0 ||
      (serving < maxInstances && performance.now() - head.arrived > SCALE_BUSY_MS &&
        queue.peerHasRoom())
    ) {
      grow(g).catch(() => {}); // failures reach the waiting calls
    }
  };

  /** A retired version's processes end once no call runs on them or waits for them. */
  const settle = (g: Group): void => {
    if (!g.retired) return;
    if (g.waiting.length === 0) {
      for (const p of g.procs) if (p.inflight === 0) p.close();
      g.procs = g.procs.filter((p) => p.inflight > 0);
    }
    if (g.procs.length === 0 && !g.starting && g.waiting.length === 0) {
      groups.delete(g.spec.version);
    }
  };

  const groupOf = (spec: FunctionSpec): Group => {
    let g = groups.get(spec.version);
    if (!g) {
      g = queue.group(spec);
      // A call that looked the version up just before it was replaced: served, then ended.
      g.retired = retired.has(spec.version);
      groups.set(spec.version, g);
    }
    return g;
  };

  const checkRunning = () => {
    if (!running) {
      throw new SandboxError("SANDBOX_STOPPED", "Sandbox pool is not running", { refused: true });
    }
  };

  return {
    async start() {
      if (running) return;
      program ||= await childProgram(childDenoDir());
      if (running) return;
      running = true;
      stopping = undefined;
      stopWatchdog = startWatchdog(
        () => all,
        (w) => (w as SandboxProcess).spec?.memoryMb ?? DEFAULT_MEMORY_MB,
      );
      sweep = setInterval(() => {
        const now = performance.now();
        for (const [version, g] of groups) {
          for (const p of g.procs) {
            if (p.inflight === 0 && now - p.lastUsed > idleMs) p.close();
          }
          g.procs = g.procs.filter((p) => !(p.inflight === 0 && now - p.lastUsed > idleMs));
          if (g.procs.length === 0 && !g.starting && g.waiting.length === 0) groups.delete(version);
        }
      }, Math.min(idleMs, IDLE_SWEEP_MS));
      Deno.unrefTimer(sweep as unknown as number);
      await fillSpares();
    },

    stop() {
      stopping ??= (async () => {
        running = false;
        stopWatchdog?.();
        clearInterval(sweep);
        for (const t of refills) clearTimeout(t);
        refills.clear();
        // Queued calls never ran: refused, so their callers can go elsewhere.
        for (const g of groups.values()) {
          queue.failAll(
            g,
            new SandboxError("SANDBOX_STOPPED", "Sandbox pool stopped", { refused: true }),
          );
        }
        // Calls already running may finish, within a grace; idle processes end now.
        const idle = Promise.withResolvers<void>();
        drained = idle.resolve;
        for (const p of all) if (p.inflight === 0) p.kill("SANDBOX_STOPPED", "", true);
        checkDrained();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise((r) => timer = setTimeout(r, stopGraceMs));
        await Promise.race([idle.promise, grace]);
        clearTimeout(timer);
        drained = undefined;
        const procs = [...all];
        for (const p of procs) p.kill("SANDBOX_STOPPED", "Sandbox pool stopped", true);
        groups.clear();
        spares.length = 0;
        await Promise.all(procs.map((p) => p.exited));
      })();
      return stopping;
    },

    async load(spec) {
      checkRunning();
      // Loaded again (a rollback to it): current once more.
      retired.delete(spec.version);
      const g = groupOf(spec);
      g.retired = false;
      if (!g.procs.some((p) => p.healthy)) await grow(g);
    },

    // deno-lint-ignore no-explicit-any -- one body for both overloads of SandboxPool.invoke
    invoke(spec: FunctionSpec, req: CallRequest, opts: InvokeOptions): Promise<any> {
      try {
        checkRunning();
      } catch (e) {
        return Promise.reject(e);
      }
      const call = queue.invoke(groupOf(spec), req, opts, spec.timeoutMs || DEFAULT_TIMEOUT_MS);
      const onLog = init.onLog;
      if (!onLog) return call;
      return call.catch((err) => {
        // Failures no process told the log of: a timeout in the queue, a process that did not start.
        if (loggable(err)) {
          onLog({
            fn: spec.name,
            version: spec.version,
            level: "error",
            source: "runtime",
            requestId: opts.requestId,
            msg: `${err.code}: ${err.message}`,
          });
        }
        throw err;
      });
    },

    retire(version) {
      retired.add(version);
      if (retired.size > RETIRED_MEMORY) retired.delete(retired.values().next().value!);
      const g = groups.get(version);
      if (!g) return;
      g.retired = true;
      settle(g);
    },

    revive(version) {
      retired.delete(version);
      const g = groups.get(version);
      if (g) g.retired = false;
    },

    inflight: runningCalls,

    queued: () => queue.waiting,

    stats(): SandboxStats {
      let processes = 0;
      for (const g of groups.values()) processes += g.procs.length;
      const detail = [...all].map((p) => {
        const d = { pid: p.pid, inflight: p.inflight, rssBytes: p.rss };
        if (!p.spec) return d;
        const limit = groups.get(p.spec.version)?.limit.value;
        const fn = `${p.spec.name}@${p.spec.version}`;
        return limit === undefined ? { ...d, fn } : { ...d, fn, limit };
      });
      return {
        processes,
        spares: spares.length,
        inflight: runningCalls(),
        queued: queue.waiting,
        detail,
      };
    },

    async memoryStats(this: SandboxPool): Promise<SandboxStats> {
      const s = this.stats();
      const sum: ProcessMemory = { rssBytes: 0, pssBytes: 0, ussBytes: 0 };
      s.detail = await Promise.all((s.detail ?? []).map(async (d) => {
        const m = await processMemory(d.pid);
        if (!m) return d;
        sum.rssBytes += m.rssBytes;
        sum.pssBytes += m.pssBytes;
        sum.ussBytes += m.ussBytes;
        return { ...d, ...m };
      }));
      s.memory = sum;
      return s;
    },
  };
}
