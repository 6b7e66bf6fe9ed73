/**
 * Admission of calls to a version's processes: each process runs at most its learned limit of
 * calls (`_limit.ts`), the whole peer at most `maxInflight`, and the rest wait in a FIFO queue per
 * version. The queue is bounded by the time calls wait in it, not by its length (CoDel): a call
 * that would wait longer than `queueWaitMs` — the queue's head has already waited that long, or
 * the calls ahead would take that long to drain at the measured rate — is refused at once with
 * `OVERLOADED` and a retry delay, having cost nothing. A queued call's timeout runs from its
 * arrival, and one that runs out while queued is dropped without ever reaching a process.
 *
 * @module
 */
import { ConcurrencyLimit } from "./_limit.ts";
import type { SandboxProcess } from "./_process.ts";
import {
  DRAIN_EWMA,
  PEER_MAX_INFLIGHT,
  PROCESS_LIMIT_MAX,
  QUEUE_MAX,
  QUEUE_WAIT_MAX_MS,
  RETRY_AFTER_MIN_S,
} from "./constants.ts";
import { SandboxError } from "./errors.ts";
import type { CallRequest, CallResult, FunctionSpec, InvokeOptions } from "./types.ts";

/** One call waiting for a process. */
export interface Waiter {
  readonly req: CallRequest;
  readonly opts: InvokeOptions;
  /** performance.now() when it joined the queue. */
  readonly arrived: number;
  /** performance.now() by which it must have finished: its timeout from its arrival. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: (r: CallResult) => void;
  readonly reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: (() => void) | undefined;
}

/** The processes of one function version and the calls waiting for them. */
export interface Group {
  readonly spec: FunctionSpec;
  procs: SandboxProcess[];
  starting: Promise<SandboxProcess> | undefined;
  /** FIFO. */
  waiting: Waiter[];
  /** Calls one process of this version may run at once. */
  readonly limit: ConcurrencyLimit;
  /** Replaced by a newer version: its processes end once no call needs them. */
  retired: boolean;
  /** Smoothed time between two call ends while calls waited, in ms (0 before any). */
  drainMs: number;
  /** When the last call ended with calls waiting, or -1. */
  lastEnd: number;
}

/** What the queue is built from. */
export interface QueueInit {
  /** @default {PEER_MAX_INFLIGHT} */
  maxInflight?: number | undefined;
  /** Upper bound of the per-process limit. @default {PROCESS_LIMIT_MAX} */
  maxConcurrency?: number | undefined;
  /** @default {QUEUE_WAIT_MAX_MS} */
  queueWaitMs?: number | undefined;
  /** @default {QUEUE_MAX} */
  maxQueued?: number | undefined;
  /** Calls running in all of the peer's processes now. */
  peerInflight: () => number;
  /** Calls of `g` wait: start a process if that would help. */
  needProcess: (g: Group) => void;
}

/**
 * The peer's call queues.
 *
 * @example
 * ```ts
 * const queue = new Queue({ peerInflight: () => 0, needProcess: (g) => grow(g) });
 * const g = queue.group(spec);
 * const res = await queue.invoke(g, req, { requestId: "r1" }, spec.timeoutMs);
 * ```
 */
export class Queue {
  /** Calls waiting in all queues. */
  waiting = 0;
  readonly #busy = new Set<Group>();
  readonly #init: QueueInit;
  readonly #maxInflight: number;
  readonly #maxQueued: number;
  readonly #waitMs: number;

  constructor(init: QueueInit) {
    this.#init = init;
    this.#maxInflight = Math.max(1, init.maxInflight ?? PEER_MAX_INFLIGHT);
    this.#maxQueued = Math.max(0, init.maxQueued ?? QUEUE_MAX);
    this.#waitMs = init.queueWaitMs ?? QUEUE_WAIT_MAX_MS;
  }

  /** A new, empty group for `spec`. */
  group(spec: FunctionSpec): Group {
    return {
      spec,
      procs: [],
      starting: undefined,
      waiting: [],
      limit: new ConcurrencyLimit(this.#init.maxConcurrency ?? PROCESS_LIMIT_MAX),
      retired: false,
      drainMs: 0,
      lastEnd: -1,
    };
  }

  /** Whether the peer-wide cap leaves room for one more running call. */
  peerHasRoom(): boolean {
    return this.#init.peerInflight() < this.#maxInflight;
  }

  /** Runs the call now, queues it, or refuses it with `OVERLOADED`. */
  invoke(g: Group, req: CallRequest, opts: InvokeOptions, timeoutMs: number): Promise<CallResult> {
    const now = performance.now();
    const deadline = (opts.arrivedAt ?? now) + timeoutMs;
    if (deadline - now < 1) return Promise.reject(this.#late(timeoutMs));
    if (g.waiting.length === 0) {
      const p = this.#free(g) ?? this.#grown(g);
      if (p) return this.#run(g, p, req, opts, timeoutMs, deadline);
    }
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    const retryAfter = this.#refusal(g, now, timeoutMs);
    if (retryAfter > 0) {
      return Promise.reject(
        new SandboxError(
          "OVERLOADED",
          `Too many calls to ${g.spec.name}: this peer cannot start more within ${
            Math.round(this.#bound(timeoutMs))
          } ms; retry in ${retryAfter} s`,
          { refused: true, retryAfter },
        ),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<CallResult>();
    const w: Waiter = {
      req,
      opts,
      arrived: now,
      deadline,
      timeoutMs,
      resolve,
      reject,
      timer: undefined,
      onAbort: undefined,
    };
    w.timer = setTimeout(() => this.#drop(g, w, this.#late(timeoutMs)), deadline - now);
    const signal = opts.signal;
    if (signal) {
      w.onAbort = () => this.#drop(g, w, signal.reason);
      signal.addEventListener("abort", w.onAbort, { once: true });
    }
    g.waiting.push(w);
    this.waiting++;
    this.#busy.add(g);
    this.#init.needProcess(g);
    return promise;
  }

  /** Hands waiting calls of `g` to its processes while they have room. */
  pump(g: Group): void {
    while (g.waiting.length > 0) {
      const p = this.#free(g) ?? this.#grown(g);
      if (!p) break;
      const w = g.waiting.shift()!;
      this.#leave(w);
      const remaining = w.deadline - performance.now();
      if (remaining < 1) {
        w.reject(this.#late(w.timeoutMs));
        continue;
      }
      this.#run(g, p, w.req, w.opts, w.timeoutMs, w.deadline).then(w.resolve, w.reject);
    }
    if (g.waiting.length === 0) this.#busy.delete(g);
    else this.#init.needProcess(g);
  }

  /**
   * Pumps every queue: a call ended somewhere, which may have freed room under the peer cap.
   * Runs on every call end, so no copy of the set: `pump` only deletes the group it pumps, which
   * a Set's iteration allows.
   */
  pumpAll(): void {
    for (const g of this.#busy) this.pump(g);
  }

  /** A call of `g` ended: measures how fast its queue drains. */
  ended(g: Group): void {
    if (g.waiting.length === 0) {
      g.lastEnd = -1;
      return;
    }
    const now = performance.now();
    if (g.lastEnd >= 0) {
      const dt = now - g.lastEnd;
      g.drainMs = g.drainMs === 0 ? dt : g.drainMs + DRAIN_EWMA * (dt - g.drainMs);
    }
    g.lastEnd = now;
  }

  /** Fails every waiting call of `g` with `err`. */
  failAll(g: Group, err: unknown): void {
    const ws = g.waiting;
    g.waiting = [];
    this.#busy.delete(g);
    for (const w of ws) {
      this.#leave(w);
      w.reject(err);
    }
  }

  /** The error of a call whose timeout ran out before it reached a process. */
  #late(timeoutMs: number): SandboxError {
    return new SandboxError(
      "FUNCTION_TIMEOUT",
      `Function exceeded its ${timeoutMs} ms timeout while waiting for a free process`,
    );
  }

  #bound(timeoutMs: number): number {
    return Math.min(this.#waitMs, timeoutMs / 2);
  }

  /** Seconds to wait before retrying when `g` should refuse a call arriving now, else 0. */
  #refusal(g: Group, now: number, timeoutMs: number): number {
    const expected = (g.waiting.length + 1) * g.drainMs;
    const retryAfter = Math.max(RETRY_AFTER_MIN_S, Math.ceil(expected / 1000));
    if (this.waiting >= this.#maxQueued) return retryAfter;
    // No process serves yet (a cold start, a crashed one being replaced): nothing to measure,
    // and the call's own timeout bounds its wait.
    if (!g.procs.some((p) => p.healthy)) return 0;
    const bound = this.#bound(timeoutMs);
    const head = g.waiting[0];
    if (head !== undefined && now - head.arrived > bound) return retryAfter;
    return expected > bound ? retryAfter : 0;
  }

  /** The least busy healthy process of `g` below its limit, if the peer cap allows a call. */
  #free(g: Group): SandboxProcess | undefined {
    if (!this.peerHasRoom()) return undefined;
    const cap = g.limit.value;
    let best: SandboxProcess | undefined;
    for (const p of g.procs) {
      if (p.healthy && p.inflight < cap && (!best || p.inflight < best.inflight)) best = p;
    }
    return best;
  }

  /** A process of `g` with room once its limit is raised, if the limit may grow. */
  #grown(g: Group): SandboxProcess | undefined {
    if (!this.peerHasRoom() || !g.procs.some((p) => p.healthy) || !g.limit.grow()) return;
    return this.#free(g);
  }

  #run(
    g: Group,
    p: SandboxProcess,
    req: CallRequest,
    opts: InvokeOptions,
    timeoutMs: number,
    deadline: number,
  ): Promise<CallResult> {
    const binding = g.waiting.length > 0 || p.inflight + 1 >= g.limit.value;
    return p.call(req, opts, {
      timeoutMs,
      deadline,
      onStarted: (waitMs) => g.limit.sample(waitMs, binding),
    });
  }

  #drop(g: Group, w: Waiter, err: unknown): void {
    const i = g.waiting.indexOf(w);
    if (i < 0) return;
    g.waiting.splice(i, 1);
    if (g.waiting.length === 0) this.#busy.delete(g);
    this.#leave(w);
    w.reject(err);
  }

  #leave(w: Waiter): void {
    this.waiting--;
    clearTimeout(w.timer);
    if (w.onAbort) w.opts.signal?.removeEventListener("abort", w.onAbort);
  }
}
