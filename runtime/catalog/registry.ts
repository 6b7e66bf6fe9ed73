/**
 * The function catalogue: which functions exist, at which version, with which
 * settings — kept in LevelDB, shared with the mesh, and settled by
 * last-writer-wins stamps so that concurrent deploys of one name end with the
 * same winner everywhere. Bundles are stored content-addressed by sha256 and
 * fetched from a peer that holds them on first need, verified by their hash.
 * @module
 */
import { type Database, Hlc, type Store } from "../../kv/mod.ts";
import type { FunctionSpec, SandboxPool } from "../sandbox/mod.ts";
import type { Logger } from "../log.ts";
import { VirgoError } from "../errors.ts";
import { type Operator, signedBytes } from "./operator.ts";
import type { Sealer } from "./secrets.ts";
import { sha256Hex } from "../../core/mod.ts";
import { createBundleStore } from "./bundles.ts";
import { createCatalogSync } from "./sync.ts";
import { TOMBSTONE_HORIZON_MS, TOMBSTONE_SWEEP_MS } from "./constants.ts";
import { type CatalogDigest, createDigestTree } from "./digest.ts";
import { asVersion, compareStamps, stampWall } from "./stamp.ts";
import {
  type CatalogNet,
  type FunctionMeta,
  FunctionMetaSchema,
  type FunctionVersion,
} from "./entry.ts";
import { DEFAULT_KEEP_VERSIONS } from "./constants.ts";

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
  /** Removes a function mesh-wide, and the versions it kept; false when there was none. */
  remove(name: string): Promise<boolean>;
  /** The versions `name` keeps, newest first, and which is current; `FUNCTION_NOT_FOUND` when none. */
  versions(name: string): { current: string; versions: FunctionVersion[] };
  /**
   * Makes a kept version current again, mesh-wide, as one signed entry like a deploy: `version`
   * (or a prefix of it), by default the one below the current in {@linkcode Registry.versions}.
   * `NOT_FOUND` for a version not kept, `CONFLICT` when there is no older one or it is current.
   */
  rollback(name: string, version?: string): Promise<FunctionMeta>;
  /** The sandbox spec of an entry, fetching its bundle from the mesh on first need. */
  spec(meta: FunctionMeta): Promise<FunctionSpec>;
  /** The catalogue's digest and entry count (tombstones included), as gossiped in the load record. */
  digest(): CatalogDigest;
  /** Sets secret `key` of function `name` (a new version, mesh-wide). */
  setSecret(name: string, key: string, value: string): Promise<FunctionMeta>;
  /** Removes secret `key` of function `name`; false when it had none by that name. */
  removeSecret(name: string, key: string): Promise<boolean>;
}

/** What a registry is built from. */
export interface RegistryInit {
  db: Database;
  sandbox: SandboxPool;
  net: CatalogNet;
  logger: Logger;
  /** Seals secrets at rest. */
  sealer: Sealer;
  /** The operator key: entries from other peers must carry its signature, and ours are signed. */
  operator?: Operator | undefined;
  /** Versions each function keeps (`--keep-versions`). @default {10} */
  keepVersions?: number | undefined;
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
    secrets: meta.secrets,
  };
  if (meta.allowNet) spec.allowNet = meta.allowNet;
  return spec;
}

/** A version id: the bundle, its settings and its secrets' revision. */
async function versionOf(hash: string, settings: object, secretsRev: string): Promise<string> {
  return (await sha256Hex(enc.encode(hash + JSON.stringify(settings) + secretsRev))).slice(0, 16);
}

/** The settings a version is made of, in a fixed order. */
function settingsOf(meta: FunctionVersion): object {
  return {
    vars: meta.vars,
    timeoutMs: meta.timeoutMs,
    memoryMb: meta.memoryMb,
    allowNet: meta.allowNet,
    allowLoopback: meta.allowLoopback,
    allowPrivate: meta.allowPrivate,
    public: meta.public,
    kvNamespace: meta.kvNamespace,
  };
}

/** The kept version an entry is. */
function versionItem(meta: FunctionMeta): FunctionVersion {
  const item: FunctionVersion = {
    version: meta.version,
    hash: meta.hash,
    size: meta.size,
    vars: meta.vars,
    timeoutMs: meta.timeoutMs,
    memoryMb: meta.memoryMb,
    allowLoopback: meta.allowLoopback,
    allowPrivate: meta.allowPrivate,
    public: meta.public,
    kvNamespace: meta.kvNamespace,
    deployedAt: meta.deployedAt,
    origin: meta.origin,
  };
  if (meta.allowNet) item.allowNet = meta.allowNet;
  return item;
}

/**
 * The versions an entry keeps, newest first, its current one among them (an entry stored before
 * versions were kept lists only itself); none for a tombstone.
 */
export function keptVersions(meta: FunctionMeta): FunctionVersion[] {
  if (meta.deleted) return [];
  const history = meta.history ?? [];
  return history.some((v) => v.version === meta.version)
    ? history
    : [versionItem(meta), ...history];
}

/** `history` with `item` on top (a version already kept moves up), at most `keep` long. */
export function pushVersion(
  history: FunctionVersion[],
  item: FunctionVersion,
  keep: number,
): FunctionVersion[] {
  return [item, ...history.filter((v) => v.version !== item.version)].slice(0, keep);
}

/** The bundles an entry refers to: its own and those of the versions it keeps. */
function bundlesOf(meta: FunctionMeta | undefined): Set<string> {
  if (!meta || meta.deleted) return new Set();
  return new Set([meta.hash, ...(meta.history ?? []).map((v) => v.hash)]);
}

/**
 * The version of `history` a rollback goes to: `wanted` (a version or a prefix of one), or the
 * one below `current`. Throws `NOT_FOUND`, `BAD_REQUEST` (a prefix of several) or `CONFLICT`.
 */
export function rollbackTarget(
  name: string,
  history: FunctionVersion[],
  current: string,
  wanted?: string,
): FunctionVersion {
  if (wanted === undefined) {
    const below = history[history.findIndex((v) => v.version === current) + 1];
    if (!below) {
      throw new VirgoError(
        "CONFLICT",
        `${name} has no version older than ${current} to roll back to (virgo versions ${name})`,
      );
    }
    return below;
  }
  const matches = history.filter((v) => v.version.startsWith(wanted));
  if (matches.length === 0) {
    throw new VirgoError(
      "NOT_FOUND",
      `${name} has no kept version ${wanted} (virgo versions ${name} lists them)`,
    );
  }
  if (matches.length > 1) {
    throw new VirgoError(
      "BAD_REQUEST",
      `${wanted} names ${matches.length} versions of ${name}: give more of its digits`,
    );
  }
  const target = matches[0]!;
  if (target.version === current) {
    throw new VirgoError("CONFLICT", `${target.version} is already the current version of ${name}`);
  }
  return target;
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
export function createRegistry(init: RegistryInit): Registry {
  const { sandbox, net, logger, operator, sealer } = init;
  const keep = init.keepVersions ?? DEFAULT_KEEP_VERSIONS;
  const metas: Store = init.db.store("functions");
  /** How many entries refer to each bundle (as their own or a kept version's). */
  const refs = new Map<string, number>();
  /** Bundles stored for a deploy or rollback not yet applied: not to be collected meanwhile. */
  const pinned = new Map<string, number>();
  const wanted = (hash: string) => refs.has(hash) || pinned.has(hash);
  const bundles = createBundleStore({
    db: init.db,
    net,
    logger,
    digest: () => tree.summary().digest,
    wanted,
  });
  // kv's hybrid logical clock: the peer has one kind of clock, for KV versions and stamps alike.
  const clock = new Hlc(net.peerId);
  const entries = new Map<string, FunctionMeta>();
  const tree = createDigestTree();
  let sweeper: ReturnType<typeof setInterval> | undefined;
  /** Sandbox specs by version, built once per version (they are asked for on every call). */
  const specs = new Map<string, FunctionSpec>();

  /** Counts the bundles `next` refers to instead of those `prev` did; returns those dropped. */
  function track(prev: FunctionMeta | undefined, next: FunctionMeta | undefined): string[] {
    const before = bundlesOf(prev);
    const after = bundlesOf(next);
    for (const h of after) if (!before.has(h)) refs.set(h, (refs.get(h) ?? 0) + 1);
    const dropped: string[] = [];
    for (const h of before) {
      if (after.has(h)) continue;
      const n = (refs.get(h) ?? 1) - 1;
      if (n > 0) refs.set(h, n);
      else {
        refs.delete(h);
        dropped.push(h);
      }
    }
    return dropped;
  }

  function pin(hash: string): () => void {
    pinned.set(hash, (pinned.get(hash) ?? 0) + 1);
    return () => {
      const n = pinned.get(hash)! - 1;
      if (n > 0) pinned.set(hash, n);
      else pinned.delete(hash);
    };
  }

  /** Applies an entry if it is newer than ours; true when it changed something. */
  async function merge(meta: FunctionMeta): Promise<boolean> {
    clock.observe(asVersion(meta.stamp));
    const current = entries.get(meta.name);
    if (current && compareStamps(current.stamp, meta.stamp) >= 0) {
      // A deploy that lost the race (concurrent deploys, signed out of stamp order) may have
      // loaded its version here: end its processes.
      if (current.version !== meta.version) sandbox.retire(meta.version);
      return false;
    }
    entries.set(meta.name, meta);
    const dropped = track(current, meta);
    await tree.put(meta);
    const { secrets, ...rest } = meta;
    const stored = Object.keys(secrets).length > 0
      ? { ...rest, sealed: await sealer.seal(secrets) }
      : rest;
    await metas.put(meta.name, enc.encode(JSON.stringify(stored)));
    if (current && (current.version !== meta.version || meta.deleted)) {
      specs.delete(current.version);
      sandbox.retire(current.version);
    }
    // Current (again, after a rollback or a delete): its processes, if it has some, serve on.
    if (!meta.deleted) sandbox.revive(meta.version);
    // No version refers to these any more, on this peer: they leave the disk and the cache.
    for (const hash of dropped) if (!wanted(hash)) await bundles.delete(hash);
    logger.info(
      { fn: meta.name, version: meta.version, from: meta.origin, deleted: meta.deleted },
      meta.deleted ? "Function removed" : "Function deployed",
    );
    return true;
  }

  /**
   * Checks an entry from another peer before anything is stored or run: its stamp may not be
   * far ahead of our clock (else one bad clock or forger pins the name forever), and when the
   * mesh has an operator it must carry the operator's signature.
   */
  async function admit(meta: FunctionMeta, from: string): Promise<boolean> {
    // Most entries that arrive (every anti-entropy pull sends the whole catalogue) are ones we
    // hold already: no signature check for what would not be applied anyway.
    const current = entries.get(meta.name);
    if (current && compareStamps(current.stamp, meta.stamp) >= 0) return false;
    if (!current && sync.isFresh() && olderThanHorizon(meta.stamp)) {
      // Its tombstone, if it was deleted, may be collected here already: taking it could bring
      // a deleted function back. A new peer, or one back from away, takes it: only peers that
      // are neither offer such entries (see sync.ts).
      logger.debug(
        { fn: meta.name, from },
        "Dropped an entry older than the tombstone horizon for a name this peer does not hold",
      );
      return false;
    }
    if (clock.isAhead(asVersion(meta.stamp))) {
      logger.warn(
        { fn: meta.name, from, aheadMs: stampWall(meta.stamp) - Date.now() },
        "Dropped a catalogue entry stamped in the future",
      );
      return false;
    }
    if (operator) {
      const ok = meta.sig !== undefined && await operator.verify(signedBytes(meta), meta.sig);
      if (!ok) {
        logger.warn(
          { fn: meta.name, from, origin: meta.origin },
          "Dropped a catalogue entry without a valid operator signature",
        );
        return false;
      }
    }
    return await merge(meta);
  }

  /** Whether a stamp is older than the tombstone horizon. */
  function olderThanHorizon(stamp: string): boolean {
    return stampWall(stamp) < Date.now() - TOMBSTONE_HORIZON_MS;
  }

  /** Forgets an entry outright: a collected tombstone, or a deletion missed while away. */
  async function drop(name: string): Promise<void> {
    const current = entries.get(name);
    if (!current) return;
    entries.delete(name);
    tree.remove(name);
    const dropped = track(current, undefined);
    specs.delete(current.version);
    if (!current.deleted) sandbox.retire(current.version);
    await metas.delete(name);
    for (const hash of dropped) if (!wanted(hash)) await bundles.delete(hash);
  }

  /** Collects tombstones past the horizon. */
  async function sweep(): Promise<void> {
    for (const meta of [...entries.values()]) {
      if (meta.deleted && olderThanHorizon(meta.stamp)) await drop(meta.name);
    }
  }

  /** Refuses a change this peer could not sign, before any work is done for it. */
  function assertCanSign(): void {
    if (operator && !operator.sign) {
      throw new VirgoError(
        "FORBIDDEN",
        "This peer holds only the operator's public key, so it cannot sign changes to the " +
          "catalogue: send them to a peer started with --operator-key",
      );
    }
  }

  /**
   * Stamps, signs and applies a new entry made on this peer, then announces it. With `below`, the
   * entry is a new version: its history is `below` with it on top (bounded by `keep`).
   */
  async function publish(
    entry: Omit<FunctionMeta, "stamp" | "origin" | "deployedAt" | "sig">,
    below?: FunctionVersion[],
  ) {
    assertCanSign();
    const meta: FunctionMeta = {
      ...entry,
      stamp: clock.next(),
      origin: net.peerId,
      deployedAt: new Date().toISOString(),
    };
    if (below) meta.history = pushVersion(below, versionItem(meta), keep);
    if (operator?.sign) meta.sig = await operator.sign(signedBytes(meta));
    await merge(meta);
    await sync.announce(meta);
    return meta;
  }

  /** The live entry of `name`, or `FUNCTION_NOT_FOUND`. */
  function live(name: string): FunctionMeta {
    const meta = entries.get(name);
    if (!meta || meta.deleted) {
      throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
    }
    return meta;
  }

  /** A copy of `meta` with new secrets: a new revision, so a new version. */
  async function withSecrets(meta: FunctionMeta, secrets: Record<string, string>) {
    const secretsRev = [...crypto.getRandomValues(new Uint8Array(8))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const { sig: _sig, ...rest } = meta;
    return {
      ...rest,
      secrets,
      secretsRev,
      version: await versionOf(meta.hash, settingsOf(meta), secretsRev),
    };
  }

  const sync = createCatalogSync({
    net,
    logger,
    state: init.db.store("catalog-state"),
    catalog: {
      tree,
      entry: (name) => entries.get(name),
      merge: admit,
      drop,
    },
  });

  return {
    async start() {
      let unread = 0;
      for (const { value } of await metas.list()) {
        const stored = JSON.parse(dec.decode(value));
        if (typeof stored?.sealed === "string") {
          try {
            stored.secrets = await sealer.open(stored.sealed);
          } catch {
            logger.error(
              { fn: stored.name },
              "Cannot open this function's stored secrets (the swarm key or secret.key changed); " +
                "it will be replaced by the mesh's copy",
            );
            unread++;
            continue;
          }
        }
        const parsed = FunctionMetaSchema.safeParse(stored);
        if (parsed.success) {
          track(entries.get(parsed.data.name), parsed.data);
          entries.set(parsed.data.name, parsed.data);
          await tree.put(parsed.data);
          clock.observe(asVersion(parsed.data.stamp));
        } else {
          unread++;
          logger.error(
            { fn: stored?.name, issues: parsed.error.issues.map((i) => i.path.join(".")) },
            "Cannot read this stored catalogue entry; it is skipped (the mesh's copy replaces it)",
          );
        }
      }
      // Left by a run that stopped between dropping a version and deleting its bundle; not when
      // an entry could not be read, whose bundles would look unwanted.
      const gone = unread === 0 ? await bundles.sweep(wanted) : 0;
      if (gone > 0) logger.info({ bundles: gone }, "Deleted bundles no kept version refers to");
      await sweep();
      sweeper = setInterval(() => {
        sweep().catch((err) => logger.error({ err: String(err) }, "Tombstone sweep failed"));
      }, TOMBSTONE_SWEEP_MS);
      await bundles.serve();
      await sync.start();
    },

    stop() {
      clearInterval(sweeper);
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
      const current = entries.get(name);
      const kept = current && !current.deleted
        ? { secrets: current.secrets, secretsRev: current.secretsRev }
        : { secrets: {}, secretsRev: "" };
      const entry: Omit<FunctionMeta, "stamp" | "origin" | "deployedAt" | "sig"> = {
        name,
        version: "",
        hash,
        size: bytes.byteLength,
        vars: input.vars,
        timeoutMs: input.timeoutMs,
        memoryMb: input.memoryMb,
        allowLoopback: input.allowLoopback,
        allowPrivate: input.allowPrivate ?? false,
        public: input.public ?? true,
        kvNamespace: input.kvNamespace ?? name,
        deleted: false,
        ...kept,
      };
      if (input.allowNet) entry.allowNet = input.allowNet;
      entry.version = await versionOf(hash, settingsOf(entry as FunctionMeta), kept.secretsRev);
      assertCanSign();
      // Load before storing: a bundle that does not load is refused with the
      // loader's message, and the old version keeps serving.
      await sandbox.load(toSpec(entry as FunctionMeta, input.code));
      const unpin = pin(hash);
      try {
        await bundles.put(hash, bytes, input.code);
        // Below it, what the entry it replaces keeps — that entry as it is now, not as it was
        // when this deploy began (a rollback may have come in meanwhile).
        const now = entries.get(name);
        return await publish(entry, now && !now.deleted ? keptVersions(now) : []);
      } finally {
        unpin();
      }
    },

    async remove(name) {
      const current = entries.get(name);
      if (!current || current.deleted) return false;
      const { stamp: _s, origin: _o, deployedAt: _d, sig: _sig, ...rest } = current;
      // A deleted function's secrets and versions go with it: a later deploy of the name starts
      // without them.
      await publish({ ...rest, deleted: true, secrets: {}, secretsRev: "", history: [] });
      return true;
    },

    versions(name) {
      const meta = live(name);
      return { current: meta.version, versions: keptVersions(meta) };
    },

    async rollback(name, version) {
      // Like every change to the catalogue, refused first on a peer that cannot sign one.
      assertCanSign();
      const current = live(name);
      const kept = keptVersions(current);
      const target = rollbackTarget(name, kept, current.version, version);
      const unpin = pin(target.hash);
      try {
        const code = await bundles.code({ ...target, name });
        // The chosen code and settings, under the function's current secrets (an old secret
        // value is never kept): the same version when they did not change since.
        const { deployedAt: _at, origin: _origin, ...settings } = target;
        const entry: Omit<FunctionMeta, "stamp" | "origin" | "deployedAt" | "sig"> = {
          ...settings,
          name,
          deleted: false,
          secrets: current.secrets,
          secretsRev: current.secretsRev,
          version: await versionOf(target.hash, settingsOf(target), current.secretsRev),
        };
        // Loaded first, as a deploy is: it is current the moment the entry is applied here.
        await sandbox.load(toSpec(entry as FunctionMeta, code));
        const now = entries.get(name);
        if (now !== current) {
          // What the list and the choice were made from has changed: no entry from stale ones.
          if (now?.deleted || now?.version !== entry.version) sandbox.retire(entry.version);
          throw new VirgoError(
            "CONFLICT",
            `${name} changed while rolling back (another deploy or rollback): nothing was ` +
              "changed, try again",
          );
        }
        return entry.version === target.version
          ? await publish({ ...entry, history: kept })
          : await publish(entry, kept);
      } finally {
        unpin();
      }
    },

    async setSecret(name, key, value) {
      const current = live(name);
      const { stamp: _s, origin: _o, deployedAt: _d, ...rest } = await withSecrets(current, {
        ...current.secrets,
        [key]: value,
      });
      return await publish(rest, keptVersions(current));
    },

    async removeSecret(name, key) {
      const current = live(name);
      if (!(key in current.secrets)) return false;
      const { [key]: _gone, ...secrets } = current.secrets;
      const { stamp: _s, origin: _o, deployedAt: _d, ...rest } = await withSecrets(
        current,
        secrets,
      );
      await publish(rest, keptVersions(current));
      return true;
    },

    async spec(meta) {
      let spec = specs.get(meta.version);
      if (!spec) {
        spec = toSpec(meta, await bundles.code(meta));
        // Kept for the current version only: a call that began on one just replaced must not
        // bring its code back into memory for good.
        if (entries.get(meta.name)?.version === meta.version) specs.set(meta.version, spec);
      }
      return spec;
    },

    digest: () => tree.summary(),
  };
}
