/**
 * The sandbox pool: which process serves which function version, spares kept warm, scaling,
 * draining on retire, idle retirement and the memory watchdog.
 *
 * @module
 */
import { DEFAULT_PROFILE, type Profile, profileKey } from "./_flags.ts";
import { type ProcessInit, SandboxProcess } from "./_process.ts";
import { startWatchdog } from "./_watchdog.ts";
import {
  DEFAULT_IDLE_MS,
  DEFAULT_MEMORY_MB,
  DEFAULT_SPARES,
  DEFAULT_TIMEOUT_MS,
  IDLE_SWEEP_MS,
  SCALE_BUSY_MS,
  SCALE_INFLIGHT,
  SPARE_REFILL_DELAY_MS,
} from "./constants.ts";
import { SandboxError } from "./errors.ts";
import type { FunctionSpec, SandboxInit, SandboxPool, SandboxStats } from "./types.ts";

interface Group {
  spec: FunctionSpec;
  procs: SandboxProcess[];
  starting: Promise<SandboxProcess> | undefined;
}

const DEFAULT_KEY = profileKey(DEFAULT_PROFILE);

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
 * Why processes: a memory bomb in a Worker kills the whole host (MEASURED.md); a child process
 * dies alone, and its permissions and memory are capped by the OS and Deno flags.
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
  const maxInstances = Math.max(1, init.maxInstances ?? navigator.hardwareConcurrency ?? 1);
  const spares: SandboxProcess[] = [];
  const groups = new Map<string, Group>();
  const retiring = new Set<SandboxProcess>();
  const all = new Set<SandboxProcess>();
  const refills = new Set<ReturnType<typeof setTimeout>>();
  let sparesStarting = 0;
  let running = false;
  let stopWatchdog: (() => void) | undefined;
  let sweep: ReturnType<typeof setInterval> | undefined;

  const procInit = (profile: Profile): ProcessInit => ({
    profile,
    denyNet: init.denyNet,
    peerId: init.peerId,
    logger: init.logger,
    kv: init.kv,
    maxResponseBytes: init.maxResponseBytes ?? Infinity,
    onExit(p) {
      all.delete(p);
      retiring.delete(p);
      const i = spares.indexOf(p);
      if (i >= 0) spares.splice(i, 1);
      const g = p.spec && groups.get(p.spec.version);
      if (g) g.procs = g.procs.filter((q) => q !== p);
    },
  });

  const spawn = async (profile: Profile): Promise<SandboxProcess> => {
    const p = await SandboxProcess.start(procInit(profile));
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
    let p = profileKey(profile) === DEFAULT_KEY ? spares.shift() : undefined;
    if (p) {
      const t = setTimeout(() => {
        refills.delete(t);
        fillSpares();
      }, SPARE_REFILL_DELAY_MS);
      Deno.unrefTimer(t as unknown as number);
      refills.add(t);
    } else p = await spawn(profile);
    try {
      await p.load(spec);
    } catch (e) {
      p.close(); // the failed module may have run top-level code: never reuse this process
      throw e;
    }
    return p;
  };

  const grow = (g: Group): Promise<SandboxProcess> => {
    g.starting ??= startFor(g.spec).then((p) => {
      if (groups.get(g.spec.version) === g && running) g.procs.push(p);
      else p.close();
      return p;
    }).finally(() => g.starting = undefined);
    return g.starting;
  };

  const groupOf = (spec: FunctionSpec): Group => {
    let g = groups.get(spec.version);
    if (!g) groups.set(spec.version, g = { spec, procs: [], starting: undefined });
    return g;
  };

  const pick = (g: Group): SandboxProcess | undefined => {
    let best: SandboxProcess | undefined;
    for (const p of g.procs) if (p.healthy && (!best || p.inflight < best.inflight)) best = p;
    return best;
  };

  const checkRunning = () => {
    if (!running) throw new SandboxError("SANDBOX_STOPPED", "Sandbox pool is not running");
  };

  return {
    async start() {
      if (running) return;
      running = true;
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
          if (g.procs.length === 0 && !g.starting) groups.delete(version);
        }
      }, Math.min(idleMs, IDLE_SWEEP_MS));
      Deno.unrefTimer(sweep as unknown as number);
      await fillSpares();
    },

    async stop() {
      running = false;
      stopWatchdog?.();
      clearInterval(sweep);
      for (const t of refills) clearTimeout(t);
      refills.clear();
      const procs = [...all];
      for (const p of procs) p.kill("SANDBOX_STOPPED", "Sandbox pool stopped", true);
      groups.clear();
      spares.length = 0;
      await Promise.all(procs.map((p) => p.exited));
    },

    async load(spec) {
      checkRunning();
      const g = groupOf(spec);
      if (!pick(g)) await grow(g);
    },

    async invoke(spec, req, opts) {
      checkRunning();
      const g = groupOf(spec);
      let p = pick(g);
      if (!p) p = await grow(g);
      else if (
        p.inflight >= SCALE_INFLIGHT && g.procs.length < maxInstances &&
        performance.now() - p.lastFrameAt > SCALE_BUSY_MS
      ) {
        grow(g).catch(() => {}); // CPU-bound and queueing: add a process for later calls
      }
      return p.call(req, opts, spec.timeoutMs || DEFAULT_TIMEOUT_MS);
    },

    retire(version) {
      const g = groups.get(version);
      if (!g) return;
      groups.delete(version);
      for (const p of g.procs) {
        p.draining = true;
        if (p.inflight === 0) p.close();
        else retiring.add(p);
      }
    },

    inflight() {
      let n = 0;
      for (const g of groups.values()) for (const p of g.procs) n += p.inflight;
      for (const p of retiring) n += p.inflight;
      return n;
    },

    stats(): SandboxStats {
      let processes = 0;
      let inflight = 0;
      for (const g of groups.values()) {
        processes += g.procs.length;
        for (const p of g.procs) inflight += p.inflight;
      }
      for (const p of retiring) inflight += p.inflight;
      const detail = [...all].map((p) => {
        const d = { pid: p.pid, inflight: p.inflight, rssBytes: p.rss };
        return p.spec ? { ...d, fn: `${p.spec.name}@${p.spec.version}` } : d;
      });
      return { processes: processes + retiring.size, spares: spares.length, inflight, detail };
    },
  };
}
