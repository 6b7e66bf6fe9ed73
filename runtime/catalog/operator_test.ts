import assert from "node:assert/strict";
import { generateOperatorKey, loadOperator, signedBytes } from "./operator.ts";

async function keyFile(): Promise<{ path: string; publicKey: string }> {
  const { privateJwk, publicKey } = await generateOperatorKey();
  const path = await Deno.makeTempFile({ prefix: "virgo-op-" });
  await Deno.writeTextFile(path, JSON.stringify(privateJwk));
  return { path, publicKey };
}

Deno.test("operator: what the private key signs, the public key verifies; nothing else", async () => {
  const mine = await keyFile();
  const theirs = await keyFile();
  try {
    const signer = (await loadOperator({ keyFile: mine.path }))!;
    const checker = (await loadOperator({ publicKey: mine.publicKey }))!;
    const stranger = (await loadOperator({ keyFile: theirs.path }))!;
    assert.equal(signer.publicKey, mine.publicKey);
    assert.equal(checker.sign, undefined);
    const entry = { name: "hello", vars: { b: "2", a: "1" }, stamp: "s" };
    const sig = await signer.sign!(signedBytes(entry));
    // Field order does not matter; every field does, and `sig` itself is not signed.
    assert.ok(
      await checker.verify(
        signedBytes({ stamp: "s", vars: { a: "1", b: "2" }, name: "hello" }),
        sig,
      ),
    );
    assert.ok(await checker.verify(signedBytes({ ...entry, sig }), sig));
    assert.ok(!(await checker.verify(signedBytes({ ...entry, name: "evil" }), sig)));
    assert.ok(
      !(await checker.verify(signedBytes(entry), await stranger.sign!(signedBytes(entry)))),
    );
    assert.ok(!(await checker.verify(signedBytes(entry), "not-a-signature")));
    assert.ok(!(await checker.verify(signedBytes(entry), sig.slice(0, -2))));
  } finally {
    await Deno.remove(mine.path);
    await Deno.remove(theirs.path);
  }
});

Deno.test("operator: bad keys fail the start with the flag named", async () => {
  const mine = await keyFile();
  const other = await keyFile();
  try {
    assert.equal(await loadOperator({}), undefined);
    await assert.rejects(loadOperator({ publicKey: "short" }), /Invalid --operator/);
    await assert.rejects(
      loadOperator({ keyFile: "/nonexistent/key" }),
      /--operator-key .*no such file/,
    );
    await assert.rejects(
      loadOperator({ keyFile: mine.path, publicKey: other.publicKey }),
      /does not match/,
    );
    const pub = await Deno.makeTempFile();
    await Deno.writeTextFile(pub, mine.publicKey + "\n");
    assert.equal((await loadOperator({ publicKey: pub }))!.publicKey, mine.publicKey);
    await Deno.remove(pub);
  } finally {
    await Deno.remove(mine.path);
    await Deno.remove(other.path);
  }
});
