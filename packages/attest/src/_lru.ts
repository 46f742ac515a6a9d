/**
 * The verifiers' caches (snp/verify.ts, dcap/quote_verify.ts,
 * dcap/collateral.ts): a bounded map, and the cached outcome of a signature
 * check.
 */

/** A bounded map that drops its oldest entry when full (a size of 0 caches nothing). */
export class Lru<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();
  constructor(max: number) {
    this.#max = max;
  }
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  delete(key: string): void {
    this.#map.delete(key);
  }
  set(key: string, value: V): void {
    if (this.#max <= 0) return;
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }
}

/**
 * Whether a signature verifies: the outcome cached under `key` (which must
 * name the exact bytes of both the signed object and the key's certificate),
 * else `verify()`'s, cached. A throw counts as a failed signature: the
 * library throws on a signature or key it cannot convert.
 */
export async function cachedSignature(
  cache: Lru<boolean>,
  key: string,
  verify: () => Promise<boolean>,
): Promise<boolean> {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let ok: boolean;
  try {
    ok = await verify();
  } catch {
    ok = false;
  }
  cache.set(key, ok);
  return ok;
}
