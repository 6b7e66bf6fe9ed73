/**
 * The calls in flight on one process, by id: sending a request (inline or streamed), turning
 * RES frames back into a Response, timeouts and cancellation. A cancelled call must be
 * acknowledged by the child, and a child that sends nothing at all for a grace after a cancel is
 * stuck (a CPU loop) and gets killed; one that keeps answering other calls is only busy.
 *
 * @module
 */
import { type FrameWriter, parseJson, readU32, splitJson, T, u32 } from "./_frame.ts";
import { Inbound, sendBody, type Window } from "./_stream.ts";
import { parseResHead, ResError } from "./_schema.ts";
import { CANCEL_GRACE_MS } from "./constants.ts";
import { SandboxError } from "./errors.ts";
import { isHeaderPair, NULL_BODY_STATUS } from "../../core/mod.ts";
import type { CallRequest, CallResponse, CallResult, InvokeOptions } from "./types.ts";

/**
 * Failures already told to {@linkcode CallTableInit.failed}: the pool tells the log of the others
 * (a call that timed out in the queue, or whose process failed to start).
 */
export const reported: WeakSet<object> = new WeakSet();

/** Whether a call's failure belongs in the function's log: the host's reasons, not its throw. */
export function loggable(err: unknown): err is SandboxError {
  return err instanceof SandboxError && !err.refused && !reported.has(err) &&
    err.code !== "FUNCTION_ERROR" && err.code !== "SANDBOX_STOPPED";
}

/** What a call table needs from its process. */
export interface CallTableInit {
  out: FrameWriter;
  maxResponseBytes: number;
  nextId: () => number;
  /** The child did not acknowledge a cancel in time. */
  stuck: (message: string) => void;
  /** A call ended, or a cancel was acknowledged: the process may take more calls. */
  idle: () => void;
  /** Frames the child has sent so far, to tell busy (it sent some meanwhile) from stuck. */
  framesSeen: () => number;
  /** A call failed for a reason of the host's (timeout, memory, crash, size), not the function's throw. */
  failed?: (requestId: string, err: SandboxError) => void;
}

/** The time limits of one call, and who wants to know when it started. */
export interface CallTiming {
  /** The function's timeout, for the error message. */
  timeoutMs: number;
  /**
   * When it times out (performance.now()): a queued call's runs from its arrival. @default
   * {timeoutMs from now}
   */
  deadline?: number;
  /** Told how long the child took to start the call after it was sent, in ms. */
  onStarted?: (waitMs: number) => void;
}

interface Call {
  id: number;
  requestId: string;
  resolve: (r: CallResult) => void;
  reject: (e: unknown) => void;
  headDone: boolean;
  body?: Inbound;
  reqWin?: Window;
  resBytes: number;
  /** performance.now() past which the call times out. */
  deadline: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onAbort?: () => void;
  onStarted?: ((waitMs: number) => void) | undefined;
  headers?: ReadonlyArray<readonly [string, string]> | undefined;
  parts?: boolean | undefined;
}

/** A text body's bytes back to its string: a leading BOM is the function's, not a marker. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The parts of a response the child sent, checked as `new Response` would check them, with
 * `extra` in place of the function's headers of those (lower-case) names; throws as it would.
 */
function responseParts(
  status: number,
  pairs: [string, string][],
  body: CallResponse["body"],
  extra: ReadonlyArray<readonly [string, string]> | undefined,
): CallResponse {
  if (body !== null && NULL_BODY_STATUS.has(status)) {
    throw new TypeError(`Response with null body status ${status} cannot have body`);
  }
  const headers: [string, string][] = [];
  for (const p of pairs) {
    if (!isHeaderPair(p[0], p[1])) throw new TypeError("Invalid header");
    const lower = p[0].toLowerCase();
    if (extra?.some((e) => e[0] === lower)) continue;
    headers.push(p);
  }
  if (extra) { for (const e of extra) headers.push([e[0], e[1]]); }
  return { status, headers, body };
}

/** Calls multiplexed over one process's channel. */
export class CallTable {
  readonly #calls = new Map<number, Call>();
  readonly #acks = new Map<number, ReturnType<typeof setTimeout>>();
  readonly #timedOut = new Set<number>();
  readonly #init: CallTableInit;
  /** One timer for the table, armed at the earliest deadline: no timer per call. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;

  constructor(init: CallTableInit) {
    this.#init = init;
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Timed-out calls whose cancel the child has not acknowledged yet: it may be stuck. */
  get suspect(): boolean {
    return this.#timedOut.size > 0;
  }

  start(req: CallRequest, opts: InvokeOptions, timing: CallTiming): Promise<CallResult> {
    // First: listing a caller's headers may throw, before anything of the call is kept.
    const head = this.#head(req, opts.requestId, opts.url ?? req.url);
    const { timeoutMs } = timing;
    const id = this.#init.nextId();
    const { promise, resolve, reject } = Promise.withResolvers<CallResult>();
    const call = {
      id,
      requestId: opts.requestId,
      resolve,
      reject,
      headDone: false,
      resBytes: 0,
      deadline: timing.deadline ?? performance.now() + timeoutMs,
      timeoutMs,
    } as Call;
    call.onStarted = timing.onStarted;
    call.headers = opts.headers;
    call.parts = opts.parts;
    this.#calls.set(id, call);
    this.#arm(call.deadline);
    if (opts.signal) {
      const signal = opts.signal;
      if (signal.aborted) {
        this.#cancel(call, signal.reason);
        return promise;
      }
      call.signal = signal;
      call.onAbort = () => this.#cancel(call, signal.reason);
      // No `{ once }`: #finish removes it, and converting the options costs every call.
      signal.addEventListener("abort", call.onAbort);
    }
    // A call without a body is one frame, sent now: no stream machinery, closures or promises.
    if (req.body === null) this.#init.out.sendJson(T.REQ, id, head);
    else this.#send(call, req.body, head).catch((e) => this.#cancel(call, e));
    return promise;
  }

  /**
   * A REQ head. `t`: when it was sent (wall clock, shared by both processes), so the child can
   * tell how long the call waited for it. `b`: the body's mode, set as the body is sent.
   */
  #head(req: CallRequest, requestId: string, url: string) {
    // Pairs pass as they are (a call from the mesh); a Request's Headers are listed.
    let h = req.headers;
    if (h instanceof Headers) {
      // forEach, not the iterator: the same sorted, combined pairs for less (a loop: 0.8 → 0.26 µs).
      const list: [string, string][] = [];
      h.forEach((value, name) => {
        list.push([name, value]);
      });
      h = list;
    } else if (!Array.isArray(h)) h = [...h];
    return { m: req.method, u: url, h, r: requestId, b: 0, t: Date.now() };
  }

  /** Sends a call with a body: inline in its head when small and ready, else streamed. */
  async #send(
    call: Call,
    body: ReadableStream<Uint8Array>,
    head: { b: number },
  ): Promise<void> {
    const out = this.#init.out;
    await sendBody(
      body,
      {
        head: (b, inline) => {
          head.b = b;
          out.sendJson(T.REQ, call.id, head, inline);
        },
        chunk: (c) => out.send(T.REQ_CHUNK, call.id, [c]),
        end: () => out.send(T.REQ_END, call.id),
      },
      () => this.#calls.has(call.id),
      (win) => call.reqWin = win,
    );
  }

  /** Handles a call's frame; throws on a malformed one (the process then kills the child). */
  onFrame(type: number, id: number, payload: Uint8Array): void {
    if (type === T.CANCEL_ACK) {
      clearTimeout(this.#acks.get(id));
      this.#acks.delete(id);
      if (this.#timedOut.delete(id)) this.#init.idle();
      return;
    }
    const call = this.#calls.get(id);
    if (!call) return; // late frames of a call that already ended
    switch (type) {
      case T.RES:
        return this.#onHead(call, payload);
      case T.RES_CHUNK:
        if (!call.body) throw new Error("Body chunk before a streamed head");
        call.resBytes += payload.length;
        if (call.resBytes > this.#init.maxResponseBytes) return this.#tooLarge(call);
        call.body.push(payload.slice());
        return;
      case T.RES_END:
        call.body?.end();
        return this.#finish(call);
      case T.RES_ERROR: {
        const { message } = ResError.parse(parseJson(payload));
        return this.#finish(call, new SandboxError("FUNCTION_ERROR", message));
      }
      case T.REQ_CREDIT:
        call.reqWin?.credit(Math.max(0, readU32(payload)));
        return;
    }
  }

  #onHead(call: Call, payload: Uint8Array): void {
    if (call.headDone) throw new Error("Second response head for one call");
    const { json: raw, tail } = splitJson(payload);
    const head = parseResHead(raw);
    if (head.w !== undefined) call.onStarted?.(head.w);
    let body: ReadableStream<Uint8Array> | Uint8Array | string | null = null;
    if (head.b === 1) {
      call.resBytes = tail.length;
      if (tail.length > this.#init.maxResponseBytes) return this.#tooLarge(call);
      // A view into the reader's buffer: a Response copies it as it is made, the parts keep it.
      // A text body becomes a string again: no ArrayBuffer for the Response (~1.1 µs a call).
      body = call.parts ? tail.slice() : head.t === 1 ? utf8.decode(tail) : tail;
    } else if (head.b === 2) {
      call.body = new Inbound(
        (n) => this.#init.out.send(T.RES_CREDIT, call.id, u32(n)),
        () => this.#cancel(call, undefined),
      );
      body = call.body.readable;
    }
    let res: CallResult;
    try {
      if (call.parts) {
        res = responseParts(head.s, head.h, body as CallResponse["body"], call.headers);
      } else res = this.#response(head, body as BodyInit | null, call.headers);
    } catch (e) {
      return this.#cancel(
        call,
        new SandboxError("FUNCTION_ERROR", `Invalid response: ${(e as Error).message}`),
      );
    }
    call.headDone = true;
    call.resolve(res);
    if (head.b !== 2) this.#finish(call);
  }

  #response(
    head: { s: number; h: [string, string][] },
    body: BodyInit | null,
    extra: Call["headers"],
  ): Response {
    // Headers appended one by one: measured cheaper than handing Response the list.
    const res = new Response(body, { status: head.s });
    const headers = res.headers;
    if (typeof body === "string") {
      // Made from a string, the Response has a text/plain content type of its own: the
      // function's replaces it, or it goes when the function's answer had none.
      let typed = false;
      for (const [name, value] of head.h) {
        if (name.length === 12 && name.toLowerCase() === "content-type") {
          if (typed) headers.append(name, value);
          else headers.set(name, value);
          typed = true;
        } else headers.append(name, value);
      }
      if (!typed) headers.delete("content-type");
    } else for (const [name, value] of head.h) headers.append(name, value);
    if (extra) { for (const [name, value] of extra) headers.set(name, value); }
    return res;
  }

  #tooLarge(call: Call): void {
    this.#cancel(
      call,
      new SandboxError(
        "PAYLOAD_TOO_LARGE",
        `Response body exceeds ${this.#init.maxResponseBytes} bytes`,
      ),
    );
  }

  /** Makes the table's timer fire by `deadline` (calls share it; most deadlines come later). */
  #arm(deadline: number): void {
    if (deadline >= this.#armedAt) return;
    clearTimeout(this.#timer);
    this.#armedAt = deadline;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - performance.now()));
  }

  /** Times out the calls whose deadline passed, and re-arms for the next one. */
  #expire(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const call of this.#calls.values()) {
      // Within a millisecond counts as due: a timer may fire a fraction early.
      if (call.deadline - now < 1) {
        this.#timedOut.add(call.id);
        this.#cancel(
          call,
          new SandboxError(
            "FUNCTION_TIMEOUT",
            `Function exceeded its ${call.timeoutMs} ms timeout`,
          ),
        );
      } else next = Math.min(next, call.deadline);
    }
    if (next < Infinity) this.#arm(next);
  }

  /** Ends a call early and tells the child, which must acknowledge (see {@linkcode #watch}). */
  #cancel(call: Call, err: unknown): void {
    if (!this.#calls.has(call.id)) return;
    this.#finish(call, err);
    this.#init.out.send(T.CANCEL, call.id);
    this.#watch(call.id);
  }

  /**
   * Waits for the acknowledgement of a cancel. A child that sent any frame meanwhile is working
   * through other calls (a busy process reads the cancel only between them) and is waited for
   * again; only one silent for the whole grace is stuck in a loop, and is killed.
   */
  #watch(id: number): void {
    const seen = this.#init.framesSeen();
    const t = setTimeout(() => {
      if (this.#acks.get(id) !== t) return;
      if (this.#init.framesSeen() !== seen) return this.#watch(id);
      this.#acks.delete(id);
      this.#init.stuck(
        `Function process sent nothing for ${CANCEL_GRACE_MS} ms after a call was cancelled and was killed`,
      );
    }, CANCEL_GRACE_MS);
    this.#acks.set(id, t);
  }

  #finish(call: Call, err?: unknown): void {
    if (!this.#calls.delete(call.id)) return;
    if (call.onAbort) call.signal?.removeEventListener("abort", call.onAbort);
    call.reqWin?.cancel();
    if (err !== undefined) {
      // The child logged its own exception; a cancel by the caller is no failure of the function.
      if (this.#init.failed && loggable(err)) {
        this.#init.failed(call.requestId, err);
        reported.add(err);
      }
      if (!call.headDone) call.reject(err);
      else call.body?.fail(err);
    }
    this.#init.idle();
  }

  /** The process is gone: every call fails with `err`. */
  failAll(err: SandboxError): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
    for (const t of this.#acks.values()) clearTimeout(t);
    this.#acks.clear();
    this.#timedOut.clear();
    for (const call of [...this.#calls.values()]) this.#finish(call, err);
  }
}
