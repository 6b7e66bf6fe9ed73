/**
 * Request/response between pool peers over the {@link PoolTransport}: encodes,
 * times out, decodes, and turns remote errors back into {@link KvError}s.
 *
 * @module
 */
import { isKvErrorCode, KvError } from "./errors.ts";
import type { PoolTransport } from "./transport.ts";
import { decodeReply, encodeMessage, type ReplyHead, type RequestHead } from "./wire.ts";

/**
 * A peer could not be reached or answered garbage: the caller may try another
 * replica or leave a hint. Distinct from {@link KvError}, which is an answer.
 */
export class PeerUnavailableError extends Error {
  override name = "PeerUnavailableError";
  readonly peerId: string;
  /** The request never reached the peer (the transport's error said `unsent`): safe to retry. */
  readonly unsent: boolean;
  constructor(peerId: string, cause: unknown) {
    super(`Peer unavailable: ${peerId}`, { cause });
    this.peerId = peerId;
    this.unsent = (cause as { unsent?: unknown } | undefined)?.unsent === true;
  }
}

/**
 * Calls another pool peer.
 *
 * @example
 * ```ts
 * const rpc = new Rpc(transport, 2000);
 * const { head, payload } = await rpc.call("peerB", { t: "get", k: "a" });
 * ```
 */
export class Rpc {
  readonly #transport: PoolTransport;
  readonly #timeoutMs: number;
  constructor(transport: PoolTransport, timeoutMs: number) {
    this.#transport = transport;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Sends `head` (+ `payload`) to `peerId`. Throws {@link PeerUnavailableError}
   * when unreachable or malformed, {@link KvError} when the peer answered an error.
   */
  async call(
    peerId: string,
    head: RequestHead,
    payload?: Uint8Array,
  ): Promise<{ head: ReplyHead; payload: Uint8Array }> {
    let bytes;
    try {
      bytes = await this.#transport.request(peerId, encodeMessage(head, payload), {
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      // An error the peer's handler raised comes back with its code (`remote`): a pool error is
      // an answer; anything else (unreachable, not a member, failed) means try elsewhere.
      const e = err as { remote?: unknown; code?: unknown; message?: unknown };
      if (
        (err instanceof KvError || e?.remote === true) && typeof e.code === "string" &&
        isKvErrorCode(e.code)
      ) {
        throw new KvError(e.code, String(e.message));
      }
      throw new PeerUnavailableError(peerId, err);
    }
    try {
      return decodeReply(bytes);
    } catch (err) {
      throw new PeerUnavailableError(peerId, err);
    }
  }
}
