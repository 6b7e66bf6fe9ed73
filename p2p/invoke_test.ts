import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { INVOKE_PROTOCOL } from "./constants.ts";
import { encodeVarint } from "./frames.ts";
import { libp2pTest, startNode, waitFor } from "./_testing.ts";
import type { MeshInternals } from "./mesh.ts";

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 251);

async function pair(): Promise<[MeshInternals, MeshInternals]> {
  const a = await startNode();
  const b = await startNode({ join: a.addrs() });
  await waitFor(() => a.peers().length === 2 && b.peers().length === 2, 5_000, "join");
  await a.serveInvoke(async (req, from) => {
    const url = new URL(req.url);
    if (url.pathname === "/echo") {
      return new Response(req.body, {
        status: 201,
        headers: { "x-method": req.method, "x-from": from },
      });
    }
    if (url.pathname === "/big") return new Response(pattern(5 * 1024 * 1024));
    if (url.pathname === "/throw") {
      throw Object.assign(new Error("no such function"), { code: "FUNCTION_NOT_FOUND" });
    }
    if (url.pathname === "/empty") return new Response(null, { status: 204 });
    if (url.pathname === "/ignore-body") return new Response("ignored");
    if (url.pathname === "/slow") {
      await new Promise((r) => setTimeout(r, 200));
      return new Response("late");
    }
    return new Response(`${req.method} ${url.pathname} ${req.headers.get("x-h")}`);
  });
  return [a, b];
}

Deno.test({
  name: "invoke: 5 MB body streamed both ways, headers and status preserved, stream reused",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      const body = pattern(5 * 1024 * 1024);
      const res = await b.invoke(a.peerId, new Request("http://fn/echo", { method: "PUT", body }));
      assertEquals(res.status, 201);
      assertEquals(res.headers.get("x-method"), "PUT");
      assertEquals(res.headers.get("x-from"), b.peerId);
      assertEquals(new Uint8Array(await res.arrayBuffer()), body);
      const big = await b.invoke(a.peerId, new Request("http://fn/big"));
      assertEquals(new Uint8Array(await big.arrayBuffer()), pattern(5 * 1024 * 1024));
      const get = await b.invoke(a.peerId, new Request("http://fn/x", { headers: { "x-h": "v" } }));
      assertEquals(await get.text(), "GET /x v");
      const empty = await b.invoke(a.peerId, new Request("http://fn/empty", { method: "DELETE" }));
      assertEquals([empty.status, empty.body], [204, null]);
      const ign = await b.invoke(
        a.peerId,
        new Request("http://fn/ignore-body", { method: "POST", body: pattern(300_000) }),
      );
      assertEquals(await ign.text(), "ignored");
      assertEquals(
        await (await b.invoke(a.peerId, new Request("http://fn/y"))).text(),
        "GET /y null",
      );
      assertEquals(b.poolStats().invoke.opened, 1, "one stream served every call");
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "invoke: handler error before head keeps its code; a dead peer gives PEER_FAILED",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      await assertRejects(b.invoke(a.peerId, new Request("http://fn/throw")), {
        name: "MeshError",
        code: "FUNCTION_NOT_FOUND",
        message: "no such function",
      });
      assertEquals(
        await (await b.invoke(a.peerId, new Request("http://fn/ok"))).text(),
        "GET /ok null",
      );
      const pending = b.invoke(a.peerId, new Request("http://fn/slow"));
      setTimeout(() => void a.stop(), 50);
      await assertRejects(pending, { name: "MeshError", code: "PEER_FAILED" });
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "invoke: backpressure — an unread 20 MB response does not buffer in the caller",
  ...libp2pTest,
  async fn() {
    const a = await startNode();
    const b = await startNode({ join: a.addrs() });
    try {
      await waitFor(() => b.peers().length === 2, 5_000, "join");
      let produced = 0;
      const chunk = new Uint8Array(64 * 1024);
      await a.serveInvoke(() =>
        Promise.resolve(
          new Response(
            new ReadableStream({
              pull(ctrl) {
                if (produced >= 20 * 1024 * 1024) return ctrl.close();
                produced += chunk.byteLength;
                ctrl.enqueue(chunk);
              },
            }, { highWaterMark: 0 }),
          ),
        )
      );
      const res = await b.invoke(a.peerId, new Request("http://fn/"));
      await new Promise((r) => setTimeout(r, 300));
      assert(
        produced < 4 * 1024 * 1024,
        `server produced ${produced} bytes before the caller read any`,
      );
      let total = 0;
      for await (const c of res.body!) total += c.byteLength;
      assertEquals(total, 20 * 1024 * 1024);
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "invoke: abort and cancel discard the stream; later calls still work",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      const ac = new AbortController();
      const p = b.invoke(a.peerId, new Request("http://fn/slow"), { signal: ac.signal });
      ac.abort(new Error("client went away"));
      await assertRejects(p, /client went away/);
      const res = await b.invoke(a.peerId, new Request("http://fn/big"));
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
      assertEquals(
        await (await b.invoke(a.peerId, new Request("http://fn/z"))).text(),
        "GET /z null",
      );
      // Self invoke runs the local handler directly.
      assertEquals(
        await (await a.invoke(a.peerId, new Request("http://fn/s"))).text(),
        "GET /s null",
      );
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name:
    "invoke: raw client sending malformed frames or a huge length prefix leaves the node serving",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      const frame = (type: number, body: Uint8Array) =>
        new Uint8Array([...encodeVarint(body.byteLength + 1), type, ...body]);
      const enc = (s: string) => new TextEncoder().encode(s);
      const bad = [
        encodeVarint(100 * 1024 * 1024),
        new Uint8Array(8).fill(0xff),
        frame(1, enc("{not json")),
        frame(1, enc(JSON.stringify({ method: "GET" }))),
        frame(7, enc("?")),
        new Uint8Array([
          ...frame(1, enc(JSON.stringify({ method: "POST", url: "http://fn/echo", headers: [] }))),
          ...frame(9, enc("bad body frame")),
        ]),
      ];
      for (const payload of bad) {
        const s = await b.node.dialProtocol(a.node.peerId, INVOKE_PROTOCOL);
        const closed = new Promise((r) => s.addEventListener("close", r, { once: true }));
        s.send(payload);
        await s.close().catch(() => {});
        await closed;
        assertEquals(
          await (await b.invoke(a.peerId, new Request("http://fn/ok"))).text(),
          "GET /ok null",
        );
      }
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});
