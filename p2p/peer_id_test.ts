import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { isPeerId } from "./peer_id.ts";

Deno.test("isPeerId: libp2p's parser decides, before and after an id is remembered", () => {
  const id = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  for (let i = 0; i < 2; i++) {
    assertEquals(isPeerId(id), true);
    assertEquals(isPeerId(id.slice(0, -3)), false, "truncated");
    assertEquals(isPeerId("p2c"), false);
    assertEquals(isPeerId(""), false);
    assertEquals(isPeerId("1".repeat(129)), false);
  }
});
