/**
 * Keeping catalogues in step across the mesh: deploys and deletions are
 * announced on a gossip topic, a peer that joins is asked for its whole
 * catalogue, and because gossip can miss an announcement (a topic mesh still
 * forming, a peer away) catalogues are also reconciled — at once with a peer
 * whose load record lists a version we do not know, and now and then with a
 * random peer, which also spreads deletions. Entries settle by their
 * last-writer-wins stamps in the catalogue's `merge`.
 * @module
 */
import {
  CATALOG_FULL_SYNC_TICKS,
  CATALOG_PROTOCOL,
  CATALOG_SYNC_MS,
  CATALOG_TOPIC,
} from "./constants.ts";
import { VirgoError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type CatalogNet, CatalogSchema, type FunctionMeta } from "./entry.ts";

/** What the sync needs from the catalogue it keeps in step. */
export interface SyncedCatalog {
  /** Every entry, tombstones included. */
  entries(): Iterable<FunctionMeta>;
  /** The digest of the catalogue, as peers gossip theirs. */
  digest(): string;
  /** Checks an entry received from peer `from` and applies it if it is newer than ours. */
  merge(meta: FunctionMeta, from: string): Promise<boolean>;
}

/** The running sync. */
export interface CatalogSync {
  start(): Promise<void>;
  stop(): void;
  /** Tells the mesh about a new entry. */
  announce(meta: FunctionMeta): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Parses a catalogue from the wire; throws `BAD_REQUEST` when malformed. */
function parseCatalog(bytes: Uint8Array): FunctionMeta[] {
  let value: unknown;
  try {
    value = JSON.parse(dec.decode(bytes));
  } catch {
    throw new VirgoError("BAD_REQUEST", "Malformed catalogue: not JSON");
  }
  const parsed = CatalogSchema.safeParse(value);
  if (!parsed.success) throw new VirgoError("BAD_REQUEST", "Malformed catalogue");
  return parsed.data;
}

/**
 * Creates the sync of one catalogue over the mesh.
 *
 * @example
 * ```ts
 * const sync = createCatalogSync({ net: mesh, logger, catalog });
 * await sync.start();
 * await sync.announce(meta);
 * ```
 */
export function createCatalogSync(
  init: { net: CatalogNet; logger: Logger; catalog: SyncedCatalog },
): CatalogSync {
  const { net, logger, catalog } = init;
  const lastSync = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticks = 0;

  async function syncFrom(peerId: string): Promise<void> {
    try {
      const reply = await net.request(peerId, CATALOG_PROTOCOL, new Uint8Array(0), {
        maxBytes: 64 * 1024 * 1024,
      });
      for (const meta of parseCatalog(reply)) await catalog.merge(meta, peerId);
    } catch (err) {
      logger.debug({ peer: peerId, err: String(err) }, "Catalogue sync failed");
    }
  }

  function antiEntropy(): void {
    const others = net.peers().filter((p) => !p.self);
    if (others.length === 0) return;
    const now = Date.now();
    const ours = catalog.digest();
    for (const p of others) {
      if (
        p.catalog.digest !== ours &&
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

  return {
    async start() {
      net.subscribe(CATALOG_TOPIC, (data, from) => {
        let list: FunctionMeta[];
        try {
          list = parseCatalog(data);
        } catch {
          logger.warn({ from }, "Dropped a malformed catalogue announcement");
          return;
        }
        for (const meta of list) {
          catalog.merge(meta, from).catch((err) =>
            logger.error({ err: String(err) }, "Catalogue merge failed")
          );
        }
      });
      await net.handle(
        CATALOG_PROTOCOL,
        () => Promise.resolve(enc.encode(JSON.stringify([...catalog.entries()]))),
        { maxBytes: 16 },
      );
      net.onMembership((ev) => {
        if (ev.type === "join") void syncFrom(ev.peerId);
      });
      for (const p of net.peers()) if (!p.self) void syncFrom(p.peerId);
      timer = setInterval(antiEntropy, CATALOG_SYNC_MS);
    },

    stop() {
      clearInterval(timer);
    },

    async announce(meta) {
      await net.publish(CATALOG_TOPIC, enc.encode(JSON.stringify([meta]))).catch((err) =>
        logger.warn({ err: String(err) }, "Catalogue announce failed")
      );
    },
  };
}
