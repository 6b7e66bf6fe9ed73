import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { generateSwarmKey, parseSwarmKey } from "./swarm_key.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const HEX = "ab".repeat(32);

Deno.test("swarm key: valid keys are normalised", () => {
  const got = new TextDecoder().decode(
    parseSwarmKey(enc(`/key/swarm/psk/1.0.0/\r\n/base16/\r\n${HEX.toUpperCase()}\n\n`)),
  );
  assertEquals(got, `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}`);
  parseSwarmKey(generateSwarmKey());
});

Deno.test("swarm key: malformed keys fail with a clear message", () => {
  assertThrows(() => parseSwarmKey(enc(HEX)), /expected 3 lines/);
  assertThrows(() => parseSwarmKey(enc(`/key/swarm/psk/2.0.0/\n/base16/\n${HEX}`)), /first line/);
  assertThrows(() => parseSwarmKey(enc(`/key/swarm/psk/1.0.0/\n/base64/\n${HEX}`)), /second line/);
  assertThrows(
    () => parseSwarmKey(enc(`/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(2)}`)),
    /64 hex/,
  );
  assertThrows(
    () => parseSwarmKey(enc(`/key/swarm/psk/1.0.0/\n/base16/\n${"zz".repeat(32)}`)),
    /64 hex/,
  );
  assertThrows(() => parseSwarmKey(new Uint8Array([0xff, 0xfe])), /UTF-8/);
});
