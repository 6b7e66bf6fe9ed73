/**
 * One child process on the host side: spawning it, the frame channel, the calls multiplexed over
 * it, and its death. Every failure of the child ends here as a SandboxError on its calls; none
 * reaches the host's event loop.
 *
 * @module
 */
import { FrameReader, FrameWriter, json, parseJson, T, writeAllTo } from "./_frame.ts";
import { childArgs, type Profile, profileKey } from "./_flags.ts";
import { Loaded, Log } from "./_schema.ts";
import { CallTable, type CallTiming } from "./_calls.ts";
import { handleKv } from "./_kv_host.ts";
import { MAX_FRAME_BYTES, RSS_OVERHEAD_MB, WAIT_UNTIL_GRACE_MS } from "./constants.ts";
import { SandboxError, type SandboxErrorCode } from "./errors.ts";
import type {
  CallRequest,
  CallResult,
  FunctionLog,
  FunctionSpec,
  InvokeOptions,
  KvOp,
  KvResult,
  Logger,
} from "./types.ts";

/** What a process needs from its pool. */
export interface ProcessInit {
  /** The URL of the program the child runs (see `_child_program.ts`). */
  program: string;
  profile: Profile;
  denyNet: string[];
  peerId: string;
  logger: Logger;
  /** Told each line of the loaded function's log. */
  onLog?: ((line: FunctionLog) => void) | undefined;
  kv: (namespace: string, op: KvOp) => Promise<KvResult>;
  maxResponseBytes: number;
  onExit: (p: SandboxProcess) => void;
  /** A call ended or a cancel was acknowledged: the process may take more calls. */
  onIdle: (p: SandboxProcess) => void;
}

/** A running child and the calls in flight on it. */
export class SandboxProcess {
  readonly pid: number;
  readonly profileKey: string;
  /** Resident set size above which the watchdog kills the child. */
  readonly rssLimit: number;
  /** The loaded version, or undefined for a spare. */
  spec: FunctionSpec | undefined;
  rss = 0;
  lastUsed = performance.now();
  /** Frames the child has sent (a counter: no clock read per frame). */
  framesSeen = 0;
  /** Resolves once the child has exited and its calls are failed. */
  readonly exited: Promise<void>;
  readonly #init: ProcessInit;
  readonly #child: Deno.ChildProcess;
  readonly #listener: Deno.UnixListener;
  readonly #conn: Promise<Deno.UnixConn>;
  readonly #out: FrameWriter;
  readonly #calls: CallTable;
  readonly #loads = new Map<number, (ok: boolean, message: string) => void>();
  #ready = Promise.withResolvers<void>();
  #seq = 0;
  #dead = false;
  /** Ended on purpose ({@linkcode SandboxProcess.close}): its exit is no crash to log. */
  #closing = false;
  #killedFor: SandboxError | undefined;

  private constructor(init: ProcessInit, fresh: boolean) {
    this.#init = init;
    this.profileKey = profileKey(init.profile);
    this.rssLimit = (init.profile.memoryMb + RSS_OVERHEAD_MB) * 1024 * 1024;
    // The channel: a unix socket in a private directory, accepted once then removed, so nothing
    // else (function code included) can open it. A 64-byte echo: 0.03 ms RTT vs 0.09 over pipes.
    const dir = Deno.makeTempDirSync({ prefix: "virgo-sb-" });
    const sock = `${dir}/s`;
    this.#listener = Deno.listen({ transport: "unix", path: sock });
    this.#conn = this.#listener.accept().finally(() => {
      this.#listener.close();
      Deno.remove(dir, { recursive: true }).catch(() => {});
    });
    this.#conn.catch(() => {});
    this.#child = new Deno.Command(Deno.execPath(), {
      args: childArgs(init.profile, init.denyNet, init.program, sock, fresh),
      clearEnv: true,
      env: childEnv(),
      // Node's `process.cwd()` cannot be hidden inside the child: give it nothing to reveal.
      cwd: "/",
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    const write = this.#conn.then(writeAllTo);
    // Flushed once per event-loop turn: the frames of every call that arrived in it in one write.
    this.#out = new FrameWriter(async (b) => (await write)(b), () => {}, (f) => setImmediate(f));
    this.#calls = new CallTable({
      out: this.#out,
      maxResponseBytes: init.maxResponseBytes,
      nextId: () => ++this.#seq,
      stuck: (msg) => this.kill("FUNCTION_CRASHED", msg),
      idle: () => {
        this.lastUsed = performance.now();
        init.onIdle(this);
      },
      framesSeen: () => this.framesSeen,
      failed: (requestId, err) => this.#event("error", `${err.code}: ${err.message}`, requestId),
    });
    this.#readConn();
    this.#readStdout();
    this.#readStderr();
    this.exited = this.#child.status.then((s) => this.#onExit(s));
  }

  /**
   * Spawns a child and waits until it has warmed up; throws if it dies first. With `load`, the
   * child is started for that function: its LOAD goes out at once, the host makes no warm-up call
   * (the child warms up by itself once loaded, while its first call is on the way), and this
   * resolves when the function is loaded — throwing INVALID_BUNDLE as
   * {@linkcode SandboxProcess.load} does, or FUNCTION_CRASHED if the child dies before READY.
   */
  static async start(
    init: ProcessInit,
    load?: { spec: FunctionSpec; timeoutMs: number },
  ): Promise<SandboxProcess> {
    const p = new SandboxProcess(init, load !== undefined);
    const crashed = p.exited.then(() => {
      throw new SandboxError("FUNCTION_CRASHED", "Sandbox process exited while starting");
    });
    if (load) {
      // Told apart by READY: a child that dies before it is a start that failed, not a bad bundle.
      const loaded = p.load(load.spec, load.timeoutMs);
      loaded.catch(() => {}); // a child that died before READY fails it too: answered below
      try {
        await Promise.race([p.#ready.promise, crashed]);
        await loaded;
      } catch (e) {
        p.close(); // the failed module may have run top-level code: never reuse this process
        throw e;
      }
      return p;
    }
    await Promise.race([p.#ready.promise, crashed]);
    // A dummy call through the whole channel warms both sides' code paths (measured: a fresh child's
    // first call costs ~3 ms more without it).
    const warm = await p.call(new Request("http://warm/"), { requestId: "warm-up" }, {
      timeoutMs: 10_000,
    });
    await (warm as Response).arrayBuffer();
    return p;
  }

  get inflight(): number {
    return this.#calls.size;
  }

  get alive(): boolean {
    return !this.#dead && !this.#killedFor;
  }

  /** Alive and not suspected of being stuck in a loop: new calls may go here. */
  get healthy(): boolean {
    return this.alive && !this.#calls.suspect;
  }

  /**
   * Loads `spec` into this (spare) process; throws INVALID_BUNDLE with the loader's message. A
   * module still loading after `timeoutMs` (a top-level await that never settles) is refused and
   * the process killed: nothing else could ever run in it.
   */
  async load(spec: FunctionSpec, timeoutMs: number): Promise<void> {
    const id = ++this.#seq;
    const done = new Promise<[boolean, string]>((resolve) => {
      this.#loads.set(id, (ok, message) => resolve([ok, message]));
    });
    const late = `Module did not finish loading within ${timeoutMs} ms`;
    const timer = setTimeout(() => {
      const settle = this.#loads.get(id);
      this.#loads.delete(id);
      settle?.(false, late);
      this.kill("INVALID_BUNDLE", late, true);
    }, timeoutMs);
    this.#out.send(
      T.LOAD,
      id,
      json({
        code: spec.code,
        vars: spec.vars,
        secrets: spec.secrets ?? {},
        peerId: this.#init.peerId,
        name: spec.name,
      }),
    );
    const [ok, message] = await done.finally(() => clearTimeout(timer));
    if (!ok) throw new SandboxError("INVALID_BUNDLE", message);
    this.spec = spec;
  }

  /** Runs one call; resolves with the response once its head arrives. */
  call(req: CallRequest, opts: InvokeOptions, timing: CallTiming): Promise<CallResult> {
    // `lastUsed` is set as calls end: a process with calls running is never idle.
    if (!this.alive) {
      return Promise.reject(
        new SandboxError("FUNCTION_CRASHED", "Function process is not running"),
      );
    }
    return this.#calls.start(req, opts, timing);
  }

  /** Ends the child now; its calls fail with `code`. */
  kill(code: SandboxErrorCode, message: string, quiet = false): void {
    if (this.#dead || this.#killedFor) return;
    this.#killedFor = new SandboxError(code, message);
    if (!quiet) this.#init.logger.warn({ fn: this.#fnName(), pid: this.pid, code }, message);
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  /** Ends the child gracefully: its socket closes, it lets `waitUntil` work finish, then exits. */
  close(): void {
    if (this.#dead) return;
    this.#closing = true;
    this.#out.close();
    this.#conn.then((c) => c.closeWrite()).catch(() => {});
    const t = setTimeout(
      () => this.kill("FUNCTION_CRASHED", "Sandbox process did not exit"),
      WAIT_UNTIL_GRACE_MS + 1_000,
    );
    Deno.unrefTimer(t);
    this.exited.then(() => clearTimeout(t));
  }

  #fnName(): string | undefined {
    return this.spec ? `${this.spec.name}@${this.spec.version.slice(0, 12)}` : undefined;
  }

  /** A line of the loaded function's log from the host's side (none for a spare or a warm-up). */
  #event(level: FunctionLog["level"], msg: string, requestId?: string): void {
    const spec = this.spec;
    if (!spec || !this.#init.onLog || requestId === "warm-up") return;
    const line: FunctionLog = {
      fn: spec.name,
      version: spec.version,
      level,
      source: "runtime",
      msg,
    };
    if (requestId !== undefined) line.requestId = requestId;
    this.#init.onLog(line);
  }

  #onExit(s: Deno.CommandStatus): void {
    this.#dead = true;
    this.#out.close();
    try {
      this.#listener.close(); // never connected: fails the accept
    } catch { /* closed once accepted */ }
    this.#conn.then((c) => c.close()).catch(() => {});
    const mb = this.#init.profile.memoryMb;
    const err = this.#killedFor ??
      (s.code === 133 || s.signal === "SIGTRAP"
        ? new SandboxError(
          "FUNCTION_MEMORY_LIMIT",
          `Function exceeded its memory limit of ${mb} MB`,
        )
        : new SandboxError(
          "FUNCTION_CRASHED",
          `Function process exited unexpectedly (code ${s.code})`,
        ));
    const crashed = err.code === "FUNCTION_CRASHED" && (this.#killedFor || !this.#closing);
    if (err.code === "FUNCTION_MEMORY_LIMIT" || crashed) {
      this.#event("error", `Function process ${this.pid} ended: ${err.code}: ${err.message}`);
    }
    this.#calls.failAll(err);
    for (const done of this.#loads.values()) done(false, err.message);
    this.#loads.clear();
    this.#ready.reject(err);
    this.#ready.promise.catch(() => {});
    this.#init.onExit(this);
  }

  async #readConn(): Promise<void> {
    const reader = new FrameReader(
      MAX_FRAME_BYTES,
      (type, id, payload) => this.#onFrame(type, id, payload),
    );
    try {
      await reader.readAll(await this.#conn);
    } catch (e) {
      if (this.#dead) return;
      this.kill(
        "FUNCTION_CRASHED",
        `Function process sent a malformed frame: ${(e as Error).message}`,
      );
    }
  }

  /** Stdout is reserved (it was the channel once): a function writing to it is ended. */
  async #readStdout(): Promise<void> {
    try {
      for await (const _ of this.#child.stdout) {
        this.kill("FUNCTION_CRASHED", "Function process wrote to stdout, which is reserved");
      }
    } catch { /* the child is gone */ }
  }

  async #readStderr(): Promise<void> {
    let rest = "";
    try {
      for await (const text of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split("\n");
        rest = lines.pop()!.slice(-8192);
        for (const line of lines) {
          if (line) {
            const text = line.slice(0, 8192);
            this.#init.logger.warn({ fn: this.#fnName(), stream: "stderr" }, text);
            this.#event("warn", `stderr: ${text}`);
          }
        }
      }
    } catch { /* the child is gone */ }
  }

  #onFrame(type: number, id: number, payload: Uint8Array): void {
    this.framesSeen++;
    switch (type) {
      case T.RES:
      case T.RES_CHUNK:
      case T.RES_END:
      case T.RES_ERROR:
      case T.REQ_CREDIT:
      case T.CANCEL_ACK:
        this.#calls.onFrame(type, id, payload);
        return;
      case T.LOG: {
        const m = Log.parse(parseJson(payload));
        // The level is the call's own (pino's `level` field is its own: never a field of ours).
        const spec = this.spec;
        this.#init.logger[m.l](
          { fn: spec?.name, version: spec?.version, requestId: m.r, source: "function" },
          m.m,
        );
        if (spec && this.#init.onLog && m.r !== "warm-up") {
          const line: FunctionLog = {
            fn: spec.name,
            version: spec.version,
            level: m.l,
            source: "function",
            msg: m.m,
          };
          if (m.r !== undefined) line.requestId = m.r;
          this.#init.onLog(line);
        }
        return;
      }
      case T.KV_CALL: {
        const ns = this.spec?.kvNamespace;
        handleKv(ns, this.#init.kv, payload).then((reply) => this.#out.send(T.KV_REPLY, id, reply));
        return;
      }
      case T.LOADED: {
        const m = Loaded.parse(parseJson(payload));
        const done = this.#loads.get(id);
        this.#loads.delete(id);
        done?.(m.ok, m.message ?? "Bundle failed to load");
        return;
      }
      case T.READY:
        this.#ready.resolve();
        return;
      default:
        throw new Error(`Unknown frame type ${type}`);
    }
  }
}

let denoDir: string | undefined;

/**
 * Where children keep Deno's cache, and the host the bundled child program: DENO_DIR or
 * `~/.cache/deno`, else one temporary directory for this host's lifetime. Undefined without
 * env permission on the host (the child then uses its default).
 */
export function childDenoDir(): string | undefined {
  try {
    if (denoDir === undefined) {
      const home = Deno.env.get("HOME");
      denoDir = Deno.env.get("DENO_DIR") ||
        (home ? `${home}/.cache/deno` : Deno.makeTempDirSync({ prefix: "virgo-deno-dir-" }));
    }
    return denoDir;
  } catch {
    return undefined;
  }
}

/**
 * The child's whole environment: nothing of the host's but where Deno keeps its cache, which
 * must persist across spawns (V8's code cache of the child program is kept there).
 */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  const dir = childDenoDir();
  if (dir !== undefined) env.DENO_DIR = dir;
  return env;
}
