/**
 * The Steward's Prometheus metrics, in a registry of their own (never
 * prom-client's global default), so that two apps in one process — tests, or
 * an embedded Steward beside other code — do not share or clash counters.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `steward_http_requests_total` | counter | `method`, `route`, `status` |
 * | `steward_http_request_duration_seconds` | histogram | `method`, `route` |
 * | `steward_attestations_total` | counter | `verdict` (`issued`, `refused`, `malformed`, `error`) |
 * | `steward_attestation_refusals_total` | counter | `code` (one increment per failed check or malformed code) |
 * | `steward_attestation_duration_seconds` | histogram | `verdict` |
 * | `steward_policy_changes_total` | counter | `source` (`admin`, `reload`), `result` (`ok`, `invalid`) |
 *
 * `route` is the route's template (`/api/v1/attest`), or `unmatched` for a
 * 404, so a scanner cannot grow the label set.
 */
import { Counter, Histogram, Registry } from "prom-client";

/** The metrics of one Steward app. */
export interface StewardMetrics {
  /** The registry `/metrics` serves. */
  registry: Registry;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route">;
  attestations: Counter<"verdict">;
  refusals: Counter<"code">;
  attestDuration: Histogram<"verdict">;
  policyChanges: Counter<"source" | "result">;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also collect Node's process metrics (CPU, memory, event loop lag) in this registry. Default false. */
  processMetrics?: boolean;
  /** Prefix of every metric name. Default `steward_`. */
  prefix?: string;
}

/** Make a fresh registry with the Steward's metrics. */
export async function createMetrics(options: MetricsOptions = {}): Promise<StewardMetrics> {
  const registry = new Registry();
  const p = options.prefix ?? "steward_";
  if (options.processMetrics) {
    const { collectDefaultMetrics } = await import("prom-client");
    collectDefaultMetrics({ register: registry });
  }
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: `${p}http_requests_total`,
      help: "HTTP requests answered, by method, route template and status.",
      labelNames: ["method", "route", "status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: "Time from request to response, by method and route template.",
      labelNames: ["method", "route"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    attestations: new Counter({
      name: `${p}attestations_total`,
      help: "Attestation requests decided, by verdict (issued, refused, malformed, error).",
      labelNames: ["verdict"] as const,
      registers,
    }),
    refusals: new Counter({
      name: `${p}attestation_refusals_total`,
      help: "Reasons for refused and malformed attestation requests: one per failed check code.",
      labelNames: ["code"] as const,
      registers,
    }),
    attestDuration: new Histogram({
      name: `${p}attestation_duration_seconds`,
      help: "Time to decide, issue and record one attestation, by verdict.",
      labelNames: ["verdict"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    policyChanges: new Counter({
      name: `${p}policy_changes_total`,
      help: "Policy changes attempted, by source (admin, reload) and result (ok, invalid).",
      labelNames: ["source", "result"] as const,
      registers,
    }),
  };
}
