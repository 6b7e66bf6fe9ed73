/** Request and response bodies stream through the channel with bounded memory. */
import assert from "node:assert/strict";
import { rejection, spec, startPool } from "./_testing.ts";
import type { KvOp, KvResult } from "./types.ts";

const MB = 1024 * 1024;

/** A stream of `total` bytes in `chunk`-sized pieces, made lazily. */
function bytes(total: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      c.enqueue(new Uint8Array(n).fill(sent % 251));
      sent += n;
    },
  });
}

async function count(body: ReadableStream<Uint8Array> | null): Promise<number> {
  let n = 0;
  for await (const c of body!) n += c.length;
  return n;
}

Deno.test("a 20 MB request body streams to the function", async () => {
  const pool = await startPool();
  try {
    const s = spec(
      "upload",
      `export default { async fetch(req) {
      let n = 0, chunks = 0;
      for await (const c of req.body) { n += c.length; chunks++; }
      return Response.json({ n, streamed: chunks > 1 });
    } }`,
    );
    const req = new Request("http://fn/", { method: "POST", body: bytes(20 * MB) });
    const res = await pool.invoke(s, req, { requestId: "r" });
    assert.deepEqual(await res.json(), { n: 20 * MB, streamed: true });
  } finally {
    await pool.stop();
  }
});

Deno.test("a response streams: the first chunk arrives before the function finishes", async () => {
  const go = Promise.withResolvers<void>();
  const kv = async (_ns: string, op: KvOp): Promise<KvResult> => {
    if (op.op === "get") await go.promise;
    return { value: null };
  };
  const pool = await startPool({ kv });
  try {
    const s = spec(
      "sse",
      `export default { fetch(req, env) {
      const te = new TextEncoder();
      const body = new ReadableStream({ async start(c) {
        c.enqueue(te.encode("first\\n"));
        await env.KV.get("go");
        c.enqueue(te.encode("second\\n"));
        c.close();
      } });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    } }`,
    );
    const res = await pool.invoke(s, new Request("http://fn/"), { requestId: "r" });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "first\n");
    go.resolve();
    assert.equal((await reader.read()).value, "second\n");
    assert.equal((await reader.read()).done, true);
  } finally {
    await pool.stop();
  }
});

Deno.test("a 100 MB response streams through without buffering whole in the host", async () => {
  const pool = await startPool();
  try {
    const s = spec(
      "big",
      `export default { fetch() {
      let sent = 0;
      const body = new ReadableStream({ pull(c) {
        if (sent >= 100 * 1024 * 1024) return c.close();
        c.enqueue(new Uint8Array(256 * 1024)); sent += 256 * 1024;
      } });
      return new Response(body);
    } }`,
    );
    const before = Deno.memoryUsage().rss;
    let peak = before;
    const res = await pool.invoke(s, new Request("http://fn/"), { requestId: "r" });
    let n = 0;
    for await (const c of res.body!) {
      n += c.length;
      if ((n & (8 * MB - 1)) === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
    }
    assert.equal(n, 100 * MB);
    assert.ok(peak - before < 60 * MB, `host RSS grew by ${((peak - before) / MB).toFixed(1)} MB`);
  } finally {
    await pool.stop();
  }
});

Deno.test("a buffer returned whole: 100 MB is stopped by maxResponseBytes, 5 MB arrives whole", async () => {
  const pool = await startPool({ maxResponseBytes: 10 * MB });
  try {
    const s = spec(
      "huge",
      `export default { fetch() { return new Response(new Uint8Array(100 * 1024 * 1024)); } }`,
    );
    const res = await pool.invoke(s, new Request("http://fn/"), { requestId: "r" });
    const e = await rejection(count(res.body));
    assert.equal(e.code, "PAYLOAD_TOO_LARGE");
    const small = spec(
      "small",
      `export default { fetch() { return new Response(new Uint8Array(5 * 1024 * 1024)); } }`,
    );
    assert.equal(
      await count((await pool.invoke(small, new Request("http://fn/"), { requestId: "r" })).body),
      5 * MB,
    );
  } finally {
    await pool.stop();
  }
});

Deno.test("cancelling a response body cancels the function's stream", async () => {
  const cancelled = Promise.withResolvers<void>();
  const kv = (_ns: string, op: KvOp): Promise<KvResult> => {
    if (op.op === "set") cancelled.resolve();
    return Promise.resolve({ version: "1" });
  };
  const pool = await startPool({ kv });
  try {
    const s = spec(
      "endless",
      `export default { fetch(req, env) {
      const body = new ReadableStream({
        pull(c) { c.enqueue(new Uint8Array(64 * 1024)); },
        cancel() { env.KV.set("cancelled", "yes"); },
      });
      return new Response(body);
    } }`,
    );
    const res = await pool.invoke(s, new Request("http://fn/"), { requestId: "r" });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await cancelled.promise;
    assert.equal(pool.stats().inflight, 0);
  } finally {
    await pool.stop();
  }
});

Deno.test("string bodies of every size and kind arrive whole, with their content type", async () => {
  const pool = await startPool();
  try {
    const s = spec(
      "texts",
      `export default { fetch(req) {
      const kind = new URL(req.url).searchParams.get("k");
      if (kind === "empty") return new Response("");
      if (kind === "json") return Response.json({ a: "é😀" }, { status: 201, headers: { "x-a": "1" } });
      if (kind === "big") return new Response("ab".repeat(100_000));
      if (kind === "read") { const r = new Response("seen"); r.headers.get("x"); return r; }
      if (kind === "typed") return new Response("<b>", { headers: { "content-type": "text/html" } });
      if (kind === "bom") return new Response("\uFEFFbom");
      if (kind === "json0") return Response.json({ b: 1 });
      return new Response("héllo 😀");
    } }`,
    );
    const call = (k: string) => pool.invoke(s, new Request(`http://fn/?k=${k}`), { requestId: k });
    const plain = await call("plain");
    assert.equal(plain.headers.get("content-type"), "text/plain;charset=UTF-8");
    assert.equal(await plain.text(), "héllo 😀");
    assert.equal(await (await call("empty")).text(), "");
    const json = await call("json");
    assert.deepEqual(
      [json.status, json.headers.get("content-type"), json.headers.get("x-a"), await json.json()],
      [201, "application/json", "1", { a: "é😀" }],
    );
    assert.equal(await (await call("big")).text(), "ab".repeat(100_000));
    assert.equal(await (await call("read")).text(), "seen");
    const typed = await call("typed");
    assert.deepEqual([typed.headers.get("content-type"), await typed.text()], ["text/html", "<b>"]);
    // Its leading BOM is the function's: kept (a Response's text() would drop one, so the bytes).
    const bom = new Uint8Array(await (await call("bom")).arrayBuffer());
    assert.deepEqual([...bom.slice(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.equal(new TextDecoder().decode(bom.slice(3)), "bom");
    // One content type, the function's (a Response made from a string brings text/plain).
    const json0 = await call("json0");
    assert.deepEqual([json0.headers.get("content-type"), await json0.json()], [
      "application/json",
      { b: 1 },
    ]);
  } finally {
    await pool.stop();
  }
});
