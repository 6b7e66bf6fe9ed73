/**
 * Input validation for keys, values, list options and namespaces: the pool's edge.
 *
 * @module
 */
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from "./constants.ts";
import { KvError } from "./errors.ts";

// C0, DEL and C1 control characters: matching them is the point.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const encoder = new TextEncoder();

/** UTF-8 length of `s` without allocating for short strings. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Checks a user key: 1..`maxBytes` bytes of well-formed UTF-8 without control characters.
 *
 * Why: control characters are reserved for internal keys and hint separators,
 * and lone surrogates have no UTF-8 form, so two keys could collide on disk.
 *
 * @example
 * ```ts
 * validateKey("users/42", 1024); // ok
 * validateKey("", 1024);         // throws KvError INVALID_KEY
 * ```
 */
export function validateKey(key: unknown, maxBytes: number): asserts key is string {
  if (typeof key !== "string" || key.length === 0) {
    throw new KvError("INVALID_KEY", "Key must be a non-empty string");
  }
  if (CONTROL.test(key)) {
    throw new KvError("INVALID_KEY", "Key must not contain control characters");
  }
  if (!key.isWellFormed()) {
    throw new KvError("INVALID_KEY", "Key must be well-formed UTF-16 (no lone surrogates)");
  }
  const bytes = key.length * 3 <= maxBytes ? key.length : utf8Length(key);
  if (bytes > maxBytes) {
    throw new KvError("KEY_TOO_LARGE", `Key is too large: ${bytes} bytes, limit ${maxBytes}`);
  }
}

/**
 * Checks a value: a `Uint8Array` of at most `maxBytes` bytes.
 *
 * @example
 * ```ts
 * validateValue(new Uint8Array(10), 1 << 20); // ok
 * ```
 */
export function validateValue(value: unknown, maxBytes: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new KvError("VALUE_TOO_LARGE", "Value must be a Uint8Array");
  }
  if (value.byteLength > maxBytes) {
    throw new KvError(
      "VALUE_TOO_LARGE",
      `Value is too large: ${value.byteLength} bytes, limit ${maxBytes}`,
    );
  }
}

/**
 * Resolves a `list` limit: default {@link DEFAULT_LIST_LIMIT}, clamped to 1..{@link MAX_LIST_LIMIT}.
 *
 * @example
 * ```ts
 * listLimit(undefined); // 100
 * listLimit(5000);      // 1000
 * ```
 */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(limit)));
}

/**
 * Checks a TTL: a positive finite number of seconds.
 *
 * @example
 * ```ts
 * validateTtl(60); // ok
 * ```
 */
export function validateTtl(ttlSeconds: unknown): asserts ttlSeconds is number {
  if (typeof ttlSeconds !== "number" || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new KvError("INVALID_KEY", "ttlSeconds must be a positive number");
  }
}

const NAMESPACE = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Checks a local namespace name (a LevelDB sublevel): 1..128 of `[A-Za-z0-9_.:-]`.
 *
 * @example
 * ```ts
 * validateNamespace("bundles"); // ok
 * ```
 */
export function validateNamespace(name: string): void {
  if (!NAMESPACE.test(name)) {
    throw new KvError("INVALID_KEY", `Invalid namespace: ${JSON.stringify(name)}`);
  }
}

/** True if `s` holds a control character (not allowed in keys or list prefixes). */
export function hasControl(s: string): boolean {
  return CONTROL.test(s);
}

/** UTF-8 bytes of `s`. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}
