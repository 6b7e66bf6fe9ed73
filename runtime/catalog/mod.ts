/**
 * The function catalogue: a replicated store of its own inside the runtime. It holds which
 * functions exist, at which version, with which settings (`entry.ts`), settled across the mesh
 * by last-writer-wins stamps of kv's hybrid logical clock (`registry.ts`; `stamp.ts` orders them
 * with the stamps of the release before), kept in step with
 * other peers (`sync.ts`) by a walk over trees of range hashes (`digest.ts`, `walk.ts`) whose
 * root, a fixed-size digest, is all a peer gossips of its catalogue, with their bundles stored content-addressed and fetched on first
 * need (`bundles.ts`). Entries are signed by the operator (`operator.ts`) and their secrets
 * sealed at rest (`secrets.ts`). `virgo deploy` bundles an entry module with `deno bundle`,
 * resolving its imports as `deno run` would (`bundle.ts`).
 *
 * ```ts
 * import { createRegistry } from "./runtime/catalog/mod.ts";
 *
 * const registry = createRegistry({ db, sandbox, net: mesh, logger, sealer, operator });
 * await registry.start();
 * await registry.deploy("hello", { code, vars: {}, timeoutMs: 10_000, memoryMb: 128, allowLoopback: false });
 * registry.get("hello")?.version;
 * ```
 * @module
 */
export {
  type Bundle,
  bundle,
  BundleError,
  type BundleLocation,
  type BundleOptions,
  type SourceMapV3,
} from "./bundle.ts";
export {
  type CatalogNet,
  CatalogSchema,
  type FunctionMeta,
  FunctionMetaSchema,
  type FunctionVersion,
  FunctionVersionSchema,
  SECRET_NAME,
} from "./entry.ts";
export { DEFAULT_KEEP_VERSIONS, MAX_KEEP_VERSIONS } from "./constants.ts";
export {
  fromBase64Url,
  generateOperatorKey,
  loadOperator,
  type Operator,
  signedBytes,
  toBase64Url,
} from "./operator.ts";
export {
  createRegistry,
  type DeployInput,
  keptVersions,
  pushVersion,
  type Registry,
  type RegistryInit,
  rollbackTarget,
} from "./registry.ts";
export { createSealer, loadSealer, type Sealer } from "./secrets.ts";
