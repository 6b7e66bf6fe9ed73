import assert from "node:assert/strict";
import { Lifecycle, type Startable } from "./startable.ts";

function part(name: string, log: string[], fail: Partial<Record<string, boolean>> = {}): Startable {
  const step = (what: string) => () => {
    log.push(`${what} ${name}`);
    if (fail[what]) throw new Error(`${what} ${name} failed`);
  };
  return { start: step("start"), beforeStop: step("beforeStop"), stop: step("stop") };
}

Deno.test("lifecycle: parts start in order; beforeStop, then stop, run in reverse", async () => {
  const log: string[] = [];
  const parts = new Lifecycle([part("db", log), part("mesh", log), part("http", log)]);
  await parts.start();
  await parts.stop();
  assert.deepEqual(log, [
    "start db",
    "start mesh",
    "start http",
    "beforeStop http",
    "beforeStop mesh",
    "beforeStop db",
    "stop http",
    "stop mesh",
    "stop db",
  ]);
  log.length = 0;
  await parts.stop();
  assert.deepEqual(log, [], "a second stop has nothing left to stop");
});

Deno.test("lifecycle: a failed start throws, and stop then stops only what started", async () => {
  const log: string[] = [];
  const parts = new Lifecycle([
    part("db", log),
    part("mesh", log),
    part("http", log, { start: true }),
    part("never", log),
  ]);
  await assert.rejects(parts.start(), { message: "start http failed" });
  await parts.stop();
  assert.deepEqual(log, [
    "start db",
    "start mesh",
    "start http",
    "beforeStop mesh",
    "beforeStop db",
    "stop mesh",
    "stop db",
  ]);
});

Deno.test("lifecycle: a part that fails to stop keeps no other open", async () => {
  const log: string[] = [];
  const parts = new Lifecycle([
    part("db", log),
    part("mesh", log, { beforeStop: true, stop: true }),
    part("http", log),
  ]);
  await parts.start();
  await assert.rejects(parts.stop(), { message: "beforeStop mesh failed" });
  assert.deepEqual(log.filter((l) => l.startsWith("stop")), ["stop http", "stop mesh", "stop db"]);
});
