/**
 * Inside the child: the `env.KV` client (calls go to the host as frames) and the console
 * capture (output goes to the host as LOG frames, never to stdout, which carries frames).
 *
 * @module
 */
import { type FrameWriter, json, jsonPart, T } from "./_frame.ts";
import { CONSOLE_LEVELS, type ConsoleLevel } from "./_levels.ts";

/** An async-context variable: what `AsyncLocalStorage` offers, for one string. */
export interface Current {
  run<R>(id: string, fn: () => R): R;
  getStore(): string | undefined;
}

type AsyncVar = { enter(v: unknown): unknown; get(): unknown };
type Core = { AsyncVariable?: new () => AsyncVar; setAsyncContext?: (c: unknown) => void };

/**
 * The request id of the call whose code is running, for log attribution. Deno's own
 * `AsyncVariable` is used when present: `node:async_hooks`'s `AsyncLocalStorage` is built on it
 * (its `run` is the same enter and restore), so the two compose and cost the same per call
 * (0.3–0.7 µs for a run and a read, either way), but importing it boots the Node compatibility
 * layer: measured on Deno 2.9.6, a child is ready 3.5 ms later with 3.8 MB more RSS (24.5 ms and
 * 40.6 MB against 21 ms and 36.8 MB). Falls back to that import on a Deno without it.
 * `AsyncVariable` is Deno's internal API: {@linkcode checkCurrent} holds it to what attribution
 * needs before any function code runs.
 */
export async function createCurrent(): Promise<Current> {
  const d = Deno as unknown as Record<symbol, { core?: Core } | undefined> & { internal: symbol };
  const core = d[d.internal]?.core;
  if (core?.AsyncVariable && core.setAsyncContext) {
    const v = new core.AsyncVariable();
    const set = core.setAsyncContext;
    return {
      run(id, fn) {
        const prev = v.enter(id);
        try {
          return fn();
        } finally {
          set(prev);
        }
      },
      getStore: () => v.get() as string | undefined,
    };
  }
  const { AsyncLocalStorage } = await import("node:async_hooks");
  return new AsyncLocalStorage<string>();
}

/** What the start-up check throws: not an Error (see checkCurrent). */
const THROWN = Symbol("thrown on purpose");

/**
 * Checks that `current` keeps a call's id as log attribution needs it: inside the call, after its
 * awaits while other calls interleave, in its microtasks, and nowhere once it returned or threw.
 * Throws, naming the first expectation that failed: a Deno whose internal `AsyncVariable` changed
 * must stop the child at start, not attribute one request's logs to another. Microtasks only, so
 * it costs a child's start nothing measurable; that timers carry the id too (Deno's timers keep
 * the async context, as `AsyncLocalStorage` needs) is checked by the tests, as a timer would cost
 * every child ~2 ms.
 *
 * @example
 * ```ts
 * await checkCurrent(await createCurrent()); // throws if attribution would be wrong
 * ```
 */
export async function checkCurrent(current: Current): Promise<void> {
  const expect = (what: string, got: unknown, want: string | undefined) => {
    if (got !== want) {
      throw new Error(
        `Log attribution is broken (did Deno's internal AsyncVariable change?): ${what}: ` +
          `expected ${want ?? "no request id"}, got ${got === undefined ? "none" : String(got)}`,
      );
    }
  };
  const id = () => current.getStore();
  expect("outside any call", id(), undefined);
  expect("inside a call", current.run("a", id), "a");
  expect("after a call", id(), undefined);
  expect("inside a nested call", current.run("a", () => current.run("b", id)), "b");
  expect("after a nested call", current.run("a", () => (current.run("b", id), id())), "a");
  try {
    current.run("c", () => {
      // Not an Error: the first stack a child captures costs ~0.8 ms (hideHost formats it), a
      // fresh process's start would pay it here.
      throw THROWN;
    });
  } catch { /* expected */ }
  expect("after a call that threw", id(), undefined);
  // Two calls waiting at once, resumed in the other order: each sees its own id.
  const first = Promise.withResolvers<void>();
  const second = Promise.withResolvers<void>();
  const x = current.run("x", async () => (await first.promise, id()));
  const y = current.run("y", async () => (await second.promise, id()));
  second.resolve();
  first.resolve();
  expect("after an await", await x, "x");
  expect("after an await, in the call resumed first", await y, "y");
  const inMicrotask = current.run("m", () => new Promise((r) => queueMicrotask(() => r(id()))));
  expect("in a microtask", await inMicrotask, "m");
  expect("outside any call, after all of them", id(), undefined);
}

const te = new TextEncoder();
const td = new TextDecoder();

type Pending = {
  resolve: (v: { r: Record<string, unknown>; tail: Uint8Array }) => void;
  reject: (e: Error) => void;
};

/** The `env.KV` object a function sees, plus the reply handler for KV_REPLY frames. */
export function createKv(out: FrameWriter): {
  kv: Record<string, unknown>;
  reply: (id: number, msg: unknown, tail: Uint8Array) => void;
} {
  const pending = new Map<number, Pending>();
  let seq = 0;
  const call = (op: Record<string, unknown>, value?: Uint8Array) => {
    const id = ++seq;
    out.send(T.KV_CALL, id, jsonPart(op, value));
    return new Promise<{ r: Record<string, unknown>; tail: Uint8Array }>((resolve, reject) =>
      pending.set(id, { resolve, reject })
    );
  };
  const encode = (v: unknown): Uint8Array => {
    if (v instanceof Uint8Array) return v;
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return te.encode(typeof v === "string" ? v : JSON.stringify(v));
  };
  type GetType = "text" | "json" | "bytes" | "arrayBuffer";
  type GetOpts = { type?: GetType; consistency?: "strong" | "eventual" };
  /** A get's op: Deno KV's `{ consistency }` (default strong), and Workers KV's type argument. */
  const getOp = (key: string, opts?: GetOpts) => {
    const op: Record<string, unknown> = { op: "get", key: String(key) };
    const consistency = opts?.consistency;
    if (consistency !== undefined) {
      if (consistency !== "strong" && consistency !== "eventual") {
        throw new TypeError(`consistency must be "strong" or "eventual": ${String(consistency)}`);
      }
      op.consistency = consistency;
    }
    return op;
  };
  const get = async (key: string, typeOrOpts?: GetType | GetOpts) => {
    const opts = typeof typeOrOpts === "string" ? { type: typeOrOpts } : typeOrOpts;
    const type = opts?.type;
    const { r, tail } = await call(getOp(key, opts));
    if (r.value === null) return null;
    if (type === "text") return td.decode(tail);
    if (type === "json") return JSON.parse(td.decode(tail));
    if (type === "arrayBuffer") return tail.slice().buffer;
    return tail;
  };
  const kv = {
    get,
    getText: (key: string, opts?: GetOpts) => get(key, { ...opts, type: "text" }),
    getJSON: (key: string, opts?: GetOpts) => get(key, { ...opts, type: "json" }),
    /** Also returns the full metadata: `{ value, version }`. */
    getWithVersion: async (key: string, opts?: GetOpts) => {
      const { r, tail } = await call(getOp(key, opts));
      return r.value === null ? null : { value: tail, version: r.version };
    },
    set: async (
      key: string,
      value: unknown,
      opts: { ttlSeconds?: number; ifMatch?: string } = {},
    ) => {
      const op: Record<string, unknown> = { op: "set", key: String(key) };
      if (opts.ttlSeconds !== undefined) op.ttlSeconds = opts.ttlSeconds;
      if (opts.ifMatch !== undefined) op.ifMatch = opts.ifMatch;
      return (await call(op, encode(value))).r;
    },
    put: (key: string, value: unknown, opts?: { ttlSeconds?: number; ifMatch?: string }) =>
      kv.set(key, value, opts),
    delete: async (key: string) => (await call({ op: "delete", key: String(key) })).r.deleted,
    list: async (opts: { prefix?: string; after?: string; limit?: number } = {}) => {
      const op: Record<string, unknown> = { op: "list" };
      if (opts.prefix !== undefined) op.prefix = opts.prefix;
      if (opts.after !== undefined) op.after = opts.after;
      if (opts.limit !== undefined) op.limit = opts.limit;
      return (await call(op)).r;
    },
  };
  const reply = (id: number, msg: unknown, tail: Uint8Array) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    const m = msg as { ok: boolean; r?: Record<string, unknown>; code?: string; message?: string };
    if (m.ok) p.resolve({ r: m.r ?? {}, tail });
    else {
      const err = new Error(m.message ?? "KV operation failed") as Error & { code?: string };
      err.code = m.code ?? "INTERNAL";
      err.name = "KvError";
      p.reject(err);
    }
  };
  return { kv: Object.freeze(kv), reply };
}

/** Sends one log line to the host: its level, its text, and the call it belongs to. */
export type Emit = (level: ConsoleLevel, args: unknown[], requestId?: string) => void;

/**
 * Replaces every console method: output goes to the host as LOG frames, at the level of
 * {@linkcode CONSOLE_LEVELS}. Deno's console writes to stdout, which carries frames, so no
 * original method may survive. Returns the sender, for lines the child itself logs (an uncaught
 * exception of a call).
 */
export function captureConsole(out: FrameWriter, maxChars: number, current: Current): Emit {
  const c = console as unknown as Record<string, unknown>;
  const emit: Emit = (level, args, requestId = current.getStore()) => {
    let m = args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ");
    if (m.length > maxChars) m = m.slice(0, maxChars) + "…";
    const r = requestId;
    out.send(T.LOG, 0, json(r === undefined ? { l: level, m } : { l: level, m, r }));
  };
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  for (const key of Object.keys(c)) {
    if (typeof c[key] !== "function") continue;
    const level = CONSOLE_LEVELS[key];
    c[key] = level ? (...args: unknown[]) => emit(level, args) : () => {};
  }
  c.assert = (cond: unknown, ...args: unknown[]) => {
    if (!cond) emit("error", ["Assertion failed", ...args]);
  };
  c.count = (label = "default") => {
    const n = (counts.get(label) ?? 0) + 1;
    counts.set(label, n);
    emit("info", [`${label}: ${n}`]);
  };
  c.countReset = (label = "default") => counts.delete(label);
  c.time = (label = "default") => timers.set(label, performance.now());
  const elapsed = (label: string, end: boolean, args: unknown[]) => {
    const t = timers.get(label);
    if (t === undefined) return;
    if (end) timers.delete(label);
    emit("info", [`${label}: ${(performance.now() - t).toFixed(3)}ms`, ...args]);
  };
  c.timeLog = (label = "default", ...args: unknown[]) => elapsed(label, false, args);
  c.timeEnd = (label = "default") => elapsed(label, true, []);
  return emit;
}

type CallSite = { getFileName(): string | null | undefined };
type Prepare = (e: unknown, frames: CallSite[]) => unknown;

/** `Error.prototype.toString`'s header, as V8 starts a stack with it. */
function stackHeader(e: unknown): string {
  try {
    const o = e as { name?: unknown; message?: unknown } | null;
    const name = o?.name === undefined ? "Error" : String(o.name);
    const message = o?.message === undefined ? "" : String(o.message);
    return !name ? message : !message ? name : `${name}: ${message}`;
  } catch {
    return "Error";
  }
}

/**
 * Hides what a function could learn of its host: `Deno.cwd()` answers `/` and
 * `Deno.execPath()` `deno` (neither needs a permission in Deno 2.9, and both name host
 * folders), `Deno.args` is empty (it holds the socket path), `Deno.mainModule` is the
 * function's own module rather than `_child.ts`, and stack traces lose the frames of this
 * folder's files, which name the host's checkout. Frames are dropped through
 * `Error.prepareStackTrace`, kept as a non-configurable accessor so a function's own
 * `prepareStackTrace` still works but sees the filtered frames.
 *
 * Not hidden: node's `process`, which would cost every child ~11 ms and 9 MB to patch up front
 * (it boots the Node compatibility layer), still shows the real `process.cwd()`, the deno
 * binary's path in `process.argv0` (non-configurable), and the socket path in `process.argv`.
 * Starting children in `/` would close the first; `Deno.pid` and `Deno.ppid` stay visible.
 *
 * @example
 * ```ts
 * const setMain = hideHost();
 * setMain("data:application/javascript,…", "hello.js"); // stacks say hello.js:3:11
 * ```
 */
export function hideHost(): (mainModule: string, file?: string) => void {
  const here = new URL(".", import.meta.url);
  const prefixes = [here.href, decodeURIComponent(here.pathname)];
  const d = Deno as unknown as Record<string, unknown>;
  d.cwd = () => "/";
  d.execPath = () => "deno";
  let main = "";
  // What a stack names the function's module by: its `data:` URL holds the whole source.
  let file = "";
  Object.defineProperty(Deno, "args", { get: () => [], configurable: true });
  Object.defineProperty(Deno, "mainModule", { get: () => main, configurable: true });
  let user: Prepare | undefined;
  const prepare: Prepare = (e, frames) => {
    const kept = frames.filter((f) => {
      const file = f.getFileName() ?? "";
      return !prefixes.some((p) => file.startsWith(p));
    });
    if (user) return user(e, kept);
    const at = (f: CallSite) => file && main ? String(f).replaceAll(main, file) : String(f);
    return stackHeader(e) + kept.map((f) => `\n    at ${at(f)}`).join("");
  };
  Object.defineProperty(Error, "prepareStackTrace", {
    configurable: false,
    get: () => prepare,
    set: (v: unknown) => user = typeof v === "function" && v !== prepare ? v as Prepare : undefined,
  });
  return (url, name = "") => {
    main = url;
    file = name;
  };
}
