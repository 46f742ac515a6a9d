/**
 * The Steward's HTTP API as a Fastify plugin. It listens on nothing (that is
 * `server.ts`); everything it uses — CA, store, policy, decision, clock,
 * metrics — comes in through {@link StewardAppOptions}, so tests drive it with
 * `fastify.inject()`.
 *
 * Every answer that is not a success is RFC 9457 problem details
 * (`application/problem+json`). Logs carry the evidence hash, the verdict,
 * the codes and the serial — never a key, a token or the evidence.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from "@fastify/type-provider-typebox";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Static, Type } from "typebox";
import {
  type Ca,
  crl,
  issueKeepCert,
  type KeepCertClaims,
  REVOCATION_REASONS,
  type RevocationReason,
} from "./ca.ts";
import type { StewardLimits } from "./config.ts";
import type { IssueClaims, Decision as Verdict } from "./decide.ts";
import type { StewardMetrics } from "./metrics.ts";
import { openApiDocument, type RouteDoc } from "./openapi.ts";
import type { StewardPolicy } from "./policy.ts";
import {
  MALFORMED_CODES,
  malformedProblem,
  PROBLEM_MEDIA_TYPE,
  PROBLEM_TYPE_BASE,
  type Problem,
  refusalProblem,
  tooLargeProblem,
} from "./problem.ts";
import type { Decision as AuditDecision, Store } from "./store.ts";

/** What the app needs; `server.ts` builds the real one from steward.toml. */
export interface StewardAppOptions {
  /** The CA that signs Keep certificates and the CRL. */
  ca: Ca;
  /** The audit log, issued certificates and revocations. */
  store: Store;
  /** The policy in force; read once per request. */
  getPolicy(): StewardPolicy;
  /**
   * Put a new policy in force (an admin upload). `text` is its TOML, which the
   * caller may persist. The swap is atomic: a request uses the old or the new policy, whole.
   */
  setPolicy(policy: StewardPolicy, text: string): void | Promise<void>;
  /** Parse and validate an uploaded policy; throws with a message naming the line. */
  parsePolicy(text: string): StewardPolicy;
  /** Decide on one CSR (`decide.ts`'s `decide`, with the server's SNP verifier and collateral). */
  decide(csrDer: Uint8Array, ctx: { policy: StewardPolicy; now: Date }): Promise<Verdict>;
  /** The clock. */
  now(): Date;
  /** Bearer tokens of the admin API; empty: every admin request is refused. */
  adminTokens: readonly string[];
  /** Body size and time limits. */
  limits: StewardLimits;
  /** This app's metrics (`createMetrics()`); `/metrics` serves its registry. */
  metrics: StewardMetrics;
  /** Version in the OpenAPI document. Default `0.0.0`. */
  version?: string;
}

/** Media type of a certificate chain (RFC 8555 §9.1): the Keep's certificate, then the CA's. */
export const CHAIN_MEDIA_TYPE = "application/pem-certificate-chain";
/** Media type of a DER CRL (RFC 2585 §4.2). */
export const CRL_MEDIA_TYPE = "application/pkix-crl";
/** Media type of a DER PKCS#10 CSR (RFC 5967). */
export const CSR_MEDIA_TYPE = "application/pkcs10";

/** Most decisions one page of `/api/v1/admin/attestations` returns. */
export const MAX_PAGE = 500;

/** An error that is answered with this problem. */
export class HttpProblem extends Error {
  readonly statusCode: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail);
    this.name = "HttpProblem";
    this.statusCode = problem.status;
    this.problem = problem;
  }
}

/** A problem of the Steward's own HTTP layer (the attestation ones come from `problem.ts`). */
export function problem(
  status: number,
  slug: string,
  title: string,
  detail: string,
  extra: Partial<Problem> = {},
): Problem {
  return { type: `${PROBLEM_TYPE_BASE}${slug}`, title, status, detail, ...extra };
}

// ── schemas ──────────────────────────────────────────────────────────────

const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: "uri" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer()),
    checks: Type.Optional(
      Type.Array(
        Type.Object({
          code: Type.String(),
          expected: Type.String(),
          actual: Type.String(),
          remedy: Type.String(),
        }),
      ),
    ),
  },
  { description: "RFC 9457 problem details" },
);

const RevokeBody = Type.Object(
  {
    serial: Type.String({ pattern: "^[0-9a-fA-F]{2,40}$", description: "Serial number, hex" }),
    reason: Type.Optional(
      Type.Union(
        REVOCATION_REASONS.map((r) => Type.Literal(r)),
        { description: "RFC 5280 §5.3.1 reason; default unspecified" },
      ),
    ),
  },
  { additionalProperties: false },
);

const RevokeReply = Type.Object({
  serial: Type.String(),
  reason: Type.String(),
  revokedAt: Type.String({ format: "date-time" }),
});

const CertificateParams = Type.Object(
  { serial: Type.String({ pattern: "^[0-9a-fA-F]{2,40}$", description: "Serial number, hex" }) },
  { additionalProperties: false },
);

const CertificateReply = Type.Object({
  serial: Type.String(),
  status: Type.Union([Type.Literal("valid"), Type.Literal("expired"), Type.Literal("revoked")]),
  notBefore: Type.String({ format: "date-time" }),
  notAfter: Type.String({ format: "date-time" }),
  tee: Type.String(),
  workloadIdentity: Type.String(),
  revokedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  revocationReason: Type.Union([Type.String(), Type.Null()]),
  pem: Type.String(),
});

const AttestationsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 50 })),
    before: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "Only decisions with a smaller id (the `next` of the previous page)",
      }),
    ),
  },
  { additionalProperties: false },
);

const FailedCheckSchema = Type.Object({
  code: Type.String(),
  expected: Type.String(),
  actual: Type.String(),
  remedy: Type.String(),
});

const DecisionSchema = Type.Object({
  id: Type.Integer(),
  time: Type.String({ format: "date-time" }),
  evidenceHash: Type.String(),
  tee: Type.String(),
  verdict: Type.Union([Type.Literal("issued"), Type.Literal("refused"), Type.Literal("malformed")]),
  failedChecks: Type.Array(FailedCheckSchema),
  serial: Type.Union([Type.String(), Type.Null()]),
  workloadIdentity: Type.Union([Type.String(), Type.Null()]),
  remoteAddr: Type.Union([Type.String(), Type.Null()]),
});

const AttestationsReply = Type.Object({
  decisions: Type.Array(DecisionSchema),
  next: Type.Union([Type.Integer(), Type.Null()], {
    description: "Pass as `before` for the next page; null on the last page",
  }),
});

const PolicyReply = Type.Object({
  sha256: Type.String(),
  time: Type.String({ format: "date-time" }),
});

const StatusReply = Type.Object({ status: Type.String() });

const problemResponse = (description: string) => ({
  description,
  contentType: PROBLEM_MEDIA_TYPE,
  schema: ProblemSchema,
});
const json = (description: string, schema: object) => ({
  description,
  contentType: "application/json",
  schema,
});
const unauthorized = problemResponse("No or a wrong admin Bearer token");

/** Every route, as the OpenAPI document describes it. */
export const ROUTES: readonly RouteDoc[] = [
  {
    method: "POST",
    path: "/api/v1/attest",
    summary: "Attest a Keep: CSR with evidence in, certificate chain out",
    tags: ["attestation"],
    body: {
      contentType: CSR_MEDIA_TYPE,
      description:
        "A DER PKCS#10 CSR signed by the Keep key, with one evidence extension (CMW, RFC 9999).",
    },
    responses: {
      "200": {
        description: "Issued: the Keep's certificate, then the Steward CA's (PEM)",
        contentType: CHAIN_MEDIA_TYPE,
      },
      "400": problemResponse("Malformed request: `code` names what (csr.*, evidence.*, cmw.*)"),
      "403": problemResponse("Refused: `checks` lists every failed check"),
      "408": problemResponse("The body did not arrive within the body timeout"),
      "413": problemResponse("The body is larger than the limit"),
      "415": problemResponse("Content-Type is not application/pkcs10"),
    },
  },
  {
    method: "GET",
    path: "/api/v1/ca",
    summary: "The Steward CA certificate",
    tags: ["attestation"],
    responses: { "200": { description: "PEM", contentType: CHAIN_MEDIA_TYPE } },
  },
  {
    method: "GET",
    path: "/api/v1/crl",
    summary: "The CA's certificate revocation list",
    tags: ["attestation"],
    responses: { "200": { description: "DER CRL, valid one hour", contentType: CRL_MEDIA_TYPE } },
  },
  {
    method: "GET",
    path: "/api/v1/certificates/{serial}",
    summary: "An issued certificate and its status (valid, expired, revoked)",
    description:
      "Public, like the certificates themselves: a relying party can check a Keep's certificate here as well as in the CRL.",
    tags: ["attestation"],
    responses: {
      "200": json("The certificate as issued, with its status now", CertificateReply),
      "400": problemResponse("The serial is not hex"),
      "404": problemResponse("No certificate with this serial was issued"),
    },
  },
  {
    method: "POST",
    path: "/api/v1/admin/revoke",
    summary: "Revoke an issued certificate",
    tags: ["admin"],
    admin: true,
    body: { contentType: "application/json", schema: RevokeBody },
    responses: {
      "200": json("Revoked (again: the first revocation stands)", RevokeReply),
      "400": problemResponse("Invalid body"),
      "401": unauthorized,
      "404": problemResponse("No certificate with this serial was issued"),
    },
  },
  {
    method: "POST",
    path: "/api/v1/admin/policy",
    summary: "Replace the policy",
    description:
      "Validated like the policy file; swapped atomically, written to the policy file and recorded in the policy history.",
    tags: ["admin"],
    admin: true,
    body: { contentType: "application/toml", description: "The whole policy (TOML)" },
    responses: {
      "200": json("In force", PolicyReply),
      "400": problemResponse("Invalid policy: `detail` names the key and line"),
      "401": unauthorized,
    },
  },
  {
    method: "GET",
    path: "/api/v1/admin/attestations",
    summary: "The audit log of decisions, newest first",
    tags: ["admin"],
    admin: true,
    querystring: AttestationsQuery,
    responses: {
      "200": json("One page", AttestationsReply),
      "400": problemResponse("Invalid query"),
      "401": unauthorized,
    },
  },
  {
    method: "GET",
    path: "/healthz",
    summary: "Liveness",
    tags: ["operations"],
    responses: { "200": json("The process serves", StatusReply) },
  },
  {
    method: "GET",
    path: "/readyz",
    summary: "Readiness: the store answers",
    tags: ["operations"],
    responses: {
      "200": json("Ready", StatusReply),
      "503": problemResponse("The store does not answer"),
    },
  },
  {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics of this Steward",
    tags: ["operations"],
    responses: { "200": { description: "Prometheus text format", contentType: "text/plain" } },
  },
  {
    method: "GET",
    path: "/api/v1/openapi.json",
    summary: "This document",
    tags: ["operations"],
    responses: { "200": json("OpenAPI 3.1", Type.Object({})) },
  },
];

// ── the plugin ───────────────────────────────────────────────────────────

/** The Steward's routes. Register with `fastify.register(stewardApp, options)`. */
export async function stewardApp(
  instance: FastifyInstance,
  options: StewardAppOptions,
): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { ca, store, metrics, limits } = options;
  const tokenDigests = options.adminTokens.map(digest);
  const openapi = openApiDocument(ROUTES, options.version ?? "0.0.0");
  // TypeBox's own checker: strict (an unknown property is an error, not silently
  // dropped as Fastify's default Ajv does), converting query strings only.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);

  // Every body is read by one reader that enforces the size and time limits.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(CSR_MEDIA_TYPE, (request: FastifyRequest, payload: Readable) =>
    readBody(payload, request.headers, limits),
  );
  app.addContentTypeParser(
    ["application/toml", "text/plain"],
    async (request: FastifyRequest, payload: Readable) => {
      const bytes = await readBody(payload, request.headers, limits);
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        throw new HttpProblem(
          problem(400, "invalid-request", "Invalid request", "the body is not UTF-8"),
        );
      }
    },
  );
  app.addContentTypeParser(
    "application/json",
    async (request: FastifyRequest, payload: Readable) => {
      const bytes = await readBody(payload, request.headers, limits);
      try {
        return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
      } catch {
        throw new HttpProblem(
          problem(400, "invalid-request", "Invalid request", "the body is not UTF-8 JSON"),
        );
      }
    },
  );

  // Metrics for every answer, by route template.
  const started = new WeakMap<FastifyRequest, number>();
  // Which admin token a request authenticated with (`token #N`), for the audit and the log.
  const adminActors = new WeakMap<FastifyRequest, string>();
  app.addHook("onRequest", async (request) => {
    started.set(request, performance.now());
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const method = request.method;
    metrics.httpRequests.inc({ method, route, status: String(reply.statusCode) });
    const t0 = started.get(request);
    if (t0 !== undefined) {
      metrics.httpDuration.observe({ method, route }, (performance.now() - t0) / 1000);
    }
  });

  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    let p: Problem;
    if (error instanceof HttpProblem) p = error.problem;
    else if (error.validation) {
      p = problem(400, "invalid-request", "Invalid request", error.message);
    } else if (error.statusCode === 413) p = tooLargeProblem(limits.body);
    else if (error.statusCode === 415) {
      p = problem(415, "unsupported-media-type", "Unsupported media type", error.message);
    } else if (
      error.statusCode !== undefined &&
      error.statusCode >= 400 &&
      error.statusCode < 500
    ) {
      p = problem(error.statusCode, "invalid-request", "Invalid request", error.message);
    } else {
      // Details only below 500: the log gets the error, the client a plain line.
      request.log.error({ err: error }, "internal error");
      p = problem(500, "internal-error", "Internal error", "the Steward failed; see its log");
    }
    if (p.status === 408 || p.status === 413) void reply.header("connection", "close");
    return sendProblem(reply, p);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(
        404,
        "not-found",
        "Not found",
        `no route ${request.method} ${request.url.split("?")[0]}`,
      ),
    ),
  );

  // ── attestation ──
  app.post("/api/v1/attest", async (request, reply) => {
    const t0 = performance.now();
    const body = request.body;
    if (!Buffer.isBuffer(body)) {
      // No Content-Type and no body: Fastify runs the handler without a parser.
      return sendProblem(
        reply,
        problem(
          415,
          "unsupported-media-type",
          "Unsupported media type",
          `send the CSR as ${CSR_MEDIA_TYPE} (DER)`,
        ),
      );
    }
    const csr = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    const policy = options.getPolicy();
    const now = options.now();
    let verdict = "error";
    try {
      const d = await options.decide(csr, { policy, now });
      const base = { time: now, remoteAddr: request.ip ?? null };
      if (d.verdict === "issue") {
        const c = d.claims;
        const cert = await issueKeepCert(ca, {
          spki: c.spki,
          claims: certClaims(c),
          lifetimeMs: c.lifetimeMs,
          san: c.san,
          now,
        });
        // Recorded (durably) before it is returned: every certificate a Keep holds is in the log.
        await store.recordDecision(
          {
            ...base,
            evidenceHash: c.evidenceHash,
            tee: c.tee,
            verdict: "issued",
            failedChecks: [],
            serial: cert.serial,
            workloadIdentity: c.workloadIdentity,
          },
          {
            serial: cert.serial,
            notBefore: cert.notBefore,
            notAfter: cert.notAfter,
            pem: cert.pem,
            tee: c.tee,
            workloadIdentity: c.workloadIdentity ?? "",
            revokedAt: null,
            revocationReason: null,
          },
        );
        verdict = "issued";
        request.log.info(
          {
            verdict,
            tee: c.tee,
            tier: c.tier,
            evidenceHash: c.evidenceHash,
            workloadIdentity: c.workloadIdentity,
            serial: cert.serial,
            warnings: d.warnings.map((w) => w.code),
          },
          "attestation issued",
        );
        return reply.type(CHAIN_MEDIA_TYPE).send(cert.pem + ca.certPem);
      }
      if (d.verdict === "refuse") {
        await store.recordDecision({
          ...base,
          evidenceHash: d.evidenceHash,
          tee: d.tee,
          verdict: "refused",
          failedChecks: d.checks,
          serial: null,
          workloadIdentity: d.workloadIdentity,
        });
        verdict = "refused";
        const codes = d.checks.map((c) => c.code);
        for (const code of codes) metrics.refusals.inc({ code });
        request.log.info(
          { verdict, tee: d.tee, evidenceHash: d.evidenceHash, codes },
          "attestation refused",
        );
        return sendProblem(reply, refusalProblem(d.checks));
      }
      const requestHash = createHash("sha256").update(csr).digest("hex");
      await store.recordDecision({
        ...base,
        evidenceHash: requestHash,
        tee: "unknown",
        verdict: "malformed",
        failedChecks: [
          {
            code: d.code,
            expected: "a well-formed attestation request",
            actual: d.detail,
            remedy:
              (MALFORMED_CODES as Record<string, { remedy: string }>)[d.code]?.remedy ??
              "Send the Keep's evidence wrapper as produced by donjon.",
          },
        ],
        serial: null,
        workloadIdentity: null,
      });
      verdict = "malformed";
      metrics.refusals.inc({ code: d.code });
      request.log.info(
        { verdict, requestHash, code: d.code, bytes: csr.length },
        "attestation request malformed",
      );
      return sendProblem(reply, malformedProblem(d.code, d.detail));
    } finally {
      metrics.attestations.inc({ verdict });
      metrics.attestDuration.observe({ verdict }, (performance.now() - t0) / 1000);
    }
  });

  app.get("/api/v1/ca", async (_request, reply) => reply.type(CHAIN_MEDIA_TYPE).send(ca.certPem));

  app.get("/api/v1/crl", async (_request, reply) => {
    const der = await crl(ca, await store.listRevoked(), options.now());
    return reply.type(CRL_MEDIA_TYPE).send(Buffer.from(der));
  });

  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    "/api/v1/certificates/:serial",
    { schema: { params: CertificateParams, response: { 200: CertificateReply } } },
    async (request) => {
      const serial = request.params.serial.toLowerCase();
      const cert = await store.getCertificate(serial);
      if (cert === null) {
        throw new HttpProblem(
          problem(404, "not-found", "Not found", `no certificate with serial ${serial} was issued`),
        );
      }
      const now = options.now();
      return {
        serial: cert.serial,
        status:
          cert.revokedAt !== null
            ? ("revoked" as const)
            : now > cert.notAfter
              ? ("expired" as const)
              : ("valid" as const),
        notBefore: cert.notBefore.toISOString(),
        notAfter: cert.notAfter.toISOString(),
        tee: cert.tee,
        workloadIdentity: cert.workloadIdentity,
        revokedAt: cert.revokedAt?.toISOString() ?? null,
        revocationReason: cert.revocationReason,
        pem: cert.pem,
      };
    },
  );

  // ── admin ──
  await app.register(async (adminScope) => {
    const admin = adminScope.withTypeProvider<TypeBoxTypeProvider>();
    admin.addHook("onRequest", async (request, reply) => {
      const actor = authenticate(request.headers.authorization, tokenDigests);
      if (actor === null) {
        void reply.header("www-authenticate", 'Bearer realm="donjon-steward"');
        throw new HttpProblem(
          problem(
            401,
            "unauthorized",
            "Unauthorized",
            tokenDigests.length === 0
              ? "the admin API is off: steward.toml has no [admin] tokens"
              : "expected Authorization: Bearer <one of the [admin] tokens>",
          ),
        );
      }
      adminActors.set(request, actor);
    });

    admin.post(
      "/api/v1/admin/revoke",
      { schema: { body: RevokeBody, response: { 200: RevokeReply } } },
      async (request) => {
        const serial = request.body.serial.toLowerCase();
        const reason: RevocationReason = request.body.reason ?? "unspecified";
        const at = options.now();
        if (!(await store.revoke(serial, reason, at))) {
          throw new HttpProblem(
            problem(
              404,
              "not-found",
              "Not found",
              `no certificate with serial ${serial} was issued`,
            ),
          );
        }
        const cert = await store.getCertificate(serial);
        request.log.info(
          { serial, reason, actor: adminActors.get(request) },
          "certificate revoked",
        );
        return {
          serial,
          reason: cert?.revocationReason ?? reason,
          revokedAt: (cert?.revokedAt ?? at).toISOString(),
        };
      },
    );

    admin.post(
      "/api/v1/admin/policy",
      { schema: { response: { 200: PolicyReply } } },
      async (request) => {
        if (typeof request.body !== "string") {
          throw new HttpProblem(
            problem(
              415,
              "unsupported-media-type",
              "Unsupported media type",
              "send the policy as application/toml",
            ),
          );
        }
        const text = request.body;
        let policy: StewardPolicy;
        try {
          policy = options.parsePolicy(text);
        } catch (e) {
          metrics.policyChanges.inc({ source: "admin", result: "invalid" });
          throw new HttpProblem(
            problem(
              400,
              "invalid-policy",
              "Invalid policy",
              e instanceof Error ? e.message : String(e),
              {
                code: "steward.policy",
              },
            ),
          );
        }
        const time = options.now();
        const sha256 = createHash("sha256").update(text).digest("hex");
        const actor = adminActors.get(request) ?? "admin";
        // Audited first: a change that is not in the history never takes effect.
        await store.recordPolicyChange({ time, actor, sha256, text });
        await options.setPolicy(policy, text);
        metrics.policyChanges.inc({ source: "admin", result: "ok" });
        request.log.info({ sha256, actor }, "policy replaced");
        return { sha256, time: time.toISOString() };
      },
    );

    admin.get(
      "/api/v1/admin/attestations",
      { schema: { querystring: AttestationsQuery, response: { 200: AttestationsReply } } },
      async (request) => {
        const q: Static<typeof AttestationsQuery> = request.query;
        const limit = q.limit ?? 50;
        const rows = await store.listDecisions(
          q.before === undefined ? { limit } : { limit, before: q.before },
        );
        return {
          decisions: rows.map(decisionJson),
          next: rows.length === limit ? (rows[rows.length - 1]!.id ?? null) : null,
        };
      },
    );
  });

  // ── operations ──
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (request, reply) => {
    try {
      await store.ping();
      return { status: "ready" };
    } catch (e) {
      request.log.warn({ err: e }, "store not ready");
      return sendProblem(
        reply,
        problem(503, "not-ready", "Not ready", "the store does not answer"),
      );
    }
  });

  app.get("/metrics", async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  app.get("/api/v1/openapi.json", async () => openapi);
}

/** The claims the CA records, from the decision's. */
export function certClaims(c: IssueClaims): KeepCertClaims {
  return {
    tee: c.tee,
    tier: c.tier,
    measurement: c.measurement,
    workload: c.workloadIdentity,
    tcbStatus: c.tcbStatus,
    tcb: c.tcb,
    evidenceSha256: c.evidenceHash,
  };
}

function decisionJson(d: AuditDecision): Static<typeof DecisionSchema> {
  return {
    id: d.id ?? 0,
    time: d.time.toISOString(),
    evidenceHash: d.evidenceHash,
    tee: d.tee,
    verdict: d.verdict,
    failedChecks: d.failedChecks,
    serial: d.serial,
    workloadIdentity: d.workloadIdentity,
    remoteAddr: d.remoteAddr,
  };
}

function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type(PROBLEM_MEDIA_TYPE).send(JSON.stringify(p));
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/**
 * Which admin token `header` carries: `token #N` (1-based), or null. Compares
 * SHA-256 digests in constant time against every token, without stopping at
 * the first match, so timing says nothing about a token or which one matched.
 */
export function authenticate(header: string | undefined, tokens: readonly Buffer[]): string | null {
  const m = header === undefined ? null : /^Bearer ([\x21-\x7e]+)$/.exec(header);
  const given = digest(m ? m[1]! : "");
  let found = -1;
  for (const [i, t] of tokens.entries()) {
    if (timingSafeEqual(given, t) && m !== null) found = i;
  }
  return found < 0 ? null : `token #${found + 1}`;
}

/**
 * Read a request body whole, within `limits`: a declared Content-Length over
 * the limit is refused before reading (413), a body that grows past it is cut
 * off (413), and a body that has not ended `bodyTimeoutMs` after the handler
 * started reading it is abandoned (408).
 */
export function readBody(
  payload: Readable,
  headers: IncomingHttpHeaders,
  limits: StewardLimits,
): Promise<Buffer> {
  const declared = headers["content-length"];
  if (declared !== undefined && Number(declared) > limits.body) {
    return Promise.reject(new HttpProblem(tooLargeProblem(limits.body)));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      payload.off("data", onData);
      payload.off("end", onEnd);
      payload.off("error", onError);
      payload.off("close", onClose);
      if (error) {
        payload.pause();
        reject(error);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limits.body) finish(new HttpProblem(tooLargeProblem(limits.body)));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(null);
    const onError = (e: Error): void => finish(e);
    const onClose = (): void =>
      finish(
        new HttpProblem(
          problem(400, "invalid-request", "Invalid request", "the client closed the request early"),
        ),
      );
    const timer = setTimeout(
      () =>
        finish(
          new HttpProblem(
            problem(
              408,
              "request-timeout",
              "Request timeout",
              `the request body did not arrive within ${limits.bodyTimeoutMs} ms`,
            ),
          ),
        ),
      limits.bodyTimeoutMs,
    );
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
    payload.on("close", onClose);
  });
}
