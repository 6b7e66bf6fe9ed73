/**
 * The CLI's HTTP client: talks to one peer (`--peer`, `VIRGO_PEER`), adds the
 * token (`--token`, `VIRGO_TOKEN`) to every request when there is one — API
 * calls and function calls alike, so `virgo invoke` reaches private functions
 * and shows a failing function's real message — and turns the contract's error
 * shape into a {@linkcode CliError} the CLI prints in one line.
 * @module
 */
import { EXIT, exitCodeForStatus } from "./exit_codes.ts";

/** An error the CLI reports as `error CODE: message`, exiting with {@linkcode CliError.exitCode}. */
export class CliError extends Error {
  override name = "CliError";
  /** Stable code: the peer's error code, `PEER_UNREACHABLE`, or a local one (`BAD_REQUEST`). */
  readonly code: string;
  /** The process's exit code (see exit_codes.ts). */
  readonly exitCode: number;
  /**
   * @example
   * ```ts
   * throw new CliError("BAD_REQUEST", "--var expects K=V: x"); // exit code 2
   * ```
   */
  constructor(code: string, message: string, exitCode?: number) {
    super(message);
    this.code = code;
    this.exitCode = exitCode ??
      (code === "BAD_REQUEST" ? EXIT.USAGE : code === "PEER_UNREACHABLE" ? EXIT.UNREACHABLE : 1);
  }
}

/** Where and how the CLI reaches a peer. */
export interface ClientOptions {
  /** Base URL of the peer, e.g. `http://127.0.0.1:8787`. */
  peer: string;
  /** Admin token, sent as `Authorization: Bearer <token>` on every request. */
  token?: string | undefined;
}

/** A client bound to one peer. */
export interface Client {
  /** Sends a request; non-2xx answers throw {@linkcode CliError}. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Sends a request and returns any answer; only an unreachable peer throws. */
  raw(path: string, init?: RequestInit): Promise<Response>;
  /** Sends a request and parses the JSON answer. */
  json<T = unknown>(path: string, init?: RequestInit): Promise<T>;
}

/**
 * Creates a client for the peer at `opts.peer`.
 *
 * @example
 * ```ts
 * const client = createClient({ peer: "http://127.0.0.1:8787" });
 * const { functions } = await client.json<{ functions: unknown[] }>("/v1/functions");
 * ```
 */
export function createClient(opts: ClientOptions): Client {
  const base = opts.peer.replace(/\/+$/, "");
  async function raw(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (opts.token) headers.set("authorization", `Bearer ${opts.token}`);
    try {
      return await fetch(`${base}${path}`, { ...init, headers });
    } catch (err) {
      throw new CliError("PEER_UNREACHABLE", `Cannot reach ${base}: ${(err as Error).message}`);
    }
  }
  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await raw(path, init);
    if (res.ok) return res;
    const text = await res.text();
    let code = `HTTP_${res.status}`;
    let message = text.slice(0, 500);
    try {
      const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (body.error?.code) code = body.error.code;
      if (body.error?.message) message = body.error.message;
    } catch {
      // Not the contract's JSON: report the raw text.
    }
    // The request id finds the call in the peer's log.
    const requestId = res.headers.get("x-virgo-request-id");
    if (requestId && !message.includes(requestId)) message += ` (request ${requestId})`;
    throw new CliError(code, message, exitCodeForStatus(res.status));
  }
  return {
    fetch: send,
    raw,
    async json(path, init) {
      return await (await send(path, init)).json();
    },
  };
}
