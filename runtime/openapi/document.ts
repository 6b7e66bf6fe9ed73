/**
 * The OpenAPI 3.1 document of a hono app, built from the routes it serves:
 * each entry of `app.routes` declared with {@linkcode route} becomes an
 * operation, its zod schemas turned into JSON Schema (draft 2020-12, the
 * dialect of OpenAPI 3.1) by zod's own `z.toJSONSchema`. Routes that were not
 * declared are listed by {@linkcode undeclaredRoutes}, so a test can fail on them.
 * @module
 */
import type { Hono } from "hono";
import { z } from "zod";
import { isPublicPath, PUBLIC_PATHS } from "../auth.ts";
import { STATUS } from "../errors.ts";
import { type RouteSpec, specOf } from "./route.ts";

/** The contract's error body, `{ "error": { "code": "...", "message": "..." } }`. */
export const ErrorSchema: z.ZodType = z.object({
  error: z.object({
    code: z.enum(Object.keys(STATUS) as [string, ...string[]]),
    message: z.string(),
  }),
}).meta({ description: "The contract's error: a stable code, and a message for people" });

/** A JSON object of the OpenAPI document. */
export type Json = Record<string, unknown>;

/** Options of {@linkcode openapiDocument}. */
export interface DocumentOptions {
  /** The API's version (the package's). */
  version: string;
  /** @default {"Virgo peer API"} */
  title?: string;
  description?: string;
  /** One line per tag, in the order the reference lists them. */
  tags?: Record<string, string>;
  /** Paths that answer without the token. @default {PUBLIC_PATHS} */
  publicPaths?: readonly string[];
}

/** The methods an `ALL` route is documented under (HEAD comes with GET). */
const ANY_METHOD = ["get", "put", "post", "delete", "patch", "options"] as const;

/** An OpenAPI path for a hono route pattern: `:name{re}` → `{name}`, a trailing `*` → `{path}`. */
export function openapiPath(pattern: string): string {
  return pattern
    .replace(/:(\w+)(\{(?:[^{}]|\{[^}]*\})*\})?\??/g, "{$1}")
    .replace(/\/\*$/, "/{path}");
}

/** A request path matching `pattern`, each parameter filled with `x`. */
function samplePath(pattern: string): string {
  return pattern.replace(/:\w+(\{(?:[^{}]|\{[^}]*\})*\})?\??/g, "x").replace(/\*/g, "x");
}

/** A zod schema as JSON Schema, without the `$schema` line the document's dialect makes redundant. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
  }) as Json;
  return rest;
}

const ERROR_REF = { $ref: "#/components/schemas/Error" };

/** Names of the codes answered with `status`, for the response's description. */
function codesOf(status: number): string {
  return Object.entries(STATUS).filter(([, s]) => s === status).map(([c]) => c).join(", ");
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad input",
  401: "Missing or wrong token",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  412: "If-Match did not match the current version",
  413: "Too large",
  502: "A peer failed",
  503: "No peer can serve, or no quorum",
  504: "The function timed out",
  507: "The pool is full",
};

function errorResponse(status: number): Json {
  const codes = codesOf(status);
  return {
    description: `${STATUS_TEXT[status] ?? "Error"}${codes ? ` (${codes})` : ""}`,
    content: { "application/json": { schema: ERROR_REF } },
  };
}

function fields(
  schema: RouteSpec["params"],
  where: "path" | "query" | "header",
): Json[] {
  if (!schema) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, s]) => {
    const param: Json = {
      name,
      in: where,
      required: where === "path" || !s.safeParse(undefined).success,
      schema: jsonSchema(s, "input"),
    };
    if (s.description) param.description = s.description;
    return param;
  });
}

/** Path parameters of `path` the declaration leaves out, documented as strings. */
function implicitParams(path: string, declared: Json[]): Json[] {
  const have = new Set(declared.map((p) => p.name));
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).filter((n) => !have.has(n)).map((
    name,
  ) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
    ...(name === "path" ? { description: "The rest of the path, handed on as it is" } : {}),
  }));
}

function requestBody(spec: RouteSpec): Json | undefined {
  const body = spec.body;
  if (!body) return undefined;
  if ("json" in body) {
    return {
      required: body.empty === undefined,
      content: { "application/json": { schema: jsonSchema(body.json, "input") } },
    };
  }
  const media = "bytes" in body ? body.bytes : body.stream;
  return {
    required: false,
    ...(body.description ? { description: body.description } : {}),
    content: { [media]: { schema: { type: "string", format: "binary" } } },
  };
}

function responses(spec: RouteSpec, guarded: boolean): Json {
  const out: Json = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const res: Json = { description: r.description };
    if (r.json) res.content = { "application/json": { schema: jsonSchema(r.json, "output") } };
    else if (r.media) res.content = { [r.media]: { schema: { type: "string" } } };
    if (r.headers) {
      res.headers = Object.fromEntries(
        Object.entries(r.headers).map(([name, h]) => [name, {
          description: h.description,
          schema: h.schema ? jsonSchema(h.schema, "output") : { type: "string" },
        }]),
      );
    }
    out[status] = res;
  }
  const statuses = new Set(spec.errors ?? []);
  const body = spec.body && !("stream" in spec.body);
  if (spec.params || spec.query || spec.headers || body) statuses.add(400);
  if (guarded) statuses.add(401);
  for (const s of [...statuses].sort((a, b) => a - b)) out[s] ??= errorResponse(s);
  out.default = {
    description: "Any other error, e.g. 500 INTERNAL",
    content: { "application/json": { schema: ERROR_REF } },
  };
  return out;
}

/** `putV1FunctionsName` for `put /v1/functions/{name}`. */
function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/**
 * The OpenAPI 3.1 document of the routes `app` serves.
 *
 * @example
 * ```ts
 * const doc = openapiDocument(app, { version: "0.1.0" });
 * doc.paths["/v1/functions/{name}"].put.summary; // "Deploy a function"
 * ```
 */
export function openapiDocument(app: Hono, opts: DocumentOptions): Json & { paths: Json } {
  const publicPaths = opts.publicPaths ?? PUBLIC_PATHS;
  const paths: Record<string, Json> = {};
  const tags: string[] = Object.keys(opts.tags ?? {});
  for (const r of app.routes) {
    const spec = specOf(r.handler);
    if (!spec) continue;
    const path = openapiPath(r.path);
    const guarded = !isPublicPath(samplePath(r.path), publicPaths);
    const declared = [
      ...fields(spec.params, "path"),
      ...fields(spec.query, "query"),
      ...fields(spec.headers, "header"),
    ];
    const operation: Json = {
      tags: [spec.tag],
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      parameters: [...implicitParams(path, declared), ...declared],
    };
    const body = requestBody(spec);
    if (body) operation.requestBody = body;
    operation.responses = responses(spec, guarded);
    if (!guarded) operation.security = [];
    if (!tags.includes(spec.tag)) tags.push(spec.tag);
    const item = paths[path] ??= {};
    const methods = r.method === "ALL" ? ANY_METHOD : [r.method.toLowerCase()];
    for (const m of methods) item[m] = { ...operation, operationId: operationId(m, path) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: opts.title ?? "Virgo peer API",
      version: opts.version,
      ...(opts.description ? { description: opts.description } : {}),
      license: { name: "GPL-3.0-or-later", identifier: "GPL-3.0-or-later" },
    },
    tags: tags.map((name) => ({
      name,
      ...(opts.tags?.[name] ? { description: opts.tags[name] } : {}),
    })),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorSchema, "output") },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "The admin token of `virgo start --token`. A peer started without a token asks for none (and listens on loopback only). `/healthz` and `/fn/*` never ask for it, except a function deployed `public: false`.",
        },
      },
    },
  };
}

/**
 * The routes of `app` that were not declared with {@linkcode route}, as
 * `METHOD /path` (middleware registered with `app.use` among them).
 */
export function undeclaredRoutes(app: Hono): string[] {
  return app.routes.filter((r) => !specOf(r.handler)).map((r) => `${r.method} ${r.path}`);
}
