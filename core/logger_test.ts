import assert from "node:assert/strict";
import { childLogger, type Logger, silentLogger } from "./logger.ts";

type Line = { level: string; obj: object; msg: string | undefined };

function plain(lines: Line[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

Deno.test("logger: childLogger merges its bindings into each line of a logger without child", () => {
  const lines: Line[] = [];
  const log = childLogger(childLogger(plain(lines), { component: "kv" }), { peer: "a" });
  log.warn({ peer: "b", n: 1 }, "Hint failed");
  log.debug({});
  assert.deepEqual(lines, [
    { level: "warn", obj: { component: "kv", peer: "b", n: 1 }, msg: "Hint failed" },
    { level: "debug", obj: { component: "kv", peer: "a" }, msg: undefined },
  ]);
});

Deno.test("logger: childLogger uses the logger's own child when it has one", () => {
  const seen: Record<string, unknown>[] = [];
  const own: Logger = { ...silentLogger, child: (b) => (seen.push(b), silentLogger) };
  assert.equal(childLogger(own, { component: "mesh" }), silentLogger);
  assert.deepEqual(seen, [{ component: "mesh" }]);
  assert.equal(silentLogger.child?.({ x: 1 }), silentLogger);
});
