/**
 * Test helpers: specs from inline code, a recording logger and a pool factory.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createSandboxPool } from "./pool.ts";
import { SandboxError } from "./errors.ts";
import type { FunctionSpec, KvOp, KvResult, Logger, SandboxInit, SandboxPool } from "./types.ts";

/** A logger that keeps every line, for assertions. */
export function recordingLogger(): Logger & {
  lines: Array<{ level: string; obj: object; msg?: string | undefined }>;
} {
  const lines: Array<{ level: string; obj: object; msg?: string | undefined }> = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

let n = 0;

/** A spec for `code`, with a fresh version so tests never share processes by accident. */
export function spec(name: string, code: string, extra: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    version: `v${++n}-${crypto.randomUUID()}`,
    code,
    vars: {},
    timeoutMs: 10_000,
    memoryMb: 128,
    kvNamespace: name,
    ...extra,
  };
}

/** An in-memory kv handler. */
export function memoryKv(): (ns: string, op: KvOp) => Promise<KvResult> {
  const data = new Map<string, Uint8Array>();
  let v = 0;
  return (ns, op) => {
    const k = `${ns}/${"key" in op ? op.key : ""}`;
    switch (op.op) {
      case "get": {
        const value = data.get(k);
        return Promise.resolve(value ? { value, version: "1" } : { value: null });
      }
      case "set":
        if (op.ifMatch === "nope") {
          return Promise.reject({ code: "PRECONDITION_FAILED", message: "Version does not match" });
        }
        data.set(k, op.value);
        return Promise.resolve({ version: String(++v) });
      case "delete":
        return Promise.resolve({ deleted: data.delete(k) });
      case "list": {
        const pre = `${ns}/${op.prefix ?? ""}`;
        const keys = [...data.keys()].filter((x) => x.startsWith(pre)).map((x) =>
          x.slice(ns.length + 1)
        );
        return Promise.resolve({ keys });
      }
    }
  };
}

/** A started pool with test defaults; the caller stops it. */
export async function startPool(
  extra: Partial<SandboxInit> = {},
): Promise<SandboxPool & { logger: ReturnType<typeof recordingLogger> }> {
  const logger = recordingLogger();
  const pool = createSandboxPool({
    peerId: "peer-test",
    logger,
    kv: memoryKv(),
    denyNet: [],
    spares: 1,
    ...extra,
  });
  await pool.start();
  return Object.assign(pool, { logger });
}

/** The hello function of CONTRACT.md §1. */
export const HELLO = `export default {
  async fetch(request, env, ctx) {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    return new Response("hello " + name + " from " + ctx.peerId + "\\n");
  },
};`;

/** Awaits `p`, which must reject with a SandboxError; returns it. */
export async function rejection(
  p: Promise<unknown> | (() => Promise<unknown>),
): Promise<SandboxError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof SandboxError) return e;
    throw new Error(`Expected a SandboxError, got: ${e}`);
  }
  throw new Error("Expected a rejection");
}

/** A function that runs `body` and reports what was thrown, or LEAKED. */
export const attempt = (body: string): string =>
  `export default { async fetch() {
  try { ${body}; return new Response("LEAKED"); }
  catch (e) { return new Response("denied: " + (e && e.name) + ": " + (e && e.message)); } } }`;

/** Calls `s` once with a plain GET (to `url` if given) and returns the body as text. */
export async function text(
  pool: SandboxPool,
  s: FunctionSpec,
  url = "http://fn/",
): Promise<string> {
  return await (await pool.invoke(s, new Request(url), { requestId: "x" })).text();
}

/** Runs `call` while a healthy function is called in a loop; every healthy call must succeed. */
export async function whileHealthy<T>(pool: SandboxPool, call: () => Promise<T>): Promise<T> {
  const hello = spec("healthy", HELLO);
  await pool.load(hello);
  let done = false;
  let served = 0;
  const loop = (async () => {
    while (!done) {
      const res = await pool.invoke(hello, new Request("http://fn/"), { requestId: "h" });
      assert.equal(await res.text(), "hello world from peer-test\n");
      served++;
    }
  })();
  try {
    return await call();
  } finally {
    done = true;
    await loop;
    assert.ok(served > 0, "the healthy function answered meanwhile");
  }
}

/** A function that fetches each URL (or runs each expression) and answers what happened. */
export const tryEach = (targets: string[]): string =>
  `export default { async fetch() {
  const out = {};
  for (const t of ${JSON.stringify(targets)}) {
    try {
      const r = t.startsWith("http") ? await fetch(t) : await (0, eval)(t);
      out[t] = "REACHED " + (r && r.status);
    } catch (e) {
      out[t] = e.name + ": " + e.message + (e.cause ? " | cause: " + e.cause.message : "");
    }
  }
  return Response.json(out);
} }`;

/** Each answer must be Deno's permission refusal: a refused connection means nothing held. */
export function assertRefused(out: Record<string, string>, port: number): void {
  for (const [target, answer] of Object.entries(out)) {
    const refused = /^NotCapable: Requires net access to /.test(answer) ||
      // A name is resolved first, then its address checked: Deno reports it as a connect error.
      new RegExp(
        `^TypeError: .* \\| cause: .*Requires net access to "(127\\.0\\.0\\.1|\\[::1\\]):${port}"`,
      )
        .test(answer);
    assert.ok(refused, `${target}: ${answer}`);
  }
}

/** A function that answers `Deno.permissions.query` (and `querySync`) for each host. */
export const ask = (hosts: string[]): string =>
  `export default { async fetch() {
  const out = {};
  for (const host of ${JSON.stringify(hosts)}) {
    const a = (await Deno.permissions.query({ name: "net", host })).state;
    const b = Deno.permissions.querySync({ name: "net", host }).state;
    out[host] = a === b ? a : a + "/" + b;
  }
  return Response.json(out);
} }`;

/** Calls `s` and parses its JSON answer. */
export async function answers(pool: SandboxPool, s: FunctionSpec): Promise<Record<string, string>> {
  return JSON.parse(await text(pool, s));
}

/** A function that spins the CPU for `?ms=` (default `ms`) milliseconds, then answers "done". */
export const cpu = (ms: number): string =>
  `export default { fetch(req) {
  const ms = Number(new URL(req.url).searchParams.get("ms") ?? ${ms});
  const end = performance.now() + ms;
  while (performance.now() < end);
  return new Response("done");
} }`;

/** Polls `check` until it holds (a state without an event to await); fails after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
