/**
 * `virgo dev` (issue 11, item 1) as a user runs it: a real CLI process on a function in a folder
 * outside the checkout. It answers with env.KV, a var and a secret from `.dev.vars`; an edit of
 * the file or of a local import reloads it and the pool keeps its keys; a syntax error names the
 * file and line and the last good version keeps serving; a stack frame the function prints points
 * at its own source line.
 */
import assert from "node:assert/strict";
import { spawn } from "./_harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const opts = { sanitizeOps: false, sanitizeResources: false };

/** The lines of a stream, with a way to wait for one that matches. */
function lines(stream: ReadableStream<Uint8Array>) {
  const seen: string[] = [];
  let wake = () => {};
  let ended = false;
  (async () => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      seen.push(...parts);
      wake();
    }
    if (rest) seen.push(rest);
    ended = true;
    wake();
  })();
  return {
    seen,
    /** The first line from index `from` on that matches; rejects when the stream ends first. */
    async next(re: RegExp, from = 0, timeoutMs = 60_000): Promise<{ line: string; at: number }> {
      const end = Date.now() + timeoutMs;
      for (let i = from;;) {
        for (; i < seen.length; i++) if (re.test(seen[i]!)) return { line: seen[i]!, at: i };
        if (ended) throw new Error(`stream ended without ${re}:\n${seen.join("\n")}`);
        if (Date.now() > end) throw new Error(`no ${re} in ${timeoutMs} ms:\n${seen.join("\n")}`);
        const woken = new Promise<void>((r) => wake = r);
        await Promise.race([woken, new Promise((r) => setTimeout(r, 200))]);
      }
    },
  };
}

const MAIN = (marker: string) =>
  `import { label } from "./lib.ts";

interface KV { get(k: string, type: "text"): Promise<string | null>; set(k: string, v: string): Promise<unknown> }

export default {
  async fetch(req: Request, env: { KV: KV; GREETING: string; API_KEY: string }) {
    if (new URL(req.url).searchParams.has("trace")) {
      console.log("trace", new Error("here").stack);
      return new Response("traced");
    }
    if (new URL(req.url).searchParams.has("throw")) throw new Error("thrown here");
    const count = Number((await env.KV.get("count", "text")) ?? "0") + 1;
    await env.KV.set("count", String(count));
    return Response.json({ marker: "${marker}", label, count, greeting: env.GREETING, key: env.API_KEY });
  },
};
`;
/** The line of `new Error("here")` in MAIN, 1-based. */
const TRACE_LINE = 8;

Deno.test(
  "virgo dev: first response, reload on save keeps the pool, errors name file:line",
  opts,
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "virgo-devtest-" });
    const entry = `${dir}/main.ts`;
    await Deno.writeTextFile(entry, MAIN("v1"));
    await Deno.writeTextFile(`${dir}/lib.ts`, `export const label = "lib-1";\n`);
    await Deno.writeTextFile(`${dir}/.dev.vars`, `# secrets for dev\nAPI_KEY="k-123"\n`);
    const started = performance.now();
    const { child, tracked } = spawn(Deno.execPath(), [
      "run",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}runtime/cli/main.ts`,
      "dev",
      entry,
      "--port",
      "0",
      "--var",
      "GREETING=hi",
    ], { label: "virgo dev", stdout: "piped", stderr: "piped" });
    const out = lines(child.stdout);
    const err = lines(child.stderr);
    try {
      const ready = await out.next(/^Ready in \d+ ms at (http:\/\/127\.0\.0\.1:\d+\/fn\/main)$/);
      const url = /(http:\S+)$/.exec(ready.line)![1]!;
      const get = async (query = "") => {
        const res = await fetch(url + query);
        assert.equal(res.status, 200, await res.clone().text());
        return res;
      };

      await t.step(
        "the first call answers with env.KV, a var and a secret from .dev.vars",
        async () => {
          const body = await (await get()).json();
          const firstMs = performance.now() - started;
          console.log(`virgo dev: command start to first 200 response: ${firstMs.toFixed(0)} ms`);
          assert.deepEqual(body, {
            marker: "v1",
            label: "lib-1",
            count: 1,
            greeting: "hi",
            key: "k-123",
          });
        },
      );

      let mark = out.seen.length;
      await t.step("an edit of the file reloads it and the pool keeps its keys", async () => {
        await Deno.writeTextFile(entry, MAIN("v2"));
        mark = (await out.next(/^↻ reloaded main in \d+ ms/, mark)).at + 1;
        const body = await (await get()).json();
        assert.equal(body.marker, "v2");
        assert.equal(body.count, 2, "the count kept in env.KV survived the reload");
      });

      await t.step("an edit of a local import reloads it too", async () => {
        await Deno.writeTextFile(`${dir}/lib.ts`, `export const label = "lib-2";\n`);
        mark = (await out.next(/^↻ reloaded main/, mark)).at + 1;
        const body = await (await get()).json();
        assert.equal(body.label, "lib-2");
        assert.equal(body.count, 3);
      });

      await t.step(
        "a syntax error names the file and line; the last good version serves",
        async () => {
          const from = err.seen.length;
          await Deno.writeTextFile(entry, MAIN("v3").replace("const count =", "const count = ("));
          const failed = await err.next(/build failed: .*main\.ts:(\d+):\d+: /, from);
          assert.equal(Number(/main\.ts:(\d+):/.exec(failed.line)![1]), 12, failed.line);
          const body = await (await get()).json();
          assert.equal(body.marker, "v2");
          await Deno.writeTextFile(entry, MAIN("v4"));
          mark = (await out.next(/^↻ reloaded main/, mark)).at + 1;
          assert.equal((await (await get()).json()).marker, "v4");
        },
      );

      await t.step(
        "a stack frame the function prints points at its own file and line",
        async () => {
          const from = err.seen.length;
          assert.equal(await (await get("?trace")).text(), "traced");
          const traced = await err.next(/\[main\] trace Error: here/, from);
          const frame = await err.next(/main\.ts:\d+:\d+/, traced.at);
          assert.match(frame.line, new RegExp(`main\\.ts:${TRACE_LINE}:\\d+`), frame.line);
          assert.doesNotMatch(frame.line, /virgo-dev:|data:/);
        },
      );

      await t.step(
        "an uncaught exception is logged with its stack at the function's line",
        async () => {
          const from = err.seen.length;
          const res = await fetch(url + "?throw");
          assert.equal(res.status, 500);
          await res.body?.cancel();
          const thrown = await err.next(/\[main\] error .*thrown here/, from);
          const frame = await err.next(/main\.ts:\d+:\d+/, thrown.at);
          assert.match(frame.line, /main\.ts:11:\d+/, frame.line);
        },
      );

      await t.step("a changed .dev.vars reloads the secrets", async () => {
        await Deno.writeTextFile(`${dir}/.dev.vars`, `API_KEY=k-456\n`);
        mark = (await out.next(/^↻ secrets reloaded/, mark)).at + 1;
        assert.equal((await (await get()).json()).key, "k-456");
      });
    } finally {
      assert.equal(await tracked.stop(), 0, "SIGTERM stops virgo dev cleanly");
      await Deno.remove(dir, { recursive: true });
    }
  },
);
