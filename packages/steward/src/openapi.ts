/**
 * The OpenAPI 3.1 document of the Steward's HTTP API, built from the same
 * route descriptions (and TypeBox schemas) that `app.ts` registers with
 * Fastify, so the document cannot drift from the routes.
 */

/** One response of a route. */
export interface ResponseDoc {
  description: string;
  /** Media type of the body; none for an empty body. */
  contentType?: string;
  /** JSON Schema of a JSON body; for other media types a `{type: "string", format: "binary"}` is implied. */
  schema?: object;
}

/** What the OpenAPI document says about one route. */
export interface RouteDoc {
  method: "GET" | "POST";
  /** Path template, Fastify style (`/api/v1/attest`). */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Needs an admin Bearer token. */
  admin?: boolean;
  /** JSON Schema of the query string (an object schema). */
  querystring?: { properties?: Record<string, object>; required?: string[] };
  /** The request body. */
  body?: { contentType: string; schema?: object; description?: string; maxSizeBytes?: number };
  /** Responses by status code. */
  responses: Record<string, ResponseDoc>;
}

/** Build the document. `version` is the Steward's version. */
export function openApiDocument(routes: readonly RouteDoc[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const op: Record<string, unknown> = {
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: r.tags,
      operationId: operationId(r),
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([status, res]) => [status, response(res)]),
      ),
    };
    if (r.admin) op.security = [{ adminToken: [] }];
    if (r.querystring?.properties) {
      op.parameters = Object.entries(r.querystring.properties).map(([name, schema]) => ({
        name,
        in: "query",
        required: r.querystring?.required?.includes(name) ?? false,
        schema: plain(schema),
      }));
    }
    if (r.body) {
      op.requestBody = {
        required: true,
        ...(r.body.description ? { description: r.body.description } : {}),
        content: {
          [r.body.contentType]: {
            schema: r.body.schema ? plain(r.body.schema) : { type: "string", format: "binary" },
          },
        },
      };
    }
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Donjon Steward",
      version,
      description:
        "Attestation service and certificate authority for Donjon Keeps. Refusals and errors are RFC 9457 problem details (application/problem+json).",
    },
    paths,
    components: {
      securitySchemes: {
        adminToken: {
          type: "http",
          scheme: "bearer",
          description: "One of the [admin] tokens of steward.toml.",
        },
      },
    },
  };
}

function response(res: ResponseDoc): object {
  if (!res.contentType) return { description: res.description };
  return {
    description: res.description,
    content: {
      [res.contentType]: {
        schema: res.schema ? plain(res.schema) : { type: "string", format: "binary" },
      },
    },
  };
}

function operationId(r: RouteDoc): string {
  const words = r.path
    .replace(/^\/api\/v1\//, "")
    .split(/[/_-]/)
    .filter((w) => w !== "" && w !== "/");
  return (
    r.method.toLowerCase() +
    words.map((w) => w.replace(/^\w/, (c) => c.toUpperCase()).replace(/\W/g, "")).join("")
  );
}

/** A JSON round trip drops TypeBox's symbol keys and leaves plain JSON Schema. */
function plain(schema: object): object {
  return JSON.parse(JSON.stringify(schema)) as object;
}
