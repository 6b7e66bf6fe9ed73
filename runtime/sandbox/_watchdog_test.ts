import assert from "node:assert/strict";
import { startWatchdog, type Watched } from "./_watchdog.ts";
import { RSS_SAMPLE_MS } from "./constants.ts";

/** Files this process holds open on `/proc/<pid>/statm` (other tests may open other files meanwhile). */
const statmOpen = (pid: number) =>
  [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
    try {
      return Deno.readLinkSync(`/proc/self/fd/${e.name}`) === `/proc/${pid}/statm`;
    } catch {
      return false; // closed since the listing
    }
  }).length;
const ticks = (n: number) => new Promise((r) => setTimeout(r, RSS_SAMPLE_MS * n));

Deno.test("the watchdog samples RSS, kills above the limit, and closes what it opened", async () => {
  if (Deno.build.os !== "linux") return;
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  const killed: string[] = [];
  const w: Watched & { limit: number } = {
    pid: child.pid,
    limit: Infinity,
    get rssLimit() {
      return this.limit;
    },
    rss: 0,
    alive: true,
    kill: (_code, message) => void killed.push(message),
  };
  let list: Watched[] = [w];
  const stop = startWatchdog(() => list, () => 1);
  try {
    await ticks(3);
    assert.ok(w.rss > 0, "sampled");
    assert.equal(killed.length, 0);
    assert.equal(statmOpen(child.pid), 1, "one statm kept open for the process");
    w.limit = 1;
    await ticks(3);
    assert.match(killed[0] ?? "", /memory limit of 1 MB/);
    list = []; // the process left the pool: its file closes at the next tick
    await ticks(3);
    assert.equal(statmOpen(child.pid), 0);
  } finally {
    stop();
    child.kill();
    await child.status;
  }
});
