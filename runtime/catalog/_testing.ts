/**
 * Helpers for the catalogue's own tests.
 *
 * @module
 */
import { formatVersion } from "../../kv/mod.ts";
import type { FunctionMeta } from "./entry.ts";

/**
 * A well-formed catalogue entry for `name`, stamped at `wall` by `origin` (unsigned: the tests
 * that use it exercise digests, walks and collection, not signatures).
 *
 * @example
 * ```ts
 * const tomb = entryAt("gone", Date.now() - 8 * DAY, { deleted: true });
 * ```
 */
export function entryAt(
  name: string,
  wall: number,
  { deleted = false, origin = "p" }: { deleted?: boolean; origin?: string } = {},
): FunctionMeta {
  return {
    name,
    version: "0123456789abcdef",
    hash: "a".repeat(64),
    size: 10,
    vars: {},
    timeoutMs: 1000,
    memoryMb: 128,
    allowLoopback: false,
    allowPrivate: false,
    public: true,
    kvNamespace: name,
    stamp: formatVersion({ wall, counter: 0, peerId: origin }),
    origin,
    deployedAt: new Date(wall).toISOString(),
    deleted,
    secrets: {},
    secretsRev: "",
  };
}
