/**
 * What happens to a function in the catalogue, as lines of its log: deploys, failed deploys
 * (with the reason), rollbacks, deletes and secret changes, on the peer that was asked.
 *
 * @module
 */
import type { Registry } from "../catalog/mod.ts";
import { errorCode } from "../errors.ts";
import type { Level } from "./line.ts";
import type { LogStore } from "./ring.ts";

const reason = (err: unknown) =>
  `${errorCode(err) ?? "INTERNAL"}: ${(err as Error).message ?? String(err)}`;

/**
 * `registry` with every change it makes or refuses also written to `store`.
 *
 * @example
 * ```ts
 * const registry = withLogEvents(createRegistry(init), store);
 * await registry.deploy("hello", input); // "Deployed version 3f2a… (812 bytes)" in hello's log
 * ```
 */
export function withLogEvents(registry: Registry, store: Pick<LogStore, "append">): Registry {
  const event = (fn: string, level: Level, msg: string, version?: string) =>
    store.append(
      version === undefined
        ? { fn, level, source: "runtime", msg }
        : { fn, level, source: "runtime", msg, version },
    );
  /** Runs a change; logs its outcome, or its failure with the reason. */
  const logged = async <T>(
    fn: string,
    what: string,
    run: () => Promise<T>,
    done: (r: T) => [string, string?] | undefined,
  ): Promise<T> => {
    let r: T;
    try {
      r = await run();
    } catch (err) {
      event(fn, "error", `${what} failed: ${reason(err)}`);
      throw err;
    }
    const line = done(r);
    if (line) event(fn, "info", line[0], line[1]);
    return r;
  };
  return {
    ...registry,
    deploy: (name, input) =>
      logged(name, "Deploy", () => registry.deploy(name, input), (m) => [
        `Deployed version ${m.version} (${m.size} bytes)`,
        m.version,
      ]),
    rollback: (name, version) => {
      const from = registry.get(name)?.version;
      return logged(name, "Rollback", () => registry.rollback(name, version), (m) => [
        `Rolled back to version ${m.version}${from ? ` from ${from}` : ""}`,
        m.version,
      ]);
    },
    remove: (name) =>
      logged(name, "Delete", () => registry.remove(name), (ok) => ok ? ["Deleted"] : undefined),
    setSecret: (name, key, value) =>
      logged(name, `Setting secret ${key}`, () => registry.setSecret(name, key, value), (m) => [
        `Secret ${key} set: version ${m.version}`,
        m.version,
      ]),
    removeSecret: (name, key) =>
      logged(
        name,
        `Removing secret ${key}`,
        () => registry.removeSecret(name, key),
        (ok) => ok ? [`Secret ${key} removed`] : undefined,
      ),
  };
}
