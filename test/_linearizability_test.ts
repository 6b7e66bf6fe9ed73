import assert from "node:assert/strict";
import type { Op, OpInput, OpKind, Outcome } from "./_history.ts";
import { checkLinearizable } from "./_linearizability.ts";

/** One hand-made operation: process, kind, key, input, invoked, returned, outcome. */
type Row = [string, OpKind, string, OpInput, number, number, Outcome];
const history = (...rows: Row[]): Op[] =>
  rows.map(([process, kind, key, input, invoke, ret, outcome], id) => ({
    id,
    process,
    kind,
    key,
    input,
    invoke,
    ret,
    outcome,
  }));
const ok = (version = "", value?: string): Outcome =>
  value === undefined ? { type: "ok", version } : { type: "ok", value, version };
const notFound: Outcome = { type: "fail", status: 404, code: "NOT_FOUND" };
const mismatch: Outcome = { type: "fail", status: 412, code: "PRECONDITION_FAILED" };
const unknown: Outcome = { type: "unknown", status: 503, code: "QUORUM_FAILED" };
const verdict = (ops: Op[], budget?: number) =>
  checkLinearizable(ops, budget === undefined ? {} : { budget }).verdict;
const w = (p: string, value: string, t0: number, t1: number, out: Outcome): Row => [
  p,
  "write",
  "k",
  { value },
  t0,
  t1,
  out,
];
const r = (
  p: string,
  t0: number,
  t1: number,
  out: Outcome,
): Row => [p, "read", "k", {}, t0, t1, out];
const cas = (
  p: string,
  value: string,
  ifMatch: string,
  t0: number,
  t1: number,
  out: Outcome,
): Row => [
  p,
  "cas",
  "k",
  { value, ifMatch },
  t0,
  t1,
  out,
];
const del = (
  p: string,
  t0: number,
  t1: number,
  out: Outcome,
): Row => [p, "delete", "k", {}, t0, t1, out];

Deno.test("a sequential write then read is linearizable", () => {
  const ops = history(
    r("a", 0, 1, notFound),
    w("a", "x", 2, 3, ok("v1")),
    r("b", 4, 5, ok("v1", "x")),
  );
  assert.equal(verdict(ops), "ok");
});

Deno.test("a stale read after an acknowledged write is an anomaly", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    w("a", "y", 2, 3, ok("v2")),
    r("b", 4, 5, ok("v1", "x")),
  );
  const report = checkLinearizable(ops);
  assert.equal(report.verdict, "anomaly");
  assert.equal(report.anomalies[0]!.key, "k");
  // The witness names the read that needed the overwritten value.
  assert.match(report.anomalies[0]!.witness!, /#2 b read/);
});

Deno.test("a read concurrent with a write may see the old or the new value", () => {
  for (const seen of [ok("v1", "x"), ok("v2", "y")]) {
    const ops = history(
      w("a", "x", 0, 1, ok("v1")),
      w("a", "y", 2, 6, ok("v2")),
      r("b", 3, 5, seen),
    );
    assert.equal(verdict(ops), "ok");
  }
});

Deno.test("a read must carry the version of the write it returns", () => {
  const report = checkLinearizable(
    history(w("a", "x", 0, 1, ok("v1")), r("b", 2, 3, ok("v9", "x"))),
  );
  assert.equal(report.verdict, "anomaly");
  assert.match(report.anomalies[0]!.witness!, /took effect twice/);
  // An unknown write read back with two versions took effect twice as well.
  const twice = history(
    w("a", "x", 0, 1, unknown),
    r("b", 2, 3, ok("v1", "x")),
    r("b", 4, 5, ok("v2", "x")),
  );
  assert.match(checkLinearizable(twice).anomalies[0]?.witness ?? "", /two versions/);
});

Deno.test("ignoring versions tells a write applied twice from one that came back over later writes", () => {
  const again = history(w("a", "x", 0, 1, ok("v1")), r("b", 2, 3, ok("v9", "x")));
  assert.equal(verdict(again), "anomaly");
  assert.equal(checkLinearizable(again, { ignoreVersions: true }).verdict, "ok");
  const over = history(
    w("a", "x", 0, 1, ok("v1")),
    w("a", "y", 2, 3, ok("v2")),
    r("b", 4, 5, ok("v3", "x")),
  );
  assert.equal(checkLinearizable(over, { ignoreVersions: true }).verdict, "anomaly");
  // A compare-and-set on the second version of the same value still succeeds on it.
  const cas2 = history(
    w("a", "x", 0, 1, ok("v1")),
    r("b", 2, 3, ok("v9", "x")),
    cas("b", "z", "v9", 4, 5, ok("v10")),
    cas("c", "q", "v1", 6, 7, mismatch),
  );
  assert.equal(checkLinearizable(cas2, { ignoreVersions: true }).verdict, "ok");
});

Deno.test("a read of a value nobody wrote, or only a failed write, is an anomaly", () => {
  assert.equal(verdict(history(r("b", 0, 1, ok("v1", "ghost")))), "anomaly");
  const tooLarge: Outcome = { type: "fail", status: 413, code: "VALUE_TOO_LARGE" };
  const report = checkLinearizable(
    history(w("a", "x", 0, 1, tooLarge), r("b", 2, 3, ok("v1", "x"))),
  );
  assert.match(report.anomalies[0]?.witness ?? "", /failed for certain took effect/);
});

Deno.test("two compare-and-set winners on one version are an anomaly", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    cas("b", "b", "v1", 2, 4, ok("v2")),
    cas("c", "c", "v1", 3, 5, ok("v3")),
  );
  assert.equal(verdict(ops), "anomaly");
});

Deno.test("one compare-and-set winner and one 412 on a version are linearizable", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    cas("b", "b", "v1", 2, 4, ok("v2")),
    cas("c", "c", "v1", 3, 5, mismatch),
    r("c", 6, 7, ok("v2", "b")),
  );
  assert.equal(verdict(ops), "ok");
});

Deno.test("a 412 while the version matched is an anomaly", () => {
  const ops = history(w("a", "x", 0, 1, ok("v1")), cas("b", "b", "v1", 2, 3, mismatch));
  assert.equal(verdict(ops), "anomaly");
});

Deno.test("if-match 0 creates only an absent key", () => {
  const once = history(cas("a", "x", "0", 0, 1, ok("v1")), cas("b", "y", "0", 2, 3, mismatch));
  assert.equal(verdict(once), "ok");
  const twice = history(cas("a", "x", "0", 0, 1, ok("v1")), cas("b", "y", "0", 2, 3, ok("v2")));
  assert.equal(verdict(twice), "anomaly");
});

Deno.test("a lost acknowledged write is an anomaly", () => {
  assert.equal(verdict(history(w("a", "x", 0, 1, ok("v1")), r("b", 2, 3, notFound))), "anomaly");
});

Deno.test("an unknown write may explain a later read", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    w("a", "y", 2, 3, unknown),
    r("b", 10, 11, ok("v2", "y")),
    r("b", 12, 13, ok("v2", "y")),
  );
  assert.equal(verdict(ops), "ok");
});

Deno.test("an unknown write may never have happened", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    w("a", "y", 2, 3, unknown),
    r("b", 10, 11, ok("v1", "x")),
  );
  assert.equal(verdict(ops), "ok");
});

Deno.test("an unknown write cannot explain a read before it was invoked", () => {
  assert.equal(
    verdict(history(r("b", 0, 1, ok("v2", "y")), w("a", "y", 2, 3, unknown))),
    "anomaly",
  );
});

Deno.test("once a read saw an unknown write, the older value cannot come back", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    w("a", "y", 2, 3, unknown),
    r("b", 4, 5, ok("v2", "y")),
    r("b", 6, 7, ok("v1", "x")),
  );
  assert.equal(verdict(ops), "anomaly");
});

Deno.test("a 412 explained only by an unknown write nobody read", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    w("c", "y", 2, 3, unknown),
    cas("b", "b", "v1", 4, 5, mismatch),
  );
  assert.equal(verdict(ops), "ok");
  // Without the unknown write, the same 412 is an anomaly.
  assert.equal(verdict(ops.filter((o) => o.process !== "c")), "anomaly");
});

Deno.test("deletes: found, absent, and a read of a deleted value", () => {
  const ops = history(
    w("a", "x", 0, 1, ok("v1")),
    del("a", 2, 3, ok()),
    r("b", 4, 5, notFound),
    del("b", 6, 7, notFound),
  );
  assert.equal(verdict(ops), "ok");
  const stale = history(
    w("a", "x", 0, 1, ok("v1")),
    del("a", 2, 3, ok()),
    r("b", 4, 5, ok("v1", "x")),
  );
  assert.equal(verdict(stale), "anomaly");
});

Deno.test("keys are checked apart, and function calls are ignored", () => {
  const ops = history(
    ["a", "write", "good", { value: "x" }, 0, 1, ok("v1")],
    ["a", "write", "bad", { value: "y" }, 0, 1, ok("v2")],
    ["b", "read", "bad", {}, 2, 3, notFound],
    ["b", "read", "good", {}, 2, 3, ok("v1", "x")],
    ["c", "invoke", "hello", {}, 0, 1, ok()],
  );
  const report = checkLinearizable(ops);
  assert.equal(report.keys, 2);
  assert.deepEqual(report.anomalies.map((a) => a.key), ["bad"]);
});

Deno.test("the search answers unknown when its budget runs out", () => {
  const ops = history(
    w("a", "x", 0, 10, ok("v1")),
    w("b", "y", 0, 10, ok("v2")),
    r("c", 11, 12, ok("v2", "y")),
  );
  assert.equal(verdict(ops, 1), "unknown");
  assert.equal(verdict(ops), "ok");
});

/** A random history of a real register: each operation takes effect at one instant inside its interval. */
function simulate(seed: number, count: number, clients: number) {
  let s = seed;
  const rand = () => ((s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5 | 0) >>> 0) / 2 ** 32;
  let state: { value: string; version: string } | null = null;
  // Clients only know versions an answer told them: an unknown write's version stays unknown until read.
  const known: string[] = ["0"];
  const events = Array.from({ length: count }, (_, i) => {
    const at = i * 10 + rand() * 5;
    return { at, invoke: at - rand() * 25, ret: at + rand() * 25, i };
  });
  const ops: Op[] = [];
  for (const e of events) {
    const r = rand();
    const process = `c${e.i % clients}`;
    const base = { id: e.i, process, key: "k", invoke: e.invoke, ret: e.ret };
    if (r < 0.4) {
      if (state) known.push(state.version);
      ops.push({
        ...base,
        kind: "read",
        input: {},
        outcome: state ? ok(state.version, state.value) : notFound,
      });
    } else if (r < 0.7) {
      const value = `w${e.i}`;
      const hidden = rand() < 0.15;
      if (!hidden || rand() < 0.5) state = { value, version: `v${e.i}` };
      if (!hidden) known.push(`v${e.i}`);
      ops.push({
        ...base,
        kind: "write",
        input: { value },
        outcome: hidden ? unknown : ok(`v${e.i}`),
      });
    } else {
      const value = `w${e.i}`;
      const latest = state && known.includes(state.version) ? state.version : undefined;
      const ifMatch = rand() < 0.5 && latest ? latest : known[Math.floor(rand() * known.length)]!;
      const hit = state ? state.version === ifMatch : ifMatch === "0";
      if (hit) {
        state = { value, version: `v${e.i}` };
        known.push(state.version);
      }
      ops.push({
        ...base,
        kind: "cas",
        input: { value, ifMatch },
        outcome: hit ? ok(`v${e.i}`) : mismatch,
      });
    }
  }
  ops.sort((a, b) => a.invoke - b.invoke);
  return ops.map((o, id) => ({ ...o, id }));
}

Deno.test("random histories of a real register are linearizable; a stale read in one is not", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const ops = simulate(seed, 400, 5);
    const report = checkLinearizable(ops);
    assert.equal(report.verdict, "ok", `seed ${seed}: ${report.anomalies[0]?.witness}`);
    // Make one read return a write that a later, completed write had already replaced.
    const read = ops.findLast((o) => o.kind === "read" && o.outcome.type === "ok")!;
    const writes = ops.filter((o) => o.kind === "write" && o.outcome.type === "ok");
    const old = writes.find((w) => writes.some((w2) => w2.invoke > w.ret && w2.ret < read.invoke))!;
    const stale = ops.map((o) =>
      o === read
        ? { ...o, outcome: ok((old.outcome as { version: string }).version, old.input.value) }
        : o
    );
    assert.equal(checkLinearizable(stale).verdict, "anomaly", `seed ${seed}`);
  }
});

Deno.test("a long history with many concurrent clients checks quickly", () => {
  const ops = simulate(99, 5000, 16);
  const start = performance.now();
  assert.equal(checkLinearizable(ops).verdict, "ok");
  assert.ok(performance.now() - start < 20_000);
});
