/**
 * Function logs across a real three-peer mesh: calls pinned to each peer, `virgo logs --follow`
 * against one of them sees every line with its peer, request id and level; an exception's stack
 * is in the log and not in the public answer; a caller's x-request-id is kept end to end.
 */
import assert from "node:assert/strict";
import {
  cli,
  deploySource,
  type PeerProcess,
  spawn,
  startMesh,
  stopAll,
  waitForFunction,
} from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const ROOT = new URL("../", import.meta.url).pathname;
const DENO = `${ROOT}node_modules/.bin/deno`;

const CODE = `export default { fetch(req, env, ctx) {
  const p = new URL(req.url).pathname;
  if (p === "/boom") throw new Error("secret-detail-" + ctx.peerId.slice(-4));
  console.error("oops on", p);
  console.log("fine");
  return new Response(ctx.peerId + " " + ctx.requestId);
} }`;

interface Line {
  time: string;
  peer: string;
  fn: string;
  level: string;
  source: string;
  requestId?: string;
  msg: string;
}

/** The JSON lines a process prints, as they come, and a wait for one that matches. */
function collect(stdout: ReadableStream<Uint8Array>) {
  const lines: Line[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  (async () => {
    let buf = "";
    for await (const text of stdout.pipeThrough(new TextDecoderStream())) {
      buf += text;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
      wake?.();
    }
    ended = true;
    wake?.();
  })();
  const until = async (what: string, pred: (l: Line) => boolean, ms = 30_000): Promise<Line> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (ended) throw new Error(`The follow ended before ${what}`);
      const left = end - Date.now();
      if (left <= 0) {
        throw new Error(`No log line ${what} within ${ms} ms: ${JSON.stringify(lines)}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => (clearTimeout(t), r());
      });
    }
  };
  return { lines, until };
}

Deno.test(
  "logs across a three-peer mesh: follow sees every peer's lines, with peer, request id and level",
  opts,
  async () => {
    let peers: PeerProcess[] = [];
    try {
      peers = await startMesh(3);
      const [a] = peers as [PeerProcess, PeerProcess, PeerProcess];
      assert.equal((await deploySource(a, "noisy", CODE)).status, 201);
      await waitForFunction(peers, "noisy");

      const { child, tracked } = spawn(
        DENO,
        [
          "run",
          "-A",
          "--config",
          `${ROOT}deno.json`,
          `${ROOT}runtime/cli/main.ts`,
          "logs",
          "noisy",
          "--follow",
          "--json",
          "--peer",
          a.url,
        ],
        { label: "virgo logs --follow", stdout: "piped" },
      );
      const follow = collect(child.stdout);
      try {
        // The follow is on once it printed the deploy, which came before it.
        await follow.until("of the deploy", (l) => l.msg.startsWith("Deployed version"));

        // One call run on each peer, all through the first; each caller names its own request id.
        for (const [i, p] of peers.entries()) {
          const res = await fetch(`${a.url}/fn/noisy/call-${i}`, {
            headers: { "x-virgo-route": p.peerId, "x-request-id": `e2e-${i}` },
          });
          assert.equal(res.status, 200);
          assert.equal(
            await res.text(),
            `${p.peerId} e2e-${i}`,
            "the function saw the caller's id",
          );
          assert.equal(res.headers.get("x-virgo-peer"), p.peerId);
          assert.equal(res.headers.get("x-request-id"), `e2e-${i}`, "kept across the hop and back");
        }
        for (const [i, p] of peers.entries()) {
          const line = await follow.until(`of e2e-${i}`, (l) => l.requestId === `e2e-${i}`);
          assert.deepEqual(
            [line.peer, line.level, line.msg, line.fn, line.source],
            [p.peerId, "error", `oops on /call-${i}`, "noisy", "function"],
          );
          const info = await follow.until(
            `info of e2e-${i}`,
            (l) => l.requestId === `e2e-${i}` && l.level === "info",
          );
          assert.equal(info.msg, "fine");
        }

        // A throw on the third peer: the public caller gets the code and the request id only.
        const c = peers[2]!;
        const boom = await fetch(`${a.url}/fn/noisy/boom`, {
          headers: { "x-virgo-route": c.peerId, "x-request-id": "e2e-boom" },
        });
        assert.equal(boom.status, 500);
        const body = await boom.text();
        assert.ok(!body.includes("secret-detail") && !body.includes(" at "), body);
        assert.equal(JSON.parse(body).error.code, "FUNCTION_ERROR");
        assert.ok(body.includes("e2e-boom"), body);
        assert.equal(boom.headers.get("x-request-id"), "e2e-boom");
        const thrown = await follow.until("of the exception", (l) => l.requestId === "e2e-boom");
        assert.equal(thrown.peer, c.peerId);
        assert.equal(thrown.level, "error");
        assert.match(
          thrown.msg,
          new RegExp(
            `^Uncaught exception: Error: secret-detail-${
              c.peerId.slice(-4)
            }\\n\\s+at .*noisy\\.js:\\d+:\\d+`,
          ),
        );
        // Merged in time order as it came.
        const times = follow.lines.map((l) => l.time);
        assert.ok(times.length >= 8);
      } finally {
        await tracked.stop(2_000);
      }

      // Once, not following, from another peer, for people: every peer's lines are there.
      const once = await cli(["logs", "noisy", "--peer", peers[1]!.url]);
      assert.equal(once.code, 0, once.stderr);
      for (const [i, p] of peers.entries()) {
        assert.match(
          once.stdout,
          new RegExp(`Z ${p.peerId.slice(-6)} ERROR e2e-${i} oops on /call-${i}\\n`),
        );
      }
      assert.match(
        once.stdout,
        / ERROR e2e-boom Uncaught exception: Error: secret-detail-\w{4}\n +at Object\.fetch \(noisy\.js:/,
      );
      const timesOnce = once.stdout.trim().split("\n").filter((l) => /^\d{4}-/.test(l)).map((l) =>
        l.split(" ")[0]!
      );
      assert.deepEqual(timesOnce, [...timesOnce].sort(), "in time order");
      // A name never deployed: not found, with the CLI's exit code for it.
      const none = await cli(["logs", "never-deployed", "--peer", a.url]);
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /FUNCTION_NOT_FOUND/);
    } finally {
      await stopAll(peers);
    }
  },
);
