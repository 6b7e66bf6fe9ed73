/**
 * A route declared once: its path parameters, query, headers, body and
 * responses as zod schemas, registered on a hono app with a handler that gets
 * only what those schemas parsed. The same declaration is what
 * {@linkcode openapiDocument} turns into the OpenAPI document, so the
 * validation and the reference cannot drift apart.
 *
 * Validation failures answer the contract's error JSON (400 `BAD_REQUEST`
 * naming the field); a body is read with a bound (413 past it) whatever its
 * `content-type`, as before the routes were declared.
 * @module
 */
import type { Context, Hono } from "hono";
import type { z } from "zod";
import { type Code, VirgoError } from "../errors.ts";
import { readLimited } from "../_body.ts";
import { parse, parseJson } from "../routes/_validate.ts";

/** The methods a route can be declared for; `all` is any method (function calls). */
export type Method = "get" | "put" | "post" | "delete" | "patch" | "all";

/** An object schema of named string fields (path parameters, query, headers). */
// deno-lint-ignore no-explicit-any
export type FieldsSchema = z.ZodObject<any>;

/** A JSON request body, read up to `limit` bytes and parsed with `json`. */
export interface JsonBody<S extends z.ZodType = z.ZodType> {
  json: S;
  /** Largest body accepted (413 `PAYLOAD_TOO_LARGE` past it). */
  limit: number;
  /** What the body is called in error messages, e.g. `"deploy body"`. */
  what: string;
  /** An empty body is taken as this value (so the body is optional); without it, an empty body is invalid JSON. */
  empty?: z.input<S>;
}

/** A request body of raw bytes, read up to `limit` bytes. */
export interface BytesBody {
  /** The media type documented for it, e.g. `"application/octet-stream"`. */
  bytes: string;
  /** Largest body accepted. */
  limit: number;
  /** The code of a body past the limit. @default {"PAYLOAD_TOO_LARGE"} */
  tooLarge?: Code;
  description?: string;
}

/** A request body the handler streams on itself (a function call): documented, never read here. */
export interface StreamBody {
  stream: string;
  description?: string;
}

/** Any request body. */
export type BodySpec = JsonBody | BytesBody | StreamBody;

/** A documented response header. */
export interface HeaderSpec {
  description: string;
  schema?: z.ZodType;
}

/** One response of a route: JSON with a schema, raw bytes, HTML or text of a media type. */
export interface ResponseSpec {
  description: string;
  /** A JSON body and its schema. */
  json?: z.ZodType;
  /** A body of this media type (bytes, text, HTML). */
  media?: string;
  headers?: Record<string, HeaderSpec>;
}

/** What a route takes and answers. */
export interface RouteSpec {
  /** One line for the reference. */
  summary: string;
  description?: string;
  /** The group the reference lists it under. */
  tag: string;
  params?: FieldsSchema;
  query?: FieldsSchema;
  /** Request headers read by the route (lower-case names). */
  headers?: FieldsSchema;
  body?: BodySpec;
  /** The successful responses (and any non-error ones), by status. */
  responses: Record<number, ResponseSpec>;
  /**
   * Statuses answered with the contract's error JSON, besides the 400 of any
   * declared input and the 401 of a guarded route, which the document adds.
   */
  errors?: readonly number[];
}

/** What a handler gets: the parsed parameters, query, headers and body. */
export interface Input<S extends RouteSpec> {
  params: S["params"] extends FieldsSchema ? z.output<S["params"]> : Record<string, never>;
  query: S["query"] extends FieldsSchema ? z.output<S["query"]> : Record<string, never>;
  headers: S["headers"] extends FieldsSchema ? z.output<S["headers"]> : Record<string, never>;
  body: S["body"] extends JsonBody<infer J> ? z.output<J>
    : S["body"] extends BytesBody ? Uint8Array<ArrayBuffer>
    : undefined;
}

/** A handler of a declared route. */
export type RouteHandler<S extends RouteSpec> = (
  c: Context,
  input: Input<S>,
) => Response | Promise<Response>;

/** Each registered handler's declaration, found again from `app.routes` after mounting. */
const SPECS = new WeakMap<object, RouteSpec>();

/**
 * The marker hono puts on a handler it wraps when a sub-app with its own
 * error handler is mounted (`hono/utils/constants`, not exported as a module).
 */
const COMPOSED_HANDLER = "__COMPOSED_HANDLER";

/** The declaration of a handler from `app.routes`, if it was declared with {@linkcode route}. */
export function specOf(handler: unknown): RouteSpec | undefined {
  if (typeof handler !== "function") return undefined;
  return SPECS.get(handler) ??
    SPECS.get((handler as unknown as Record<string, object>)[COMPOSED_HANDLER] ?? {});
}

/** A path parameter's failure: `Invalid <its description>: <value> (<why>)`. */
function parseParams(schema: FieldsSchema, values: Record<string, string>): unknown {
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = String(issue?.path[0] ?? "");
  const label = (schema.shape as Record<string, z.ZodType>)[key]?.description ??
    `path parameter ${key}`;
  throw new VirgoError(
    "BAD_REQUEST",
    `Invalid ${label}: ${(values[key] ?? "").slice(0, 80)} (${issue?.message ?? "invalid"})`,
  );
}

/** The declared headers of a request, by their lower-case names. */
function headerValues(c: Context, schema: FieldsSchema): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = c.req.header(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

async function readBody(c: Context, body: BodySpec | undefined): Promise<unknown> {
  if (!body || "stream" in body) return undefined;
  if ("bytes" in body) {
    try {
      return await readLimited(c.req.raw, body.limit);
    } catch (err) {
      if (body.tooLarge && (err as VirgoError).code === "PAYLOAD_TOO_LARGE") {
        throw new VirgoError(body.tooLarge, `Value exceeds ${body.limit} bytes`);
      }
      throw err;
    }
  }
  const bytes = await readLimited(c.req.raw, body.limit);
  const value = bytes.byteLength === 0 && body.empty !== undefined
    ? body.empty
    : parseJson(bytes, body.what);
  return parse(body.json, value, body.what);
}

/**
 * Registers `handler` for `method path` on `app`, behind the validation its
 * declaration makes, and keeps the declaration for the OpenAPI document.
 *
 * @example
 * ```ts
 * route(app, "post", "/", {
 *   summary: "Allocate a block",
 *   tag: "mem",
 *   body: { json: z.object({ size: z.number().int() }), limit: 4096, what: "alloc body" },
 *   responses: { 201: { description: "Allocated", json: z.object({ addr: z.string() }) } },
 * }, async (c, { body }) => c.json({ addr: await pool.alloc(body.size) }, 201));
 * ```
 */
export function route<const S extends RouteSpec>(
  app: Hono,
  method: Method,
  path: string,
  spec: S,
  handler: RouteHandler<S>,
): void {
  const { params, query, headers, body } = spec;
  const plain = !params && !query && !headers && (!body || "stream" in body);
  const declared = plain ? (c: Context) => handler(c, EMPTY as Input<S>) : async (c: Context) => {
    const input = {
      params: params ? parseParams(params, c.req.param() as Record<string, string>) : {},
      query: query ? parse(query, c.req.query(), "query") : {},
      headers: headers ? parse(headers, headerValues(c, headers), "headers") : {},
      body: await readBody(c, body),
    } as Input<S>;
    return await handler(c, input);
  };
  SPECS.set(declared, spec);
  app.on(method.toUpperCase(), path, declared);
}

const EMPTY = Object.freeze({ params: {}, query: {}, headers: {}, body: undefined });
