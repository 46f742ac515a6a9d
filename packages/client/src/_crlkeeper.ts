/**
 * The Steward's CRL, held by an agent and fetched again before it goes stale
 * (the Steward's is valid one hour). The agent awaits {@link CrlKeeper.current}
 * after the handshake and before judging the peer, so a connection never
 * waits for a fetch while it holds a socket nobody else can use.
 *
 * When to fetch: before the first peer; then once the held CRL is past the
 * middle of its validity (thisUpdate + (nextUpdate − thisUpdate) / 2), which
 * leaves the second half for refreshes that fail; never more often than
 * {@link MIN_FETCH_INTERVAL_MS} (by the injected clock), so a Steward that is
 * down, or serves an old CRL, is not asked once per connection. One fetch is
 * in flight at a time and every connection that needs it awaits the same one.
 *
 * A fetched CRL replaces the held one only when a Steward CA signed it, it is
 * current, and it is not older than the held one (a party in the middle can
 * replay an old CRL, not forge one). Otherwise the refresh failed: the held
 * CRL is still used, and the verdict says the refresh failed; once the held
 * CRL is stale the verdict refuses the peer (`client.crl`), and with none
 * held at all, `client.crl_unavailable`.
 */
import { type CrlFetch, fetchStewardCrl, type ParsedCrl, parseCrl } from "./crl.ts";
import { crlProblem, type ResolvedCrl, type StewardTrust } from "./verify.ts";

/** The least time between two fetches of the CRL, in milliseconds, by the injected clock. */
export const MIN_FETCH_INTERVAL_MS = 30_000;

/** Where and how an agent fetches the Steward's CRL (resolved). */
export interface CrlSourceOptions {
  url: string | URL;
  ca?: string;
  fetch?: CrlFetch;
  timeoutMs?: number;
}

/** One agent's CRL: the one held, and the fetch that replaces it. */
export interface CrlKeeper {
  /** The CRL to judge the next peer with, fetching first when it is due. Never rejects. */
  current(): Promise<ResolvedCrl>;
}

export function crlKeeper(
  source: CrlSourceOptions,
  trust: StewardTrust,
  now: () => Date,
): CrlKeeper {
  let held: ParsedCrl | null = null;
  /** When the next fetch is due (ms since the epoch); 0: now. */
  let dueAt = 0;
  let failure: { at: Date; reason: string } | null = null;
  let inflight: Promise<void> | null = null;

  const fetchOnce = async (): Promise<void> => {
    const started = now();
    try {
      const parsed = parseCrl(
        await fetchStewardCrl(source.url, {
          ...(source.ca === undefined ? {} : { ca: source.ca }),
          ...(source.fetch === undefined ? {} : { fetch: source.fetch }),
          ...(source.timeoutMs === undefined ? {} : { timeoutMs: source.timeoutMs }),
        }),
      );
      const at = now();
      // Signed by one of the CAs trusted, and current: what a verdict would accept.
      const problems = trust.certs.map((c) => crlProblem(parsed, c, at));
      if (!problems.includes(null))
        throw new Error(`the CRL fetched cannot be used: ${problems[0]}`);
      if (held !== null && parsed.thisUpdate < held.thisUpdate) {
        throw new Error(
          `the CRL fetched (thisUpdate ${parsed.thisUpdate.toISOString()}) is older than the one held (thisUpdate ${held.thisUpdate.toISOString()})`,
        );
      }
      held = parsed;
      failure = null;
      // crlProblem refused a CRL without nextUpdate.
      const half = (parsed.thisUpdate.getTime() + parsed.nextUpdate!.getTime()) / 2;
      // Not later than it goes stale, even for a CRL valid less than a minute.
      dueAt = Math.min(
        parsed.nextUpdate!.getTime(),
        Math.max(half, started.getTime() + MIN_FETCH_INTERVAL_MS),
      );
    } catch (e) {
      failure = { at: started, reason: (e as Error).message };
      dueAt = started.getTime() + MIN_FETCH_INTERVAL_MS;
    }
  };

  return {
    async current() {
      if (now().getTime() >= dueAt) {
        inflight ??= fetchOnce().finally(() => {
          inflight = null;
        });
        await inflight;
      }
      if (held === null) {
        return {
          error: `no CRL could be fetched (last try ${failure!.at.toISOString()}: ${failure!.reason})`,
          code: "client.crl_unavailable",
        };
      }
      return failure === null
        ? { crl: held }
        : {
            crl: held,
            note: `refreshing it failed at ${failure.at.toISOString()} (${failure.reason}); the CRL held is used while it is current`,
          };
    },
  };
}
