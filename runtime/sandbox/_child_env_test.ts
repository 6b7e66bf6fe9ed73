/**
 * Log attribution rests on Deno's internal `AsyncVariable`: the start-up check holds it to what
 * attribution needs, and a child whose check fails refuses to start and says why.
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { checkCurrent, createCurrent, type Current } from "./_child_env.ts";
import { childArgs, DEFAULT_PROFILE } from "./_flags.ts";
import { FrameReader, T } from "./_frame.ts";

Deno.test("the child's request-id variable passes the start-up check, as does AsyncLocalStorage", async () => {
  await checkCurrent(await createCurrent());
  await checkCurrent(new AsyncLocalStorage<string>());
});

Deno.test("the child's request id follows a call into its timers and intervals", async () => {
  const current = await createCurrent();
  const id = () => current.getStore();
  const inTimer = current.run("t", () => new Promise((r) => setTimeout(() => r(id()), 0)));
  const inInterval = current.run("i", () =>
    new Promise((r) => {
      const timer = setInterval(() => (clearInterval(timer), r(id())), 1);
    }));
  assert.deepEqual([await inTimer, await inInterval, id()], ["t", "i", undefined]);
});

Deno.test("the start-up check refuses a variable that loses or leaks the request id", async () => {
  // Set for the synchronous part of a call only: lost after an await.
  let global: string | undefined;
  const syncOnly: Current = {
    run(id, fn) {
      const prev = global;
      global = id;
      try {
        return fn();
      } finally {
        global = prev;
      }
    },
    getStore: () => global,
  };
  await assert.rejects(checkCurrent(syncOnly), /after an await: expected x, got none/);
  // Never restored: the id leaks past its call.
  let leaked: string | undefined;
  const leaky: Current = {
    run: (id, fn) => (leaked = id, fn()),
    getStore: () => leaked,
  };
  await assert.rejects(checkCurrent(leaky), /after a call: expected no request id, got a/);
  // Read from somewhere else than where it is set.
  const als = new AsyncLocalStorage<string>();
  const blind: Current = { run: (id, fn) => als.run(id, fn), getStore: () => undefined };
  await assert.rejects(checkCurrent(blind), /inside a call: expected a, got none/);
});

/**
 * Starts `_child.ts` as the host does, with `preload` run first; resolves with the first frame
 * type it sends (or null if it sent none), its exit code and its stderr.
 */
async function startChild(
  preload: string,
): Promise<{ frame: number | null; code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "virgo-child-test-" });
  try {
    const sock = `${dir}/s`;
    const pre = `${dir}/preload.js`;
    await Deno.writeTextFile(pre, preload);
    const listener = Deno.listen({ transport: "unix", path: sock });
    const args = childArgs(DEFAULT_PROFILE, [], new URL("./_child.ts", import.meta.url).href, sock);
    const child = new Deno.Command(Deno.execPath(), {
      args: [args[0]!, `--preload=${pre}`, ...args.slice(1)],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    // A child that dies before it connects (a preload that throws) must not hang the test.
    const conn = await Promise.race([listener.accept(), output.then(() => undefined)]);
    listener.close();
    let frame: number | null = null;
    if (conn) {
      // The first frame is all this test needs: closing ends the child (it dies with its host).
      await new FrameReader(1 << 20, (type) => {
        frame ??= type;
        conn.close();
      }).readAll(conn).catch(() => {});
      try {
        conn.close();
      } catch { /* closed on the first frame */ }
    }
    const out = await output;
    return { frame, code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a child whose AsyncVariable loses the request id refuses to start and says why", async () => {
  // As this test's harness is: an unchanged Deno starts, and says it is ready.
  const ok = await startChild("");
  assert.equal(ok.frame, T.READY, ok.stderr);
  // A Deno whose AsyncVariable no longer hands back what was entered.
  const broken = await startChild(`
    const { AsyncVariable } = Deno[Deno.internal].core;
    AsyncVariable.prototype.get = function () { return undefined; };
  `);
  assert.equal(broken.frame, null, "it never said it was ready");
  assert.equal(broken.code, 70);
  assert.match(
    broken.stderr,
    /^Sandbox refuses to start: Log attribution is broken \(did Deno's internal AsyncVariable change\?\): inside a call: expected a, got none$/m,
  );
});
