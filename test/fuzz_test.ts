/**
 * Fuzzing as a suite: fast-check properties over every HTTP route of a peer's
 * app and over every wire decoder a peer trusts no further than its input —
 * the frame reader and writer, invoke heads, RPC error replies, the load a
 * peer piggybacks (SWIM meta, invoke responses), the pool's messages — and over the mesh's servers fed
 * random frames.
 *
 * The contract: an answer is a success or a JSON 4xx, never a 5xx that is
 * not the function's own failure; a parser returns a value or throws its
 * typed error, never anything else; nothing hangs. `npm test` runs a few
 * hundred seeded cases in bounded time; `deno task fuzz` (bench/fuzz.ts)
 * runs 10,000 of each and checks memory.
 *
 * Each suite is exported, so bench/fuzz.ts runs the same properties longer.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeVarint, FrameBatch, FrameReader, writeFrame } from "../p2p/frames.ts";
import {
  decodeRequestHead,
  decodeResponseHead,
  requestFromHead,
  requestHandler,
} from "../p2p/invoke.ts";
import { decodeErrorReply } from "../p2p/rpc.ts";
import { decodeLoad, fromLoadWire } from "../p2p/meta.ts";
import { createMesh, MeshError, type MeshInternals } from "../p2p/mod.ts";
import { fakeLoad } from "../p2p/_testing.ts";
import { decodeReply, decodeRequest, encodeMessage } from "../kv/wire.ts";
import { KvError } from "../kv/errors.ts";
import { resolveConfig } from "../runtime/config.ts";
import { silentLogger } from "../runtime/log.ts";
import { startPeer } from "../runtime/peer.ts";

/** How long one run of a suite may take. */
export interface FuzzOptions {
  /** Cases per property. */
  runs: number;
  /** fast-check seed: the same seed replays the same cases. */
  seed: number;
}

/** What a suite reports besides passing. */
export interface SuiteResult {
  cases: number;
  /** Notes on what the cases met (error classes, statuses), for the long run's report. */
  notes: Record<string, number>;
}

/** A named group of properties. */
export interface Suite {
  name: string;
  run(opts: FuzzOptions): Promise<SuiteResult>;
}

const te = new TextEncoder();
const opts = { sanitizeOps: false, sanitizeResources: false };

/** Rejects when `p` takes longer than `ms`: a hang is a failure, not a stuck suite. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Hang: ${what} took over ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const count = (notes: Record<string, number>, key: string) => {
  notes[key] = (notes[key] ?? 0) + 1;
};

// ---------------------------------------------------------------------------
// Shared arbitraries

/** A method as an HTTP server may hand it over: known, forbidden, lower case, or any token. */
const method = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "PATCH",
      "OPTIONS",
      "TRACE",
      "TRACK",
      "CONNECT",
      "get",
      "post",
      "put",
      "delete",
      "head",
      "patch",
      "trace",
      "M-SEARCH",
      "PROPFIND",
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}$/) },
);

/** A header value `Headers` accepts: visible latin1 and spaces. */
const headerValue = fc.oneof(
  fc.string({ maxLength: 64 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)) }),
);

/** Bytes, JSON text, and JSON that looks like what a route or decoder expects. */
const jsonText = fc.json({ maxDepth: 3 });

/** A value to substitute into an otherwise valid object. */
const anyValue = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1.5, 1e308, -1e308, "", "x".repeat(300), null, [], {}, true),
);

/**
 * A valid object with one field replaced by anything or removed, or one
 * field added (a prototype key among them): what a confused or hostile peer sends.
 */
function nearly<T extends Record<string, unknown>>(valid: T): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(valid) },
    fc.tuple(fc.constantFrom(...keys), anyValue).map(([k, v]) => ({ ...valid, [k]: v })),
    fc.constantFrom(...keys).map((k) => {
      const copy: Record<string, unknown> = { ...valid };
      delete copy[k];
      return copy;
    }),
    fc.tuple(fc.constantFrom("__proto__", "constructor", "extra"), anyValue).map(([k, v]) => {
      // An own key even for __proto__, as JSON.parse makes it.
      const copy: Record<string, unknown> = { ...valid };
      Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true });
      return copy;
    }),
  );
}

/** Bytes for a JSON decoder: garbage, any JSON, or a near-valid object. */
function jsonBytes(valid: Record<string, unknown>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 1, arbitrary: jsonText.map((s) => te.encode(s)) },
    { weight: 4, arbitrary: nearly(valid).map((v) => te.encode(JSON.stringify(v) ?? "null")) },
  );
}

// ---------------------------------------------------------------------------
// Decoders

/** A load on the wire (`p2p/meta.ts`): `[v, inflight, queued, cores, delay, total, free, digest, count, http]`. */
const LOAD = [1, 1, 0, 2, 0.5, 1024, 512, "ab".repeat(32), 3, "http://127.0.0.1:1"];

/** The load array with one element replaced by anything, one dropped, or one added. */
const nearLoad: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(LOAD) },
  fc.tuple(fc.nat(LOAD.length - 1), anyValue).map(([i, v]) => LOAD.map((x, j) => j === i ? v : x)),
  fc.nat(LOAD.length - 1).map((i) => LOAD.filter((_, j) => j !== i)),
  anyValue.map((v) => [...LOAD, v]),
);

function typed(err: unknown, codes: string[]): void {
  if (!(err instanceof MeshError) || !codes.includes(err.code)) {
    throw new Error(`Untyped throw: ${(err as Error)?.name}: ${(err as Error)?.message}`, {
      cause: err,
    });
  }
}

/** Invoke heads, RPC error replies, loads. */
export const decoders: Suite = {
  name: "decoders",
  run({ runs, seed }) {
    const notes: Record<string, number> = {};
    const head = { method: "POST", url: "http://fn/x?y=1", headers: [["cookie", "a=b"]] };
    fc.assert(
      fc.property(jsonBytes(head), (bytes) => {
        let decoded;
        try {
          decoded = decodeRequestHead(bytes);
        } catch (err) {
          typed(err, ["BAD_FRAME"]);
          return count(notes, "request head refused");
        }
        try {
          const req = requestFromHead(decoded, null);
          assert.equal(req.method, decoded.method);
          count(notes, "request head accepted");
        } catch (err) {
          typed(err, ["BAD_FRAME"]);
          count(notes, "request head not a request");
        }
      }),
      { numRuns: runs, seed },
    );
    const resHead = { status: 200, statusText: "OK", headers: [["x-a", "b"]] };
    fc.assert(
      fc.property(jsonBytes(resHead), (bytes) => {
        let decoded;
        try {
          decoded = decodeResponseHead(bytes);
        } catch (err) {
          typed(err, ["BAD_FRAME"]);
          return count(notes, "response head refused");
        }
        // The caller builds a Response from any head it accepts: that must never throw.
        new Response(null, decoded);
        count(notes, "response head accepted");
      }),
      { numRuns: runs, seed },
    );
    fc.assert(
      fc.property(jsonBytes({ code: "PEER_FAILED", message: "x" }), (bytes) => {
        const err = decodeErrorReply(bytes);
        assert.ok(err instanceof MeshError);
        assert.equal(typeof err.code, "string");
        count(notes, err.code === "BAD_FRAME" ? "error reply refused" : "error reply accepted");
      }),
      { numRuns: runs, seed },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          jsonText.map((t) => te.encode(t)),
          { weight: 4, arbitrary: nearLoad.map((v) => te.encode(JSON.stringify(v) ?? "null")) },
        ),
        (bytes) => {
          const load = decodeLoad(bytes);
          if (load === undefined) return count(notes, "load refused");
          for (
            const k of ["inflight", "queued", "cores", "loopDelayMs", "poolFreeBytes"] as const
          ) {
            assert.ok(Number.isFinite(load[k]) && load[k] >= 0, k);
          }
          assert.ok(load.cores > 0);
          assert.equal(typeof load.catalog.digest, "string");
          assert.ok(Object.getPrototypeOf(load) === Object.prototype);
          count(notes, "load accepted");
        },
      ),
      { numRuns: runs, seed },
    );
    fc.assert(
      // On an invoke response the load arrives parsed already, as any JSON value.
      fc.property(nearLoad, (value) => {
        const load = fromLoadWire(value);
        count(notes, load === undefined ? "response load refused" : "response load accepted");
      }),
      { numRuns: runs, seed },
    );
    return Promise.resolve({ cases: runs * 5, notes });
  },
};

// ---------------------------------------------------------------------------
// The pool's wire format (kv/wire.ts)

const KV_REQUESTS: Record<string, unknown>[] = [
  { t: "get", k: "a" },
  { t: "mget", k: ["a", "b"] },
  { t: "apply", r: [{ k: "a", v: "1", n: 0 }] },
  { t: "write", k: "a", ttl: 5 },
  { t: "list", p: "", l: 10 },
  { t: "alloc", s: 10 },
  { t: "release", b: "b1" },
  { t: "prep", k: "a", b: "1" },
  { t: "acc", b: "1", r: { k: "a", v: "1", n: 1 } },
  { t: "members", m: ["p"], x: { p: 1 } },
];
const KV_REPLIES: Record<string, unknown>[] = [
  { t: "rec", r: null },
  { t: "recs", r: [null, { k: "a", v: "1", n: 0 }] },
  { t: "vers", v: ["1"] },
  { t: "put", v: "1", e: true },
  { t: "keys", e: [["a", "1", 0]] },
  { t: "addr", a: "x" },
  { t: "ok" },
  { t: "paxos", ok: true, r: null },
];

/** A pool message: `[u32 head length][head][payload]`, with a truthful or a lying length. */
function kvMessage(heads: Record<string, unknown>[]): fc.Arbitrary<Uint8Array> {
  const body = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.oneof(...heads.map((h) => nearly(h))).map((v) =>
        te.encode(JSON.stringify(v) ?? "null")
      ),
    },
    { weight: 1, arbitrary: jsonText.map((s) => te.encode(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    {
      weight: 6,
      arbitrary: fc.tuple(
        body,
        fc.uint8Array({ maxLength: 32 }),
        fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, {
          weight: 1,
          arbitrary: fc.nat(),
        }),
      ).map(
        ([h, payload, lie]) => {
          const out = new Uint8Array(4 + h.length + payload.length);
          new DataView(out.buffer).setUint32(0, lie ?? h.length);
          out.set(h, 4);
          out.set(payload, 4 + h.length);
          return out;
        },
      ),
    },
  );
}

/**
 * `decodeRequest` / `decodeReply` of kv/wire.ts: every malformed message is refused with the
 * pool's typed error (`KvError` `BAD_FRAME`), and every message they accept round-trips.
 */
export const kvWire: Suite = {
  name: "kv wire",
  run({ runs, seed }) {
    const notes: Record<string, number> = {};
    const check = (decode: typeof decodeRequest | typeof decodeReply, what: string) =>
    (
      bytes: Uint8Array,
    ) => {
      let msg;
      try {
        msg = decode(bytes);
      } catch (err) {
        if (!(err instanceof KvError) || err.code !== "BAD_FRAME") {
          throw new Error(`Unexpected throw: ${String(err)}`, { cause: err });
        }
        return count(notes, `${what} refused (BAD_FRAME)`);
      }
      const again = decode(encodeMessage(msg.head as never, msg.payload));
      assert.deepEqual(again.head, msg.head);
      assert.deepEqual(again.payload, msg.payload);
      count(notes, `${what} accepted`);
    };
    fc.assert(fc.property(kvMessage(KV_REQUESTS), check(decodeRequest, "request")), {
      numRuns: runs,
      seed,
    });
    fc.assert(fc.property(kvMessage(KV_REPLIES), check(decodeReply, "reply")), {
      numRuns: runs,
      seed,
    });
    return Promise.resolve({ cases: runs * 2, notes });
  },
};

// ---------------------------------------------------------------------------
// Frames (p2p/frames.ts)

/**
 * A stream as the frame reader sees one: it delivers chunks only while not
 * paused, as yamux does once it stops granting window.
 */
class FakeStream extends EventTarget {
  status = "open";
  readStatus = "readable";
  remoteWriteStatus = "writable";
  writableNeedsDrain = false;
  sent: Uint8Array[] = [];
  #resumed: (() => void) | undefined;
  #abandoned = false;

  pause(): void {
    this.readStatus = "paused";
  }
  resume(): void {
    this.readStatus = "readable";
    this.#resumed?.();
    this.#resumed = undefined;
  }
  /** The reader threw: as its owner would, abort the stream, so the sender stops. */
  abandon(): void {
    this.#abandoned = true;
    this.resume();
  }
  send(b: Uint8Array): boolean {
    this.sent.push(b.slice());
    return true;
  }
  async feed(chunks: Uint8Array[], end: "end" | "reset"): Promise<void> {
    for (const c of chunks) {
      while (this.readStatus === "paused" && !this.#abandoned) {
        await new Promise<void>((r) => (this.#resumed = r));
      }
      if (this.#abandoned) return;
      this.dispatchEvent(Object.assign(new Event("message"), { data: c }));
      await null;
    }
    if (end === "end") {
      this.remoteWriteStatus = "closed";
      this.dispatchEvent(new Event("remoteCloseWrite"));
    } else {
      this.status = "reset";
      this.dispatchEvent(Object.assign(new Event("close"), { error: new Error("reset") }));
    }
  }
}

/** Split `bytes` at the given cut sizes (cycled). */
function chunk(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(bytes.subarray(off, off + n));
    off += n;
  }
  return out;
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

/** Read every frame until the end; the reader's outcome. */
async function readAll(
  bytes: Uint8Array,
  sizes: number[],
  end: "end" | "reset",
  maxBytes: number,
  highWater: number,
): Promise<{ frames: Uint8Array[]; error?: unknown }> {
  const stream = new FakeStream();
  const reader = new FrameReader(stream as never, { highWater });
  const feeding = stream.feed(chunk(bytes, sizes), end);
  const frames: Uint8Array[] = [];
  try {
    while (true) {
      const f = await reader.next(maxBytes);
      if (f === null) break;
      frames.push(f.slice());
    }
    return { frames };
  } catch (error) {
    return { frames, error };
  } finally {
    // After a throw the reader lifts no pause: the stream is aborted, as its owner does.
    stream.abandon();
    await feeding;
  }
}

const sizes = fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 });

/** The frame reader on any bytes, in any chunks, under backpressure; the batch writer's output. */
export const frames: Suite = {
  name: "frames",
  async run({ runs, seed }) {
    const notes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }),
          fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }).map((fs) =>
            concat(fs.flatMap((f) => [encodeVarint(f.length), f]))
          ),
          fc.tuple(fc.nat({ max: 2 ** 40 }), fc.uint8Array({ maxLength: 64 })).map(([n, b]) =>
            concat([encodeVarint(n), b])
          ),
        ),
        sizes,
        fc.constantFrom<"end" | "reset">("end", "reset"),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 4096 }),
        async (bytes, cuts, end, maxBytes, highWater) => {
          const { error } = await within(
            readAll(bytes, cuts, end, maxBytes, highWater),
            5_000,
            "reading frames",
          );
          if (error !== undefined) typed(error, ["BAD_FRAME", "FRAME_TOO_LARGE", "PEER_FAILED"]);
          count(
            notes,
            error === undefined ? "read to the end" : `threw ${(error as MeshError).code}`,
          );
        },
      ),
      { numRuns: runs, seed },
    );
    // Round trip: what a batch writes, any chunking reads back, under any high-water mark.
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tag: fc.integer({ min: 0, max: 255 }),
            body: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 20_000 })),
            copy: fc.boolean(),
            flush: fc.boolean(),
          }),
          { maxLength: 12 },
        ),
        sizes,
        fc.integer({ min: 1, max: 100_000 }),
        async (list, cuts, highWater) => {
          const out = new FakeStream();
          const batch = new FrameBatch();
          let expected = 0;
          for (const f of list) {
            batch.add([new Uint8Array([f.tag]), f.body], f.copy);
            expected += encodeVarint(f.body.length + 1).length + f.body.length + 1;
            assert.equal(batch.byteLength, expected);
            if (f.flush) {
              await batch.flush(out as never);
              expected = 0;
            }
          }
          await batch.flush(out as never);
          await writeFrame(out as never, [new Uint8Array([7])]);
          const { frames, error } = await within(
            readAll(concat(out.sent), cuts, "end", 30_000, highWater),
            5_000,
            "reading frames back",
          );
          assert.equal(error, undefined);
          assert.deepEqual(
            frames,
            [...list.map((f) => concat([new Uint8Array([f.tag]), f.body])), new Uint8Array([7])],
          );
          count(notes, "round trip");
        },
      ),
      { numRuns: runs, seed },
    );
    return { cases: runs * 2, notes };
  },
};

// ---------------------------------------------------------------------------
// The mesh's servers fed random frames

const PROTOCOLS = [
  "/virgo/invoke/1.0.0",
  "/fuzz/rpc/1.0.0",
  "/virgo/swim/1.0.0",
  "/virgo/leave/1.0.0",
];

function frame(tag: number | undefined, body: Uint8Array): Uint8Array {
  const payload = tag === undefined ? body : concat([new Uint8Array([tag]), body]);
  return concat([encodeVarint(payload.length), payload]);
}

/** One random frame for an invoke, RPC, SWIM or leave stream. */
const wireFrame = fc.oneof(
  fc.tuple(fc.constantFrom(1, 2, 3, 4, 9, 0), fc.uint8Array({ maxLength: 64 })).map(([t, b]) =>
    frame(t, b)
  ),
  nearly({ method: "POST", url: "http://fn/x", headers: [] }).map((h) =>
    frame(1, te.encode(JSON.stringify(h) ?? ""))
  ),
  fc.constantFrom(frame(3, new Uint8Array()), frame(2, te.encode("body"))),
  nearly({ t: "ping", seq: 1, updates: [] }).map((m) =>
    frame(undefined, te.encode(JSON.stringify(m) ?? ""))
  ),
  fc.constantFrom(frame(undefined, new Uint8Array([1]))),
  fc.uint8Array({ maxLength: 16 }),
  fc.constant(Uint8Array.from(encodeVarint(2 ** 30))),
);

/**
 * What arrived of a request: method, URL as parsed, headers, body bytes.
 * Headers as a list of values rebuilt into `Headers` has them: repeated
 * names come combined (`a, `) and are trimmed again on arrival (`a,`), which
 * HTTP holds equal (RFC 9110 §5.3: empty list elements do not count).
 */
async function describe(req: Request): Promise<string> {
  const body = req.body ? new Uint8Array(await req.arrayBuffer()) : null;
  const headers = [...new Headers([...req.headers])];
  return JSON.stringify([req.method, new URL(req.url).href, headers, body && [...body]]);
}

/** Latin1 text of visible characters, some long (headers and URLs up to what Deno.serve takes). */
const wide = (max: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: max }) },
  ).map((s) => s.replace(/[^\x21-\x7e]/g, "a"));

/**
 * A request as `Deno.serve` hands one over (any method, even those the
 * Request constructor refuses, named as they came), within its 64 KiB head.
 */
const served = fc.record({
  method,
  path: wide(24_000),
  headers: fc.array(fc.tuple(fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,20}$/), wide(12_000)), {
    maxLength: 6,
  }),
  body: fc.option(fc.uint8Array({ maxLength: 3000 }), { nil: undefined }),
});

function servedRequest(
  { method, path, headers, body }: {
    method: string;
    path: string;
    headers: [string, string][];
    body: Uint8Array | undefined;
  },
): Request {
  const upper = method.toUpperCase();
  const noBody = upper === "GET" || upper === "HEAD";
  const forbidden = ["CONNECT", "TRACE", "TRACK"].includes(upper);
  const req = new Request(`http://fn/describe/${encodeURI(path)}`, {
    method: forbidden ? (noBody ? "GET" : "POST") : method,
    headers,
    ...(noBody || body === undefined ? {} : { body: body as BodyInit }),
  });
  if (req.method !== method) Object.defineProperty(req, "method", { value: method });
  return req;
}

/**
 * Two in-process meshes; one sends random frame sequences on the invoke, an
 * RPC, the SWIM and the leave protocol. Every stream ends, and the receiver keeps
 * answering real calls. Then real invokes of any request cross intact.
 */
export const wire: Suite = {
  name: "mesh servers",
  async run({ runs, seed }) {
    const notes: Record<string, number> = {};
    const dirs = await Promise.all([0, 1].map(() => Deno.makeTempDir({ prefix: "virgo-fuzz-" })));
    const start = (dataDir: string, join: string[]) =>
      createMesh({
        dataDir,
        listen: ["/ip4/127.0.0.1/tcp/0"],
        join,
        mdns: false,
        localLoad: () => fakeLoad(),
        logger: silentLogger,
      });
    const a = await start(dirs[0]!, []);
    const b: MeshInternals = await start(dirs[1]!, a.addrs());
    try {
      await a.serveInvoke(
        requestHandler(async (req) =>
          new URL(req.url).pathname.startsWith("/describe/")
            ? new Response(await describe(req))
            : new Response(req.body ? await req.text() : "none")
        ),
      );
      await a.handle("/fuzz/rpc/1.0.0", (req) => Promise.resolve(req));
      await within(
        (async () => {
          while (!a.peers().some((p) => p.peerId === b.peerId)) {
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
        10_000,
        "join",
      );
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...PROTOCOLS),
          fc.array(wireFrame, { maxLength: 6 }),
          fc.boolean(),
          async (protocol, frames, closeWrite) => {
            const stream = await b.node.dialProtocol(a.node.peerId, protocol);
            const ended = new Promise((r) => stream.addEventListener("close", r, { once: true }));
            for (const f of frames) stream.send(f);
            if (closeWrite) await stream.close().catch(() => {});
            else {
              // Leave it open a moment, then give up on it as a client would.
              await new Promise((r) => setTimeout(r, 5));
              stream.abort(new Error("client gave up"));
            }
            await within(ended, 10_000, `a ${protocol} stream to end`);
            count(notes, `${protocol} stream ${stream.status}`);
            // Every few cases, the receiver still serves real calls on every protocol.
            if (n++ % 10 === 0) {
              const res = await b.invoke(
                a.peerId,
                new Request("http://fn/ok", { method: "POST", body: "still" }),
              );
              assert.equal(await res.text(), "still");
              assert.deepEqual(
                await b.request(a.peerId, "/fuzz/rpc/1.0.0", new Uint8Array([1])),
                new Uint8Array([1]),
              );
            }
          },
        ),
        { numRuns: runs, seed },
      );
      assert.ok(a.peers().some((p) => p.peerId === b.peerId), "still a member");
      // Any request an HTTP server hands over crosses intact: method, URL, headers, body.
      await fc.assert(
        fc.asyncProperty(served, async (r) => {
          const want = await describe(servedRequest(r));
          const res = await within(b.invoke(a.peerId, servedRequest(r)), 10_000, "an invoke");
          assert.equal(await res.text(), want);
          count(notes, "invoke crossed intact");
        }),
        { numRuns: runs, seed },
      );
    } finally {
      await b.stop();
      await a.stop();
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    }
    return { cases: runs * 2, notes };
  },
};

// ---------------------------------------------------------------------------
// Every HTTP route of the app

/** Codes of a function's own failure: the only 5xx answers allowed, and only on /fn/*. */
const FUNCTION_FAILURES = new Set([
  "FUNCTION_ERROR",
  "FUNCTION_CRASHED",
  "FUNCTION_MEMORY_LIMIT",
  "FUNCTION_TIMEOUT",
]);

/** Functions the app fuzz calls; fuzzed deploys and deletes leave these names alone. */
const FUNCTIONS: Record<string, string> = {
  echo: "export default { async fetch(r) { const b = r.body ? (await r.arrayBuffer()).byteLength" +
    " : -1; return Response.json({ m: r.method, u: r.url, b }); } }",
  json:
    "export default { async fetch(r) { return Response.json({ t: typeof (await r.json()) }) } }",
  boom: "export default { fetch() { throw new Error('boom'); } }",
};

/** Stands for this peer's id in a generated path (known only once the peer runs). */
const SELF = "{self}";

/** Code a fuzzed deploy may carry: valid, broken, or any text. */
const code = fc.oneof(
  fc.constantFrom(
    "export default { fetch: () => new Response('fz') }",
    "export default { fetch() { throw new Error('x') } }",
    "export default {}",
    "export default { fetch: (",
    "import 'npm:left-pad'; export default { fetch: () => new Response('x') }",
    "",
  ),
  fc.string({ maxLength: 200 }),
);

/** A path segment a client might send: odd, encoded, or plain. */
const oddSegment = fc.oneof(
  fc.constantFrom("..", ".", "%", "%ZZ", "%00", "%E0%A4%A", "%2F", "%20", "", "UPPER", "a:b"),
  fc.string({ maxLength: 12, unit: "grapheme" }).map(encodeURIComponent),
  fc.string({ maxLength: 12 }),
  fc.stringMatching(/^[a-z0-9_-]{60,70}$/),
);
/** A good segment mostly, an odd one sometimes. */
const seg = (good: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: oddSegment });

const fnName = seg(fc.stringMatching(/^fz-[a-z0-9]{1,4}$/));
const secretName = seg(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/));
const kvKey = fc.array(seg(fc.stringMatching(/^[a-z]{1,4}$/)), { minLength: 1, maxLength: 3 })
  .map((a) => a.join("/"));
const memAddr = seg(
  fc.oneof(
    fc.stringMatching(/^[0-9a-f]{16}$/).map((b) => `${SELF}:${b}`),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,20}:[0-9a-f]{16}$/),
  ),
);

const query = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom("prefix", "after", "limit", "ttl", "offset", "name"),
      fc.string({ maxLength: 6 }),
    ),
    fc.oneof(
      fc.integer({ min: -5, max: 2000 }).map(String),
      fc.integer().map(String),
      fc.double().map(String),
      fc.constantFrom("", "-1", "0", "1e999", "NaN", "%", "a/b", "9007199254740993"),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    ),
  ),
  { maxLength: 3 },
).map((pairs) =>
  pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join("&")}`
);

const headers = fc.array(
  fc.oneof(
    fc.tuple(
      fc.constant("content-type"),
      fc.constantFrom("application/json", "text/plain", "application/octet-stream"),
    ),
    fc.tuple(fc.constant("if-match"), fc.oneof(headerValue, fc.constantFrom("*", '"1"', 'W/"x"'))),
    fc.tuple(
      fc.constant("x-virgo-route"),
      fc.oneof(
        fc.constantFrom("local", "random", "p2c", "least-loaded", "nowhere"),
        fc.constant("12D3KooWFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake"),
        headerValue,
      ),
    ),
    fc.tuple(
      fc.constantFrom("authorization", "x-virgo-admin", "x-virgo-request-id", "cookie", "accept"),
      headerValue,
    ),
    fc.tuple(fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,16}$/), headerValue),
  ),
  { maxLength: 4 },
);

const bytes = fc.uint8Array({ maxLength: 2048 });
const anyBody = fc.oneof(
  fc.constant(undefined),
  jsonText,
  bytes,
  fc.string({ maxLength: 256 }),
);
const deployBody = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      code,
      vars: fc.dictionary(
        fc.string({ maxLength: 8 }),
        fc.oneof(fc.string({ maxLength: 8 }), anyValue),
        { maxKeys: 3 },
      ),
      timeoutMs: anyValue,
      memoryMb: anyValue,
      public: anyValue,
      allowNet: anyValue,
    }, { requiredKeys: ["code"] }).map((v) => JSON.stringify(v)),
  },
  { weight: 1, arbitrary: anyBody },
);

/** One request to the app: as `Deno.serve` would hand it over, any method included. */
interface Call {
  method: string;
  path: string;
  query: string;
  headers: Array<[string, string]>;
  body: string | Uint8Array | undefined;
}

/** A call from a route's own methods, path shape and body, or any method on it. */
function route(
  methods: string[],
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<string | Uint8Array | undefined> = anyBody,
): fc.Arbitrary<Call> {
  return fc.record({
    method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...methods) }, {
      weight: 1,
      arbitrary: method,
    }),
    path,
    query,
    headers,
    body,
  });
}

const fnCall = fc.record({
  method,
  path: fc.tuple(
    fc.constantFrom(...Object.keys(FUNCTIONS), "missing"),
    fc.array(oddSegment, { maxLength: 2 }),
  ).map(([n, rest]) => `/fn/${n}${rest.map((s) => `/${s}`).join("")}`),
  query,
  headers,
  body: anyBody,
});

const call: fc.Arbitrary<Call> = fc.oneof(
  { weight: 6, arbitrary: fnCall },
  {
    weight: 1,
    arbitrary: route(
      ["GET"],
      fc.constantFrom("/", "/healthz", "/metrics", "/v1/status", "/v1/peers", "/v1/functions"),
    ),
  },
  {
    weight: 1,
    arbitrary: route(["DELETE"], seg(fc.constant("12D3KooWFake")).map((s) => `/v1/peers/${s}`)),
  },
  {
    weight: 3,
    arbitrary: route(["PUT", "GET", "DELETE"], fnName.map((n) => `/v1/functions/${n}`), deployBody),
  },
  { weight: 1, arbitrary: route(["GET"], fnName.map((n) => `/v1/functions/${n}/secrets`)) },
  {
    weight: 2,
    arbitrary: route(
      ["PUT", "DELETE"],
      fc.tuple(fnName, secretName).map(([n, k]) => `/v1/functions/${n}/secrets/${k}`),
    ),
  },
  { weight: 1, arbitrary: route(["GET"], fc.constant("/v1/kv")) },
  {
    weight: 4,
    arbitrary: route(
      ["PUT", "GET", "DELETE"],
      kvKey.map((k) => `/v1/kv/${k}`),
      fc.oneof(bytes, anyBody),
    ),
  },
  {
    weight: 2,
    arbitrary: route(
      ["POST"],
      fc.constant("/v1/mem"),
      fc.oneof(nearly({ size: 16 }).map((v) => JSON.stringify(v) ?? ""), anyBody),
    ),
  },
  {
    weight: 3,
    arbitrary: route(
      ["PUT", "GET", "DELETE"],
      memAddr.map((a) => `/v1/mem/${a}`),
      fc.oneof(bytes, anyBody),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method,
      path: fc.array(oddSegment, { maxLength: 4 }).map((a) => `/${a.join("/")}`),
      query,
      headers,
      body: anyBody,
    }),
  },
);

function toRequest(c: Call, self: string): Request | undefined {
  const upper = c.method.toUpperCase();
  const noBody = upper === "GET" || upper === "HEAD";
  const standIn = ["CONNECT", "TRACE", "TRACK"].includes(upper)
    ? (noBody ? "GET" : "POST")
    : c.method;
  let req: Request;
  try {
    req = new Request(`http://127.0.0.1${c.path.replaceAll(SELF, self)}${c.query}`, {
      method: standIn,
      headers: c.headers,
      ...(noBody || c.body === undefined ? {} : { body: c.body as BodyInit }),
    });
  } catch {
    return undefined; // Not a request a client could send.
  }
  if (req.method !== c.method) Object.defineProperty(req, "method", { value: c.method });
  return req;
}

/** The property every answer of the app must hold. */
async function checkAnswer(
  c: Call,
  res: Response,
  notes: Record<string, number>,
  retry?: () => Promise<Response>,
): Promise<void> {
  const what = `${c.method} ${c.path}${c.query}`;
  const text = await res.text();
  assert.ok(res.status >= 200 && res.status <= 599, `${what}: status ${res.status}`);
  if (res.status < 400) return count(notes, `${res.status}`);
  if (c.method.toUpperCase() === "HEAD") {
    // No body to read the code from: a HEAD answered 5xx must be a function's own failure as GET.
    if (res.status >= 500 && retry !== undefined) {
      const get = await retry();
      assert.equal(get.status, res.status, `${what}: HEAD ${res.status}, GET ${get.status}`);
      return await checkAnswer({ ...c, method: "GET" }, get, notes);
    }
    return count(notes, `${res.status} (HEAD)`);
  }
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, `${what}: not JSON`);
  const json = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof json.error?.code, "string", `${what}: ${text}`);
  assert.equal(typeof json.error?.message, "string", `${what}: ${text}`);
  const code = json.error!.code as string;
  count(notes, `${res.status} ${code}`);
  if (res.status >= 500) assert.ok(expected5xx(c, code), `${what}: ${res.status} ${text}`);
}

/**
 * The 5xx answers that are no fault of the peer: a function's own failure,
 * and a call pinned (`x-virgo-route`) to a peer the mesh does not have,
 * which may have just left (503 `NO_PEER_AVAILABLE`; reported, as a pin of
 * an unknown peer could be a 4xx instead).
 */
function expected5xx(c: Call, code: string): boolean {
  if (!c.path.startsWith("/fn/")) return false;
  if (FUNCTION_FAILURES.has(code)) return true;
  const pinsPeer = c.headers.some(([k, v]) =>
    k === "x-virgo-route" && /^[1-9A-HJ-NP-Za-km-z]{40,64}$/.test(v)
  );
  return code === "NO_PEER_AVAILABLE" && pinsPeer;
}

/** Start a peer for the app fuzz and deploy its functions. */
async function fuzzPeer() {
  const data = await Deno.makeTempDir({ prefix: "virgo-fuzz-app-" });
  const peer = await startPeer(
    resolveConfig({ http: "127.0.0.1:0", p2p: "/ip4/127.0.0.1/tcp/0", data, spares: 0 }),
    silentLogger,
  );
  for (const [name, source] of Object.entries(FUNCTIONS)) {
    const res = await peer.app.request(`/v1/functions/${name}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: source }),
    });
    assert.equal(res.status, 201, await res.text());
  }
  return {
    app: peer.app,
    peerId: peer.peerId,
    async stop() {
      await peer.stop();
      await Deno.remove(data, { recursive: true }).catch(() => {});
    },
  };
}

/** Every route of an app built from real parts, through `app.fetch()`. */
export const app: Suite = {
  name: "app routes",
  async run({ runs, seed }) {
    const notes: Record<string, number> = {};
    const peer = await fuzzPeer();
    try {
      await fc.assert(
        fc.asyncProperty(call, async (c) => {
          const req = toRequest(c, peer.peerId);
          fc.pre(req !== undefined);
          const res = await within(
            Promise.resolve(peer.app.fetch(req!)),
            20_000,
            `${c.method} ${c.path}`,
          );
          await checkAnswer(c, res, notes, async () => {
            const get = toRequest({ ...c, method: "GET" }, peer.peerId)!;
            return await peer.app.fetch(get);
          });
        }),
        { numRuns: runs, seed },
      );
    } finally {
      await peer.stop();
    }
    return { cases: runs, notes };
  },
};

/** Every suite, in the order the long run takes them. */
export const SUITES: Suite[] = [decoders, kvWire, frames, wire, app];

// ---------------------------------------------------------------------------
// In `npm test`: a few hundred seeded cases, bounded time.

const SEED = 20261127;

/** Cases per property in `npm test`: a few seconds in all on a loaded 2-core machine. */
const TEST_RUNS: Array<[Suite, number]> = [
  [decoders, 300],
  [kvWire, 300],
  [frames, 300],
  [wire, 120],
  [app, 400],
];

for (const [suite, runs] of TEST_RUNS) {
  Deno.test(`fuzz: ${suite.name} (${runs} seeded cases a property)`, opts, async () => {
    await suite.run({ runs, seed: SEED });
  });
}
