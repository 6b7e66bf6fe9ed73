/**
 * Test helpers: specs from inline code, a recording logger and a pool factory.
 *
 * @module
 */
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
