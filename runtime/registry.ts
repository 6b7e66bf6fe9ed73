/**
 * The function catalogue: which functions exist, at which version, with which
 * settings — kept in LevelDB, shared with the mesh, and settled by
 * last-writer-wins stamps so that concurrent deploys of one name end with the
 * same winner everywhere. Bundles are stored content-addressed by sha256 and
 * fetched from a peer that holds them on first need, verified by their hash.
 * @module
 */
import type { Database, Store } from "../kv/mod.ts";
import type { FunctionSpec, SandboxPool } from "./sandbox/mod.ts";
import type { Logger } from "./log.ts";
import { createStampClock } from "./stamp.ts";
import { sha256Hex } from "./_hash.ts";
import { createBundleStore } from "./bundles.ts";
import { createCatalogSync } from "./catalog_sync.ts";
import { type CatalogNet, type FunctionMeta, FunctionMetaSchema } from "./catalog.ts";

export {
  type CatalogNet,
  CatalogSchema,
  type FunctionMeta,
  FunctionMetaSchema,
} from "./catalog.ts";

/** What a deploy asks for (already validated at the HTTP edge). */
export interface DeployInput {
  code: string;
  vars: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  allowNet?: string[] | undefined;
  allowLoopback: boolean;
  /** Opens the private address ranges to the function. @default {false} */
  allowPrivate?: boolean | undefined;
  /** Without the admin token, callers of `/fn/<name>` get 401 when false. @default {true} */
  public?: boolean | undefined;
  kvNamespace?: string | undefined;
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
    allowPrivate: meta.allowPrivate,
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
  let held: string[] | undefined;
  /** Sandbox specs by version, built once per version (they are asked for on every call). */
  const specs = new Map<string, FunctionSpec>();

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

  const sync = createCatalogSync({
    net,
    logger,
    catalog: {
      entries: () => entries.values(),
      knows: (name, version) => entries.get(name)?.version === version,
      merge,
    },
  });

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
      await bundles.serve();
      await sync.start();
    },

    stop() {
      sync.stop();
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
        allowPrivate: input.allowPrivate ?? false,
        public: input.public ?? true,
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
        allowPrivate: settings.allowPrivate,
        public: settings.public,
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
      await sync.announce(meta);
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
      await sync.announce(tombstone);
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
