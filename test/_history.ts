/**
 * Operation histories of a workload against the pool: each call is recorded
 * with the client that made it, its input, when it was invoked and when it
 * returned (`performance.now()`, this process's one clock), and its outcome —
 * `ok` (it happened, with its result), `fail` (it definitely did not happen:
 * a 4xx such as 412, or 404 on a read) or `unknown` (a timeout, a 5xx, any
 * connection error: it may or may not have happened). The checkers in
 * `_linearizability.ts` read these histories.
 *
 * @example
 * ```ts
 * const history = new History();
 * const done = history.begin("c1", "write", "k", { value: "v1" });
 * done({ type: "ok", version: "42" });
 * summarize(history.ops).acknowledged; // 1
 * ```
 * @module
 */

/** What an operation does; `invoke` is a function call, outside the register checks. */
export type OpKind = "read" | "write" | "cas" | "delete" | "invoke";

/** What an operation sent. */
export interface OpInput {
  /** The value written (unique per write, so a value identifies its write). */
  value?: string;
  /** The `If-Match` version (`"0"`: only if absent). */
  ifMatch?: string;
}

/** How an operation ended. */
export type Outcome =
  /** It happened: a read's value and version, a write's new version. */
  | { type: "ok"; value?: string; version?: string }
  /** It definitely did not happen (or, for a read, found nothing: 404). */
  | { type: "fail"; status: number; code: string }
  /** It may or may not have happened. */
  | { type: "unknown"; status?: number; code: string };

/** One recorded operation. */
export interface Op {
  /** Position in the history, in order of invocation. */
  readonly id: number;
  /** The client (process) that made it; one client runs one operation at a time. */
  readonly process: string;
  readonly kind: OpKind;
  readonly key: string;
  readonly input: OpInput;
  /** The peer the call went to, when there are several. */
  readonly peer?: string;
  /** When it was invoked, in ms on this process's clock. */
  readonly invoke: number;
  /** When it returned; `Infinity` while it has not. */
  ret: number;
  outcome: Outcome;
}

/** Completes an operation begun with {@linkcode History.begin}; returns it. */
export type Finish = (outcome: Outcome) => Op;

/**
 * A history being recorded. Operations that never finish stay `unknown` with
 * code `PENDING` and no return time.
 *
 * @example
 * ```ts
 * const history = new History();
 * const done = history.begin("c1", "read", "k", {});
 * done({ type: "fail", status: 404, code: "NOT_FOUND" });
 * ```
 */
export class History {
  readonly #ops: Op[] = [];
  readonly #now: () => number;

  /** `now` is the clock; `performance.now` unless a test hands in its own. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Records the invocation of an operation; call the result when it returns. */
  begin(process: string, kind: OpKind, key: string, input: OpInput = {}, peer?: string): Finish {
    const op: Op = {
      id: this.#ops.length,
      process,
      kind,
      key,
      input,
      ...(peer === undefined ? {} : { peer }),
      invoke: this.#now(),
      ret: Infinity,
      outcome: { type: "unknown", code: "PENDING" },
    };
    this.#ops.push(op);
    return (outcome) => {
      op.ret = this.#now();
      op.outcome = outcome;
      return op;
    };
  }

  /** Every operation so far, in order of invocation. */
  get ops(): readonly Op[] {
    return this.#ops;
  }
}

/** The outcome of an HTTP response whose body has been read as `text`. */
export function outcomeOf(res: Response, text: string): Outcome {
  if (res.ok) {
    const version = res.headers.get("x-virgo-version") ?? undefined;
    return version === undefined
      ? { type: "ok", value: text }
      : { type: "ok", value: text, version };
  }
  let code = `HTTP_${res.status}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown } };
    if (typeof body.error?.code === "string") code = body.error.code;
  } catch { /* not the contract's JSON error: keep the status */ }
  // A 4xx is the server refusing the call; a 5xx may come after a partial write.
  return res.status < 500
    ? { type: "fail", status: res.status, code }
    : { type: "unknown", status: res.status, code };
}

/** The outcome of a call that threw instead of answering. */
export function outcomeOfError(err: unknown): Outcome {
  const name = err instanceof Error ? err.name : "";
  // Deno's fetch says "fetch failed" and puts the reason in `cause`.
  let message = "";
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    message += ` ${e instanceof Error ? e.message : String(e)}`;
    e = e instanceof Error ? e.cause : undefined;
  }
  if (name === "TimeoutError" || name === "AbortError") return { type: "unknown", code: "TIMEOUT" };
  // Even a refused connection is no proof: the client retries a PUT whose pooled connection died
  // under it, so the refusal may follow a first attempt that the peer received and applied.
  if (/Connection refused|ECONNREFUSED/i.test(message)) {
    return { type: "unknown", code: "CONNECTION_REFUSED" };
  }
  return { type: "unknown", code: "CONNECTION_ERROR" };
}

/** Counts of a history, for the report. */
export interface HistorySummary {
  attempted: number;
  acknowledged: number;
  /** Definite failures by cause, `"<status> <code>"`. */
  failed: Record<string, number>;
  /** Unknown outcomes by cause. */
  unknown: Record<string, number>;
  /** The same counts per operation kind. */
  byKind: Record<
    string,
    { attempted: number; acknowledged: number; failed: number; unknown: number }
  >;
}

/** Counts operations by outcome and cause. */
export function summarize(ops: readonly Op[]): HistorySummary {
  const s: HistorySummary = { attempted: 0, acknowledged: 0, failed: {}, unknown: {}, byKind: {} };
  for (const op of ops) {
    s.attempted++;
    const k = s.byKind[op.kind] ??= { attempted: 0, acknowledged: 0, failed: 0, unknown: 0 };
    k.attempted++;
    const o = op.outcome;
    if (o.type === "ok") {
      s.acknowledged++;
      k.acknowledged++;
      continue;
    }
    const cause = o.status === undefined ? o.code : `${o.status} ${o.code}`;
    const bucket = o.type === "fail" ? s.failed : s.unknown;
    bucket[cause] = (bucket[cause] ?? 0) + 1;
    if (o.type === "fail") k.failed++;
    else k.unknown++;
  }
  return s;
}

/** The answer of {@linkcode checkAcknowledgedWrites}. */
export interface DurabilityReport {
  /** Acknowledged writes of keys written once. */
  acknowledged: number;
  /** Acknowledged writes whose final read found nothing or something else. */
  lost: Array<{ key: string; value: string; got: string }>;
  /** Keys with an acknowledged write that no final read answered for certain. */
  unreadable: string[];
}

/** The last read of `key` by `finalProcess` with a definite answer: its value, or null for 404. */
function finalRead(ops: readonly Op[], finalProcess: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const op of ops) {
    if (op.process !== finalProcess || op.kind !== "read") continue;
    const o = op.outcome;
    if (o.type === "ok") out.set(op.key, o.value ?? "");
    else if (o.type === "fail" && o.status === 404) out.set(op.key, null);
  }
  return out;
}

/**
 * Every acknowledged write of a key written once (a set of unique writes) is
 * what the final read of that key returns. Keys of `isKey` written more than
 * once are left to the linearizability check.
 *
 * @example
 * ```ts
 * const { lost } = checkAcknowledgedWrites(history.ops, (k) => k.startsWith("set/"));
 * ```
 */
export function checkAcknowledgedWrites(
  ops: readonly Op[],
  isKey: (key: string) => boolean,
  finalProcess = "final",
): DurabilityReport {
  const writes = new Map<string, Op[]>();
  for (const op of ops) {
    if ((op.kind !== "write" && op.kind !== "cas") || !isKey(op.key)) continue;
    if (op.outcome.type === "fail") continue;
    writes.set(op.key, [...writes.get(op.key) ?? [], op]);
  }
  const finals = finalRead(ops, finalProcess);
  const report: DurabilityReport = { acknowledged: 0, lost: [], unreadable: [] };
  for (const [key, list] of writes) {
    const w = list[0]!;
    if (list.length !== 1 || w.outcome.type !== "ok") continue;
    report.acknowledged++;
    const value = w.input.value ?? "";
    const got = finals.get(key);
    if (got === undefined) report.unreadable.push(key);
    else if (got !== value) report.lost.push({ key, value, got: got ?? "404" });
  }
  return report;
}

/** The answer of {@linkcode checkCounters} for one counter. */
export interface CounterReport {
  key: string;
  /** Acknowledged increments. */
  acknowledged: number;
  /** Increments with an unknown outcome. */
  unknown: number;
  /** The final value; null when no final read answered. */
  final: number | null;
  /** acknowledged ≤ final ≤ acknowledged + unknown. */
  ok: boolean;
}

/**
 * Counters made of compare-and-set increments: the final value counts every
 * acknowledged increment and at most the unknown ones besides. A 404 reads
 * as 0; `parse` turns a stored value into its count.
 *
 * @example
 * ```ts
 * checkCounters(history.ops, (k) => k.startsWith("ctr/"), (v) => parseInt(v, 10));
 * ```
 */
export function checkCounters(
  ops: readonly Op[],
  isKey: (key: string) => boolean,
  parse: (value: string) => number,
  finalProcess = "final",
): CounterReport[] {
  const counts = new Map<string, { acknowledged: number; unknown: number }>();
  for (const op of ops) {
    if (!isKey(op.key)) continue;
    const c = counts.get(op.key) ?? { acknowledged: 0, unknown: 0 };
    counts.set(op.key, c);
    if (op.kind !== "write" && op.kind !== "cas") continue;
    if (op.outcome.type === "ok") c.acknowledged++;
    if (op.outcome.type === "unknown") c.unknown++;
  }
  const finals = finalRead(ops, finalProcess);
  return [...counts].map(([key, c]) => {
    const got = finals.get(key);
    const final = got === undefined ? null : got === null ? 0 : parse(got);
    const ok = final !== null && c.acknowledged <= final && final <= c.acknowledged + c.unknown;
    return { key, ...c, final, ok };
  });
}
