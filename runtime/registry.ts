/**
 * The function catalogue: which functions exist, at which version, with which
 * settings — kept in LevelDB, shared with the mesh, and settled by
 * last-writer-wins stamps so that concurrent deploys of one name end with the
 * same winner everywhere. Bundles are stored content-addressed by sha256 and
 * fetched from a peer that holds them on first need, verified by their hash.
 * @module
 */
import { z } from "zod";
import type { Database, Store } from "../kv/mod.ts";
import type { FunctionSpec, SandboxPool } from "./sandbox/mod.ts";
import {
  CATALOG_FULL_SYNC_TICKS,
  CATALOG_PROTOCOL,
  CATALOG_SYNC_MS,
  CATALOG_TOPIC,
} from "./constants.ts";
import { VirgoError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { createStampClock, isStamp } from "./stamp.ts";
import { sha256Hex } from "./_hash.ts";
import { createBundleStore } from "./bundles.ts";

/** A catalogue entry: one deployment of one function, or its tombstone. */
export const FunctionMetaSchema = z.object({
  name: z.string().min(1).max(63),
  /** Identity of this deployment: hash of the bundle and its settings. */
  version: z.string().regex(/^[0-9a-f]{16}$/),
  /** sha256 of the bundle, its storage key. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  vars: z.record(z.string(), z.string()),
  timeoutMs: z.number().int().positive(),
  memoryMb: z.number().int().positive(),
  allowNet: z.array(z.string()).optional(),
  allowLoopback: z.boolean(),
  kvNamespace: z.string(),
  stamp: z.string().refine(isStamp, "Invalid stamp"),
  origin: z.string(),
  deployedAt: z.string(),
  deleted: z.boolean(),
});
/** A catalogue entry. */
export type FunctionMeta = z.infer<typeof FunctionMetaSchema>;
const CatalogSchema = z.array(FunctionMetaSchema).max(100_000);

/** What a deploy asks for (already validated at the HTTP edge). */
export interface DeployInput {
  code: string;
  vars: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  allowNet?: string[] | undefined;
  allowLoopback: boolean;
  kvNamespace?: string | undefined;
}

/** The part of the mesh the catalogue uses. */
export interface CatalogNet {
  readonly peerId: string;
  peers(): Array<{ peerId: string; self: boolean; functions: string[] }>;
  onMembership(cb: (ev: { type: "join" | "leave"; peerId: string }) => void): () => void;
  publish(topic: string, data: Uint8Array): Promise<void>;
  subscribe(topic: string, handler: (data: Uint8Array, from: string) => void): void;
  handle(
    protocol: string,
    handler: (req: Uint8Array, from: string) => Promise<Uint8Array>,
    opts?: { maxBytes?: number },
  ): Promise<void>;
  request(
    peerId: string,
    protocol: string,
    req: Uint8Array,
    opts?: { maxBytes?: number; signal?: AbortSignal },
  ): Promise<Uint8Array>;
}

/** The catalogue of one peer. */
export interface Registry {
  start(): Promise<void>;
  stop(): void;
  /** Live (not deleted) entries, by name. */
  list(): FunctionMeta[];
  /** The live entry of `name`, if any. */
  get(name: string): FunctionMeta | undefined;
  /** Loads, checks and stores a new version, then announces it. */
  deploy(name: string, input: DeployInput): Promise<FunctionMeta>;
  /** Removes a function mesh-wide; false when there was none. */
  remove(name: string): Promise<boolean>;
  /** The sandbox spec of an entry, fetching its bundle from the mesh on first need. */
  spec(meta: FunctionMeta): Promise<FunctionSpec>;
  /** `name@version` of every live entry, as gossiped in the load record. */
  held(): string[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Builds the sandbox spec of an entry. */
function toSpec(meta: FunctionMeta, code: string): FunctionSpec {
  const spec: FunctionSpec = {
    name: meta.name,
    version: meta.version,
    code,
    vars: meta.vars,
    timeoutMs: meta.timeoutMs,
    memoryMb: meta.memoryMb,
    allowLoopback: meta.allowLoopback,
    kvNamespace: meta.kvNamespace,
  };
  if (meta.allowNet) spec.allowNet = meta.allowNet;
  return spec;
}

/**
 * Creates the catalogue over a database, a sandbox pool and the mesh.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ db, sandbox, net: mesh, logger });
 * await registry.start();
 * await registry.deploy("hello", { code, vars: {}, timeoutMs: 10000, memoryMb: 128, allowLoopback: false });
 * ```
 */
export function createRegistry(
  init: { db: Database; sandbox: SandboxPool; net: CatalogNet; logger: Logger },
): Registry {
  const { sandbox, net, logger } = init;
  const metas: Store = init.db.store("functions");
  const bundles = createBundleStore({ db: init.db, net, logger });
  const clock = createStampClock(net.peerId);
  const entries = new Map<string, FunctionMeta>();
  const lastSync = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticks = 0;
  let held: string[] | undefined;
  /** Sandbox specs by version, built once per version (they are asked for on every call). */
  const specs = new Map<string, FunctionSpec>();

  /**
   * Gossip can miss an announcement (a topic mesh still forming, a peer
   * away), so catalogues are also reconciled: at once with a peer whose load
   * record lists a version we do not know, and now and then with a random peer
   * (which also spreads deletions).
   */
  function antiEntropy(): void {
    const others = net.peers().filter((p) => !p.self);
    if (others.length === 0) return;
    const now = Date.now();
    const known = (tag: string) => {
      const at = tag.lastIndexOf("@");
      return entries.get(tag.slice(0, at))?.version === tag.slice(at + 1);
    };
    for (const p of others) {
      if (
        p.functions.some((tag) => !known(tag)) &&
        now - (lastSync.get(p.peerId) ?? 0) > CATALOG_SYNC_MS * 2
      ) {
        lastSync.set(p.peerId, now);
        void syncFrom(p.peerId);
      }
    }
    if (++ticks % CATALOG_FULL_SYNC_TICKS === 0) {
      void syncFrom(others[Math.floor(Math.random() * others.length)]!.peerId);
    }
  }

  /** Applies an entry if it is newer than ours; true when it changed something. */
  async function merge(meta: FunctionMeta): Promise<boolean> {
    clock.observe(meta.stamp);
    const current = entries.get(meta.name);
    if (current && current.stamp >= meta.stamp) return false;
    entries.set(meta.name, meta);
    held = undefined;
    await metas.put(meta.name, enc.encode(JSON.stringify(meta)));
    if (current && (current.version !== meta.version || meta.deleted)) {
      specs.delete(current.version);
      sandbox.retire(current.version);
    }
    logger.info(
      { fn: meta.name, version: meta.version, from: meta.origin, deleted: meta.deleted },
      meta.deleted ? "Function removed" : "Function deployed",
    );
    return true;
  }

  async function announce(meta: FunctionMeta): Promise<void> {
    await net.publish(CATALOG_TOPIC, enc.encode(JSON.stringify([meta]))).catch((err) =>
      logger.warn({ err: String(err) }, "Catalogue announce failed")
    );
  }

  function parseCatalog(bytes: Uint8Array): FunctionMeta[] {
    const parsed = CatalogSchema.safeParse(JSON.parse(dec.decode(bytes)));
    if (!parsed.success) throw new VirgoError("BAD_REQUEST", "Malformed catalogue");
    return parsed.data;
  }

  async function syncFrom(peerId: string): Promise<void> {
    try {
      const reply = await net.request(peerId, CATALOG_PROTOCOL, new Uint8Array(0), {
        maxBytes: 64 * 1024 * 1024,
      });
      for (const meta of parseCatalog(reply)) await merge(meta);
    } catch (err) {
      logger.debug({ peer: peerId, err: String(err) }, "Catalogue sync failed");
    }
  }

  return {
    async start() {
      for (const { value } of await metas.list()) {
        const parsed = FunctionMetaSchema.safeParse(JSON.parse(dec.decode(value)));
        if (parsed.success) {
          entries.set(parsed.data.name, parsed.data);
          held = undefined;
          clock.observe(parsed.data.stamp);
        }
      }
      net.subscribe(CATALOG_TOPIC, (data, from) => {
        let list: FunctionMeta[];
        try {
          list = parseCatalog(data);
        } catch {
          logger.warn({ from }, "Dropped a malformed catalogue announcement");
          return;
        }
        for (const meta of list) {
          merge(meta).catch((err) => logger.error({ err: String(err) }, "Catalogue merge failed"));
        }
      });
      await net.handle(
        CATALOG_PROTOCOL,
        () => Promise.resolve(enc.encode(JSON.stringify([...entries.values()]))),
        { maxBytes: 16 },
      );
      await bundles.serve();
      net.onMembership((ev) => {
        if (ev.type === "join") void syncFrom(ev.peerId);
      });
      for (const p of net.peers()) if (!p.self) void syncFrom(p.peerId);
      timer = setInterval(antiEntropy, CATALOG_SYNC_MS);
    },

    stop() {
      clearInterval(timer);
    },

    list() {
      return [...entries.values()].filter((m) => !m.deleted).sort((a, b) =>
        a.name < b.name ? -1 : 1
      );
    },

    get(name) {
      const meta = entries.get(name);
      return meta && !meta.deleted ? meta : undefined;
    },

    async deploy(name, input) {
      const bytes = enc.encode(input.code);
      const hash = await sha256Hex(bytes);
      const settings = {
        vars: input.vars,
        timeoutMs: input.timeoutMs,
        memoryMb: input.memoryMb,
        allowNet: input.allowNet,
        allowLoopback: input.allowLoopback,
        kvNamespace: input.kvNamespace ?? name,
      };
      const version = (await sha256Hex(enc.encode(hash + JSON.stringify(settings)))).slice(0, 16);
      const meta: FunctionMeta = {
        name,
        version,
        hash,
        size: bytes.byteLength,
        vars: settings.vars,
        timeoutMs: settings.timeoutMs,
        memoryMb: settings.memoryMb,
        allowLoopback: settings.allowLoopback,
        kvNamespace: settings.kvNamespace,
        stamp: clock.now(),
        origin: net.peerId,
        deployedAt: new Date().toISOString(),
        deleted: false,
      };
      if (input.allowNet) meta.allowNet = input.allowNet;
      // Load before storing: a bundle that does not load is refused with the
      // loader's message, and the old version keeps serving.
      await sandbox.load(toSpec(meta, input.code));
      await bundles.put(hash, bytes, input.code);
      await merge(meta);
      await announce(meta);
      return meta;
    },

    async remove(name) {
      const current = entries.get(name);
      if (!current || current.deleted) return false;
      const tombstone: FunctionMeta = {
        ...current,
        stamp: clock.now(),
        origin: net.peerId,
        deployedAt: new Date().toISOString(),
        deleted: true,
      };
      await merge(tombstone);
      await announce(tombstone);
      return true;
    },

    async spec(meta) {
      let spec = specs.get(meta.version);
      if (!spec) {
        spec = toSpec(meta, await bundles.code(meta));
        specs.set(meta.version, spec);
      }
      return spec;
    },

    held() {
      // Sampled for every routed call (the load record of this peer): cache it.
      return held ??= this.list().map((m) => `${m.name}@${m.version}`);
    },
  };
}
