import assert from "node:assert/strict";
import { createSealer, loadSealer } from "./secrets.ts";

Deno.test("secrets: sealed values open with the same key only, and hide their text", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const a = await createSealer(key);
  const sealed = await a.seal({ DB_PASSWORD: "hunter2-hunter2" });
  assert.ok(!sealed.includes("hunter2"));
  assert.deepEqual(await (await createSealer(key)).open(sealed), {
    DB_PASSWORD: "hunter2-hunter2",
  });
  await assert.rejects(
    (await createSealer(crypto.getRandomValues(new Uint8Array(32)))).open(sealed),
  );
  assert.notEqual(await a.seal({ X: "1" }), await a.seal({ X: "1" })); // a fresh IV each time
});

Deno.test("secrets: without a swarm key, a key file made once in the data folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "virgo-sealer-" });
  try {
    const sealed = await (await loadSealer({ dataDir: dir })).seal({ K: "v" });
    assert.equal((await Deno.stat(`${dir}/secret.key`)).mode! & 0o777, 0o600);
    assert.deepEqual(await (await loadSealer({ dataDir: dir })).open(sealed), { K: "v" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
