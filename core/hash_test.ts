import assert from "node:assert/strict";
import { sha256Hex } from "./hash.ts";

Deno.test("hash: sha256Hex gives FIPS 180-2's digests of 'abc' and of nothing", async () => {
  const enc = new TextEncoder();
  assert.equal(
    await sha256Hex(enc.encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    await sha256Hex(new Uint8Array()),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});
