import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import type { Stream } from "@libp2p/interface";
import { encodeVarint, FrameReader } from "./frames.ts";
import { receiveBody, T_BODY, T_END } from "./_invoke_body.ts";

/** A stream whose incoming bytes the test pushes. */
class Incoming extends EventTarget {
  status = "open";
  readStatus = "readable";
  remoteWriteStatus = "writable";
  pause() {}
  resume() {}
  push(...frames: number[][]): void {
    const bytes = frames.flatMap((f) => [...encodeVarint(f.length), ...f]);
    this.dispatchEvent(Object.assign(new Event("message"), { data: new Uint8Array(bytes) }));
  }
}

function setup() {
  const incoming = new Incoming();
  const reader = new FrameReader(incoming as unknown as Stream);
  const seen = { ended: 0, errors: [] as unknown[] };
  const receive = () => receiveBody(reader, () => seen.ended++, (err) => seen.errors.push(err));
  return { incoming, reader, seen, receive };
}

Deno.test("receiveBody: a body whose END is here already is its bytes, joined", () => {
  const { incoming, reader, seen, receive } = setup();
  incoming.push([T_BODY, 1, 2], [T_BODY, 3], [T_END]);
  assertEquals(receive(), new Uint8Array([1, 2, 3]));
  incoming.push([T_END]);
  assertEquals(receive(), new Uint8Array([]));
  assertEquals(seen, { ended: 2, errors: [] });
  assertEquals(reader.buffered, 0);
});

Deno.test("receiveBody: a body still coming streams, starting with what is here", async () => {
  const { incoming, seen, receive } = setup();
  incoming.push([T_BODY, 1, 2]);
  const body = receive();
  assert(body instanceof ReadableStream);
  incoming.push([T_BODY, 3], [T_END]);
  assertEquals(new Uint8Array(await new Response(body).arrayBuffer()), new Uint8Array([1, 2, 3]));
  assertEquals(seen, { ended: 1, errors: [] });
});

Deno.test("receiveBody: a bad frame already here fails at once, as BAD_FRAME", () => {
  const { incoming, seen, receive } = setup();
  incoming.push([T_BODY, 1], [9, 9]);
  throws(receive, { name: "MeshError", code: "BAD_FRAME" });
  assertEquals(seen.ended, 0);
  assertEquals(seen.errors.length, 1);
});
