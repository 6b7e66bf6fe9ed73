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
import {
  type FunctionMeta,
  FunctionMetaSchema,
  FunctionVersionSchema,
  type Registry,
  SECRET_NAME,
} from "../catalog/mod.ts";
import { route } from "../openapi/mod.ts";

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

/** A function's name in a URL. */
export const FunctionName = z.string().regex(FUNCTION_NAME, {
  message: "use a-z, 0-9, - and _, up to 63 characters",
}).describe("function name");

/** A secret's name in a URL. */
const SecretName = z.string().regex(SECRET_NAME, {
  message: "letters, digits and _, not starting with a digit",
}).describe("secret name");

const NameParams = z.object({ name: FunctionName });
const SecretParams = z.object({ name: FunctionName, key: SecretName });

/** A function as `GET /v1/functions/:name` shows it: its settings and its secrets' names. */
export const FunctionInfoSchema = FunctionMetaSchema.omit({
  stamp: true,
  deleted: true,
  sig: true,
  secrets: true,
  secretsRev: true,
  history: true,
}).extend({ secrets: z.array(z.string()).describe("names only: a value is never shown") });

const Deployed = z.object({
  name: z.string(),
  version: z.string(),
  size: z.number().int(),
  hash: z.string(),
});

/** Routes of the function catalogue. */
export function functionRoutes(registry: Registry): Hono {
  const app = new Hono();
  const tag = "functions";
  const known = (name: string) => {
    const meta = registry.get(name);
    if (!meta) throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
    return meta;
  };
  route(app, "put", "/:name", {
    summary: "Deploy a function (mesh-wide)",
    description:
      "The code is one ES module whose default export has `fetch`; code that does not load answers 400 with the error.",
    tag,
    params: NameParams,
    body: { json: DeployBodySchema, limit: MAX_DEPLOY_BYTES, what: "deploy body" },
    responses: { 201: { description: "Deployed", json: Deployed } },
    errors: [403, 413],
  }, async (c, { params: { name }, body }) => {
    const meta = await registry.deploy(name, body);
    return c.json({ name, version: meta.version, size: meta.size, hash: meta.hash }, 201);
  });
  route(app, "get", "/", {
    summary: "List the functions",
    tag,
    responses: {
      200: {
        description: "Every function this peer knows",
        json: z.object({ functions: z.array(FunctionInfoSchema) }),
      },
    },
  }, (c) => c.json({ functions: registry.list().map(describe) }));
  route(app, "get", "/:name", {
    summary: "Inspect a function",
    tag,
    params: NameParams,
    responses: { 200: { description: "The function", json: FunctionInfoSchema } },
    errors: [404],
  }, (c, { params: { name } }) => c.json(describe(known(name))));
  route(
    app,
    "get",
    "/:name/secrets",
    {
      summary: "List a function's secrets (names only)",
      tag,
      params: NameParams,
      responses: {
        200: {
          description: "The names",
          json: z.object({ name: z.string(), secrets: z.array(z.string()) }),
        },
      },
      errors: [404],
    },
    (c, { params: { name } }) => c.json({ name, secrets: Object.keys(known(name).secrets).sort() }),
  );
  route(app, "put", "/:name/secrets/:key", {
    summary: "Set a secret (a new version of the function)",
    description: "The body is the value, as UTF-8 text; it is sealed at rest and never returned.",
    tag,
    params: SecretParams,
    body: { bytes: "text/plain", limit: MAX_SECRET_BYTES },
    responses: {
      201: {
        description: "Set",
        json: z.object({ name: z.string(), secret: z.string(), version: z.string() }),
      },
    },
    errors: [404, 413],
  }, async (c, { params: { name, key }, body }) => {
    let value: string;
    try {
      value = new TextDecoder("utf-8", { fatal: true }).decode(body);
    } catch {
      throw new VirgoError("BAD_REQUEST", "A secret's value must be UTF-8 text");
    }
    const meta = await registry.setSecret(name, key, value);
    return c.json({ name, secret: key, version: meta.version }, 201);
  });
  route(app, "delete", "/:name/secrets/:key", {
    summary: "Remove a secret (a new version of the function)",
    tag,
    params: SecretParams,
    responses: {
      200: {
        description: "Removed",
        json: z.object({ name: z.string(), secret: z.string(), deleted: z.literal(true) }),
      },
    },
    errors: [404],
  }, async (c, { params: { name, key } }) => {
    if (!(await registry.removeSecret(name, key))) {
      throw new VirgoError("NOT_FOUND", `${name} has no secret named ${key}`);
    }
    return c.json({ name, secret: key, deleted: true });
  });
  route(app, "get", "/:name/versions", {
    summary: "A function's kept versions, newest first",
    tag,
    params: NameParams,
    responses: {
      200: {
        description: "The versions, the current one marked",
        json: z.object({
          name: z.string(),
          current: z.string(),
          versions: z.array(FunctionVersionSchema.extend({ current: z.boolean() })),
        }),
      },
    },
    errors: [404],
  }, (c, { params: { name } }) => {
    const { current, versions } = registry.versions(name);
    return c.json({
      name,
      current,
      versions: versions.map((v) => ({ ...v, current: v.version === current })),
    });
  });
  route(app, "post", "/:name/rollback", {
    summary: "Switch back to a kept version (mesh-wide)",
    description: "An empty body goes back to the version before the current one.",
    tag,
    params: NameParams,
    body: { json: RollbackBodySchema, limit: 4096, what: "rollback body", empty: {} },
    responses: {
      200: {
        description: "Rolled back",
        json: z.object({
          name: z.string(),
          version: z.string(),
          from: z.string().optional(),
          hash: z.string(),
          size: z.number().int(),
        }),
      },
    },
    errors: [403, 404, 409],
  }, async (c, { params: { name }, body }) => {
    const from = registry.get(name)?.version;
    const meta = await registry.rollback(name, body.version);
    return c.json({ name, version: meta.version, from, hash: meta.hash, size: meta.size });
  });
  route(app, "delete", "/:name", {
    summary: "Remove a function (mesh-wide)",
    tag,
    params: NameParams,
    responses: {
      200: {
        description: "Removed",
        json: z.object({ name: z.string(), deleted: z.literal(true) }),
      },
    },
    errors: [403, 404],
  }, async (c, { params: { name } }) => {
    if (!(await registry.remove(name))) {
      throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${name}`);
    }
    return c.json({ name, deleted: true });
  });
  return app;
}
