/**
 * `/v1/functions`: deploy, list, inspect and remove functions, their secrets, and their kept
 * versions with a rollback to one of them.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  FUNCTION_NAME,
  MAX_DEPLOY_BYTES,
  MAX_MEMORY_MB,
  MAX_SECRET_BYTES,
  MAX_TIMEOUT_MS,
} from "../constants.ts";
import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS } from "../sandbox/mod.ts";
import { VirgoError } from "../errors.ts";
import { type FunctionMeta, type Registry, SECRET_NAME } from "../catalog/mod.ts";
import { readLimited } from "../_body.ts";
import { parse, parseJson } from "./_validate.ts";

/** Body of `PUT /v1/functions/:name`. */
export const DeployBodySchema = z.object({
  code: z.string().min(1, { message: "code is empty" }),
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
  timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).default(DEFAULT_TIMEOUT_MS),
  memoryMb: z.number().int().min(16).max(MAX_MEMORY_MB).default(DEFAULT_MEMORY_MB),
  allowNet: z.array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/))
    .max(100).optional(),
  allowLoopback: z.boolean().default(false),
  allowPrivate: z.boolean().default(false),
  public: z.boolean().default(true),
  kvNamespace: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).optional(),
}).strict();

/** Body of `POST /v1/functions/:name/rollback`; an empty body means the version before the current. */
export const RollbackBodySchema = z.object({
  version: z.string().regex(/^[0-9a-f]{4,16}$/, {
    message: "expected a version from GET /v1/functions/:name/versions, or 4 or more of its digits",
  }).optional(),
}).strict();

/** Validates a function name from a URL. */
export function checkName(name: string): string {
  if (!FUNCTION_NAME.test(name)) {
    throw new VirgoError(
      "BAD_REQUEST",
      `Invalid function name: ${name.slice(0, 80)} (use a-z, 0-9, - and _, up to 63 characters)`,
    );
  }
  return name;
}

/** A catalogue entry as users see it. */
export function describe(meta: FunctionMeta): Record<string, unknown> {
  const {
    stamp: _stamp,
    deleted: _deleted,
    sig: _sig,
    secrets,
    secretsRev: _rev,
    history: _history,
    ...rest
  } = meta;
  return { ...rest, secrets: Object.keys(secrets).sort() };
}

/** Validates a secret's name from a URL. */
function checkSecretName(key: string): string {
  if (!SECRET_NAME.test(key)) {
    throw new VirgoError(
      "BAD_REQUEST",
      `Invalid secret name: ${key.slice(0, 80)} (letters, digits and _, not starting with a digit)`,
    );
  }
  return key;
}

/** Routes of the function catalogue. */
export function functionRoutes(registry: Registry): Hono {
  const app = new Hono();
  app.put("/:name", async (c) => {
    const name = checkName(c.req.param("name"));
    const bytes = await readLimited(c.req.raw, MAX_DEPLOY_BYTES);
    const body = parse(DeployBodySchema, parseJson(bytes, "deploy body"), "deploy body");
    const meta = await registry.deploy(name, body);
    return c.json({ name, version: meta.version, size: meta.size, hash: meta.hash }, 201);
  });
  app.get("/", (c) => c.json({ functions: registry.list().map(describe) }));
  app.get("/:name", (c) => {
    const name = checkName(c.req.param("name"));
    const meta = registry.get(name);
    if (!meta) throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
    return c.json(describe(meta));
  });
  app.get("/:name/secrets", (c) => {
    const name = checkName(c.req.param("name"));
    const meta = registry.get(name);
    if (!meta) throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
    return c.json({ name, secrets: Object.keys(meta.secrets).sort() });
  });
  app.put("/:name/secrets/:key", async (c) => {
    const name = checkName(c.req.param("name"));
    const key = checkSecretName(c.req.param("key"));
    const bytes = await readLimited(c.req.raw, MAX_SECRET_BYTES);
    let value: string;
    try {
      value = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new VirgoError("BAD_REQUEST", "A secret's value must be UTF-8 text");
    }
    const meta = await registry.setSecret(name, key, value);
    return c.json({ name, secret: key, version: meta.version }, 201);
  });
  app.delete("/:name/secrets/:key", async (c) => {
    const name = checkName(c.req.param("name"));
    const key = checkSecretName(c.req.param("key"));
    if (!(await registry.removeSecret(name, key))) {
      throw new VirgoError("NOT_FOUND", `${name} has no secret named ${key}`);
    }
    return c.json({ name, secret: key, deleted: true });
  });
  app.get("/:name/versions", (c) => {
    const name = checkName(c.req.param("name"));
    const { current, versions } = registry.versions(name);
    return c.json({
      name,
      current,
      versions: versions.map((v) => ({ ...v, current: v.version === current })),
    });
  });
  app.post("/:name/rollback", async (c) => {
    const name = checkName(c.req.param("name"));
    const bytes = await readLimited(c.req.raw, 4096);
    const body = bytes.byteLength === 0
      ? {}
      : parse(RollbackBodySchema, parseJson(bytes, "rollback body"), "rollback body");
    const from = registry.get(name)?.version;
    const meta = await registry.rollback(name, body.version);
    return c.json({ name, version: meta.version, from, hash: meta.hash, size: meta.size });
  });
  app.delete("/:name", async (c) => {
    const name = checkName(c.req.param("name"));
    if (!(await registry.remove(name))) {
      throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
    }
    return c.json({ name, deleted: true });
  });
  return app;
}
