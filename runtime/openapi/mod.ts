/**
 * The API described by its own routes: {@linkcode route} declares a route's
 * parameters, query, headers, body and responses as zod schemas and validates
 * requests with them; {@linkcode openapiDocument} turns the routes an app
 * serves into an OpenAPI 3.1 document; {@linkcode referencePage} renders it as
 * one self-contained HTML page.
 *
 * @example
 * ```ts
 * const app = new Hono();
 * route(app, "get", "/healthz", {
 *   summary: "Liveness",
 *   tag: "peer",
 *   responses: { 200: { description: "Up", json: z.object({ ok: z.boolean() }) } },
 * }, (c) => c.json({ ok: true }));
 * const doc = openapiDocument(app, { version: "0.1.0" });
 * ```
 * @module
 */
export * from "./route.ts";
export * from "./document.ts";
export * from "./reference.ts";
