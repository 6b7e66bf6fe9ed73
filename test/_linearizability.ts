/**
 * The linearizability checker of a recorded history (`_history.ts`): each key
 * is a register with compare-and-set (read, blind write, `If-Match` write,
 * delete). The durability and counter checks live beside the history, in
 * `_history.ts`.
 *
 * The linearizability check is the Wing–Gong search with Lowe's memoisation,
 * as Porcupine does it (anishathalye/porcupine, `checker.go`): the history of
 * one key (P-compositionality: keys are independent registers) becomes a
 * list of call and return events in time order; the search linearizes a
 * pending call whenever the model accepts it, backtracks when it reaches the
 * return of an operation it has not linearized, and never revisits a
 * (set of linearized operations, model state) pair. An operation whose
 * outcome is unknown returns at +∞: it may take effect at any point after its
 * invocation, or — placed after everything else — not at all.
 *
 * Versions are opaque strings the server assigns, so the model state is the
 * write that produced the current value: written values are unique, a write's
 * value identifies it, and a read must return that write's value and version.
 * Because no state can come back once overwritten, the search refuses to
 * overwrite a write that some not-yet-linearized operation observed (a read
 * of its value, a compare-and-set on its version): that prunes the branches
 * where an unknown write is placed early and forgotten. Reads no order can
 * explain (a value nobody wrote, a write's value under a second version) are
 * reported before any search, with the plainest witness.
 *
 * @example
 * ```ts
 * const report = checkLinearizable(history.ops, { budget: 1_000_000 });
 * if (report.verdict === "anomaly") console.log(report.anomalies[0]!.witness);
 * ```
 * @module
 */
import type { Op } from "./_history.ts";

/** A checker's answer; `unknown` when the step budget ran out first. */
export type Verdict = "ok" | "anomaly" | "unknown";

/** The answer for one key. */
export interface KeyVerdict {
  key: string;
  verdict: Verdict;
  /** Operations checked (reads without a definite answer and calls that failed for certain left out). */
  ops: number;
  /** Of those, operations with an unknown outcome. */
  unknownOps: number;
  /** Search steps spent. */
  steps: number;
  /** For an anomaly: the state after the longest linearizable prefix, and what could not follow. */
  witness?: string;
  /** For an anomaly: the history operation that could not be linearized after that prefix. */
  stuck?: Op;
}

/** The answer for a whole history. */
export interface LinearizabilityReport {
  /** `anomaly` if any key has one, else `unknown` if any key is undecided, else `ok`. */
  verdict: Verdict;
  keys: number;
  anomalies: KeyVerdict[];
  undecided: KeyVerdict[];
}

/** Options of {@linkcode checkLinearizable}. */
export interface CheckOptions {
  /** Search steps allowed per key before answering `unknown`. @default {2_000_000} */
  budget?: number;
  /**
   * Compare values only: a read may return a write's value under any version the value was
   * seen with, and a 412 constrains nothing. A write applied twice is then no anomaly unless
   * its value came back over later writes — this tells a version-only anomaly from a lost or
   * reordered write. @default {false}
   */
  ignoreVersions?: boolean;
}

/** One operation as the register model sees it. */
type ROp =
  | { t: "read"; found: false }
  | { t: "read"; found: true; value: string; version: string | undefined }
  | { t: "write"; value: string; result: "ok" | "unknown" }
  | { t: "cas"; value: string; ifMatch: string; result: "ok" | "mismatch" | "unknown" }
  | {
    t: "delete";
    ifMatch: string | undefined;
    result: "deleted" | "absent" | "mismatch" | "unknown";
  };

interface Checked {
  op: Op;
  r: ROp;
  call: number;
  ret: number;
}

/** The register operation an `Op` stands for; undefined for calls that tell nothing. */
function registerOp(op: Op): ROp | undefined {
  const o = op.outcome;
  const fail = o.type === "fail" ? o.status : undefined;
  switch (op.kind) {
    case "read":
      if (o.type === "ok") {
        return { t: "read", found: true, value: o.value ?? "", version: o.version };
      }
      return fail === 404 ? { t: "read", found: false } : undefined;
    case "write":
      if (o.type === "fail") return undefined;
      return { t: "write", value: op.input.value ?? "", result: o.type };
    case "cas": {
      const base = {
        t: "cas" as const,
        value: op.input.value ?? "",
        ifMatch: op.input.ifMatch ?? "",
      };
      if (o.type !== "fail") return { ...base, result: o.type };
      return fail === 412 ? { ...base, result: "mismatch" } : undefined;
    }
    case "delete": {
      const ifMatch = op.input.ifMatch;
      if (o.type === "ok") return { t: "delete", ifMatch, result: "deleted" };
      if (o.type === "unknown") return { t: "delete", ifMatch, result: "unknown" };
      if (fail === 404) return { t: "delete", ifMatch, result: "absent" };
      return fail === 412 ? { t: "delete", ifMatch, result: "mismatch" } : undefined;
    }
    default:
      return undefined;
  }
}

const isWriter = (r: ROp): r is Extract<ROp, { t: "write" | "cas" }> =>
  (r.t === "write" || r.t === "cas") && r.result !== "mismatch";

/** Checks every key of `ops` on its own; operations of kind `invoke` are ignored. */
export function checkLinearizable(
  ops: readonly Op[],
  options: CheckOptions = {},
): LinearizabilityReport {
  const byKey = new Map<string, Op[]>();
  for (const op of ops) {
    if (op.kind === "invoke") continue;
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, list = []);
    list.push(op);
  }
  const anomalies: KeyVerdict[] = [];
  const undecided: KeyVerdict[] = [];
  for (const [key, list] of byKey) {
    const v = checkKey(key, list, options);
    if (v.verdict === "anomaly") anomalies.push(v);
    if (v.verdict === "unknown") undecided.push(v);
  }
  const verdict = anomalies.length ? "anomaly" : undecided.length ? "unknown" : "ok";
  return { verdict, keys: byKey.size, anomalies, undecided };
}

/**
 * Checks the operations of one key. Unknown writes nobody read are first
 * left out (omitting them is always allowed); only if that finds an anomaly
 * that one of them could explain (a 412, a delete that found something) is
 * the search run again with them.
 */
export function checkKey(key: string, ops: readonly Op[], options: CheckOptions = {}): KeyVerdict {
  const budget = options.budget ?? 2_000_000;
  const all: Checked[] = [];
  for (const op of ops) {
    const r = registerOp(op);
    if (r) {
      all.push({ op, r, call: op.invoke, ret: op.outcome.type === "unknown" ? Infinity : op.ret });
    }
  }
  const read = new Set<string>();
  for (const c of all) if (c.r.t === "read" && c.r.found) read.add(c.r.value);
  const unread = (c: Checked) => isWriter(c.r) && c.r.result === "unknown" && !read.has(c.r.value);
  // Writes that failed for certain, to name one whose value was read all the same.
  const failed = new Map<string, Op>();
  for (const op of ops) {
    if (op.outcome.type === "fail" && op.input.value !== undefined) failed.set(op.input.value, op);
  }
  const loose = options.ignoreVersions ?? false;
  const first = search(key, all.filter((c) => !unread(c)), budget, failed, loose);
  if (first.verdict !== "anomaly" || !all.some(unread)) return first;
  const explainable = all.some((c) =>
    (c.r.t === "cas" && c.r.result === "mismatch") ||
    (c.r.t === "delete" && (c.r.result === "deleted" || c.r.result === "mismatch"))
  );
  if (!explainable) return first;
  const second = search(key, all, Math.max(budget - first.steps, 0), failed, loose);
  second.steps += first.steps;
  return second.verdict === "unknown" ? { ...second, witness: first.witness ?? "" } : second;
}

const ABSENT = -1;
const REJECT = -2;
const NIL = -1;

/** The search over one key's operations. */
function search(
  key: string,
  ops: Checked[],
  budget: number,
  failed: ReadonlyMap<string, Op>,
  loose: boolean,
): KeyVerdict {
  const n = ops.length;
  const unknownOps = ops.filter((c) => c.ret === Infinity).length;
  // Versions of writes: returned when acknowledged, else learned from a read of the (unique) value.
  const readVersion = new Map<string, string>();
  // Every value each version was seen with (for `loose`, where versions only name values).
  const valueOf = new Map<string, string>();
  for (const c of ops) {
    if (c.r.t === "read" && c.r.found && c.r.version !== undefined) {
      readVersion.set(c.r.value, c.r.version);
      valueOf.set(c.r.version, c.r.value);
    }
    const o = c.op.outcome;
    if (isWriter(c.r) && o.type === "ok" && o.version) valueOf.set(o.version, c.r.value);
  }
  const value: string[] = [];
  const version: string[] = [];
  for (const [i, c] of ops.entries()) {
    const r = c.r;
    value[i] = isWriter(r) ? r.value : "";
    const own = c.op.outcome.type === "ok" ? c.op.outcome.version : undefined;
    version[i] = isWriter(r) ? own ?? readVersion.get(r.value) ?? `\u0000unread ${i}` : "";
  }
  // Which write each operation observes (needs as the current state), and how many observe each.
  const byValue = new Map<string, number[]>();
  const byVersion = new Map<string, number[]>();
  for (const [i, c] of ops.entries()) {
    if (!isWriter(c.r)) continue;
    (byValue.get(value[i]!) ?? byValue.set(value[i]!, []).get(value[i]!)!).push(i);
    (byVersion.get(version[i]!) ?? byVersion.set(version[i]!, []).get(version[i]!)!).push(i);
  }
  const observes = new Int32Array(n).fill(NIL);
  const observers = new Int32Array(n);
  for (const [i, c] of ops.entries()) {
    const r = c.r;
    let ws: number[] | undefined;
    if (r.t === "read" && r.found) ws = byValue.get(r.value);
    else if ((r.t === "cas" && r.result === "ok") || (r.t === "delete" && r.result === "deleted")) {
      if (r.ifMatch !== undefined && r.ifMatch !== "0") {
        ws = loose ? byValue.get(valueOf.get(r.ifMatch) ?? "\u0000") : byVersion.get(r.ifMatch);
      }
    }
    if (ws?.length === 1) {
      observes[i] = ws[0]!;
      observers[ws[0]!]!++;
    }
  }
  const seen = new Int32Array(n);
  const result = (verdict: Verdict, steps: number): KeyVerdict => ({
    key,
    verdict,
    ops: n,
    unknownOps,
    steps,
  });
  const describe = (i: number) => describeOp(ops[i]!.op);

  // Reads no write can explain whatever the order: the plainest witnesses, found without a search.
  const versions = new Map<string, Map<string, number>>();
  for (const [i, c] of ops.entries()) {
    const r = c.r;
    if (r.t !== "read" || !r.found) continue;
    const direct = (why: string) => ({
      ...result("anomaly", 0),
      witness: `${describe(i)} ${why}`,
      stuck: c.op,
    });
    const ws = byValue.get(r.value);
    if (!ws) {
      const f = failed.get(r.value);
      return direct(
        f
          ? `returned the value of ${describeOp(f)}: a write that failed for certain took effect`
          : "returned a value that no acknowledged or pending write carried",
      );
    }
    if (loose || ws.length !== 1 || r.version === undefined) continue;
    const w = ws[0]!;
    const acked = ops[w]!.op.outcome.type === "ok" ? version[w] : undefined;
    if (acked !== undefined && acked !== r.version) {
      return direct(
        `returned the value of ${describe(w)} with another version: that write took effect twice`,
      );
    }
    const other = versions.get(r.value) ?? new Map<string, number>();
    versions.set(r.value, other.set(r.version, i));
    if (other.size > 1) {
      const first = [...other.values()][0]!;
      return direct(
        `and ${describe(first)} returned the value of ${describe(w)} with two versions`,
      );
    }
  }

  const matches = (s: number, m: string) =>
    m === "0"
      ? s === ABSENT
      : s !== ABSENT && (loose ? valueOf.get(m) === value[s] : version[s] === m);
  const model = (s: number, i: number): number => {
    const r = ops[i]!.r;
    switch (r.t) {
      case "read":
        if (!r.found) return s === ABSENT ? s : REJECT;
        return s !== ABSENT && value[s] === r.value &&
            (loose || r.version === undefined || version[s] === r.version)
          ? s
          : REJECT;
      case "write":
        return i;
      case "cas":
        if (r.result === "ok") return matches(s, r.ifMatch) ? i : REJECT;
        if (r.result === "mismatch") return matches(s, r.ifMatch) && !loose ? REJECT : s;
        return matches(s, r.ifMatch) ? i : s;
      case "delete": {
        const hit = r.ifMatch === undefined ? s !== ABSENT : matches(s, r.ifMatch);
        if (r.result === "deleted") return hit ? ABSENT : REJECT;
        if (r.result === "absent") return s === ABSENT ? s : REJECT;
        if (r.result === "mismatch") return hit && !loose ? REJECT : s;
        return hit ? ABSENT : s;
      }
    }
  };
  const step = (s: number, i: number): number => {
    const next = model(s, i);
    // A write, once overwritten, is never the state again: refuse while someone still has to see it.
    if (next !== REJECT && next !== s && s !== ABSENT) {
      const mine = observes[i] === s ? 1 : 0;
      if (seen[s]! + mine < observers[s]!) return REJECT;
    }
    return next;
  };

  // The event list: node 0 is the head; node 1 + k is the k-th event in time order.
  const events: Array<{ time: number; call: boolean; op: number }> = [];
  for (const [i, c] of ops.entries()) {
    events.push({ time: c.call, call: true, op: i }, { time: c.ret, call: false, op: i });
  }
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? 0 : a.call ? -1 : 1));
  const size = events.length + 1;
  const next = new Int32Array(size);
  const prev = new Int32Array(size);
  const nodeOp = new Int32Array(size).fill(NIL);
  const match = new Int32Array(size).fill(NIL);
  const retNode = new Int32Array(n);
  for (let k = 0; k < size; k++) {
    next[k] = k + 1 < size ? k + 1 : NIL;
    prev[k] = k - 1;
  }
  for (const [k, e] of events.entries()) {
    nodeOp[k + 1] = e.op;
    if (!e.call) retNode[e.op] = k + 1;
  }
  for (const [k, e] of events.entries()) if (e.call) match[k + 1] = retNode[e.op]!;
  const lift = (e: number) => {
    next[prev[e]!] = next[e]!;
    prev[next[e]!] = prev[e]!;
    const m = match[e]!;
    next[prev[m]!] = next[m]!;
    if (next[m] !== NIL) prev[next[m]!] = prev[m]!;
  };
  const unlift = (e: number) => {
    const m = match[e]!;
    next[prev[m]!] = m;
    if (next[m] !== NIL) prev[next[m]!] = m;
    next[prev[e]!] = e;
    prev[next[e]!] = e;
  };

  // Memo of (linearized set, state) already explored, keyed by a Zobrist hash of the set.
  const words = Math.ceil(n / 32);
  const bits = new Uint32Array(words);
  const zobrist = new Uint32Array(n);
  let seed = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    zobrist[i] = seed >>> 0;
  }
  let hash = 0;
  const cache = new Map<number, Array<{ bits: Uint32Array; state: number }>>();
  const remember = (state: number): boolean => {
    const h = (hash ^ Math.imul(state + 3, 0x85ebca6b)) >>> 0;
    const bucket = cache.get(h);
    if (bucket) {
      for (const e of bucket) {
        if (e.state === state && e.bits.every((w, k) => w === bits[k])) return false;
      }
      bucket.push({ bits: bits.slice(), state });
    } else cache.set(h, [{ bits: bits.slice(), state }]);
    return true;
  };
  const mark = (i: number, on: boolean) => {
    bits[i >>> 5] = on ? bits[i >>> 5]! | (1 << (i & 31)) : bits[i >>> 5]! & ~(1 << (i & 31));
    hash = (hash ^ zobrist[i]!) >>> 0;
  };

  const calls: Array<{ node: number; state: number }> = [];
  let best = {
    depth: -1,
    state: ABSENT,
    stuck: NIL,
    path: [] as number[],
    waiting: [] as number[],
  };
  let state = ABSENT;
  let steps = 0;
  let entry = next[0]!;
  while (next[0] !== NIL) {
    if (++steps > budget) return result("unknown", steps);
    const i = nodeOp[entry]!;
    if (match[entry] !== NIL) {
      const s = step(state, i);
      if (s !== REJECT) {
        mark(i, true);
        if (remember(s)) {
          calls.push({ node: entry, state });
          if (observes[i] !== NIL) seen[observes[i]!]!++;
          state = s;
          lift(entry);
          entry = next[0]!;
          continue;
        }
        mark(i, false);
      }
      entry = next[entry]!;
      continue;
    }
    // The return of an operation not yet linearized: undo the last choice.
    if (calls.length > best.depth) {
      const path = calls.slice(-3).map((c) => nodeOp[c.node]!);
      best = { depth: calls.length, state, stuck: i, path, waiting: [] };
      // When the model allows it but the pruning refused it: name who still had to see the state.
      if (model(state, i) !== REJECT && step(state, i) === REJECT) {
        best.waiting = [...observes.keys()].filter((j) =>
          observes[j] === state && !(bits[j >>> 5]! & (1 << (j & 31)))
        );
      }
    }
    const top = calls.pop();
    if (!top) break;
    const j = nodeOp[top.node]!;
    state = top.state;
    mark(j, false);
    if (observes[j] !== NIL) seen[observes[j]!]!--;
    unlift(top.node);
    entry = next[top.node]!;
  }
  if (next[0] === NIL) return result("ok", steps);
  const st = best.state === ABSENT
    ? "absent"
    : `${JSON.stringify(value[best.state])} at version ${version[best.state]}`;
  const why = best.waiting.length
    ? ` while ${best.waiting.slice(0, 3).map(describe).join("; ")} still has to see that value`
    : "";
  const witness =
    `after ${best.depth} of ${n} operations (… ${best.path.map(describe).join("; ")}) ` +
    `the key is ${st}, and ${describe(best.stuck)} cannot follow${why}`;
  return { ...result("anomaly", steps), witness, stuck: ops[best.stuck]!.op };
}

/** A one-line account of an operation, for witnesses. */
export function describeOp(op: Op): string {
  const o = op.outcome;
  const input = op.input.value !== undefined ? ` ${JSON.stringify(op.input.value)}` : "";
  const cond = op.input.ifMatch !== undefined ? ` if-match ${op.input.ifMatch}` : "";
  const out = o.type === "ok"
    ? `ok${o.value !== undefined && op.kind === "read" ? ` ${JSON.stringify(o.value)}` : ""}${
      o.version ? ` version ${o.version}` : ""
    }`
    : o.type === "fail"
    ? `${o.status} ${o.code}`
    : `unknown (${o.code})`;
  const ret = Number.isFinite(op.ret) ? op.ret.toFixed(1) : "∞";
  const via = op.peer === undefined ? "" : ` via …${op.peer.slice(-6)}`;
  return `#${op.id} ${op.process} ${op.kind}${input}${cond}${via} [${
    op.invoke.toFixed(1)
  }–${ret} ms] → ${out}`;
}
