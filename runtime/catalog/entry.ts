/**
 * What a function catalogue is made of: its entries (one deployment of one
 * function, or its tombstone), validated with zod wherever they arrive from
 * another peer, and the part of the mesh a catalogue talks through.
 * @module
 */
import { z } from "zod";
import type { Mesh } from "../../p2p/mod.ts";
import { MAX_KEEP_VERSIONS } from "./constants.ts";
import { isStamp } from "./stamp.ts";

/** A secret's name: an identifier, as `env.<NAME>` needs. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** The fields of an entry, before the versions it keeps. */
const EntrySchema = z.object({
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
  /** Private (RFC 1918, CGNAT, ULA) addresses reachable from the function. */
  allowPrivate: z.boolean().default(false),
  /** Whether `/fn/<name>` answers callers without the admin token. */
  public: z.boolean().default(true),
  kvNamespace: z.string(),
  /**
   * Last-writer-wins order: a version of kv's hybrid logical clock (`kv/hlc.ts`), or, in an entry
   * from the release before, that release's stamp (`stamp.ts`); compared with `compareStamps`.
   */
  stamp: z.string().refine(isStamp, "Invalid stamp"),
  origin: z.string(),
  deployedAt: z.string(),
  deleted: z.boolean(),
  /** Secret values by name; sealed at rest, never shown by an API. */
  secrets: z.record(z.string().regex(SECRET_NAME), z.string().max(64 * 1024)).default({}),
  /** Random, renewed by every secret change, so the change makes a new version. */
  secretsRev: z.string().max(64).default(""),
  /** The operator's Ed25519 signature of the entry (base64url), when the mesh has an operator. */
  sig: z.string().max(128).optional(),
});

/**
 * One kept version of a function: its bundle and settings, and when and where it was deployed —
 * what a rollback to it restores (with the function's current secrets).
 */
export const FunctionVersionSchema = EntrySchema.pick({
  version: true,
  hash: true,
  size: true,
  vars: true,
  timeoutMs: true,
  memoryMb: true,
  allowNet: true,
  allowLoopback: true,
  allowPrivate: true,
  public: true,
  kvNamespace: true,
  deployedAt: true,
  origin: true,
});
/** A kept version. */
export type FunctionVersion = z.infer<typeof FunctionVersionSchema>;

/**
 * A catalogue entry: one deployment of one function, or its tombstone. `history` lists the
 * versions it keeps, newest first, the current one among them; the operator's signature covers it
 * with the rest of the entry. (Absent, not empty, in entries stored before versions were kept, so
 * their signatures still check.)
 */
export const FunctionMetaSchema = EntrySchema.extend({
  history: z.array(FunctionVersionSchema).max(MAX_KEEP_VERSIONS).optional(),
});
/** A catalogue entry. */
export type FunctionMeta = z.infer<typeof FunctionMetaSchema>;
/** Catalogue entries as announced on the gossip topic: a deploy announces one. */
export const CatalogSchema = z.array(FunctionMetaSchema).max(16);

/** The part of the mesh the catalogue uses. */
export interface CatalogNet
  extends Pick<Mesh, "peerId" | "onMembership" | "publish" | "subscribe" | "handle" | "request"> {
  peers(): Array<{ peerId: string; self: boolean; catalog: { digest: string; count: number } }>;
}
