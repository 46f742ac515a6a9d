/**
 * A pinned peer: "a Keep certified by this CA, running this workload". TLS
 * has already checked the chain (to `[trust] roots` or the listener's
 * `client_ca`); this reads the Donjon claims of the peer's leaf and compares
 * the workload identity. Loaded only by Keeps whose config pins a peer.
 */
import { decodeKeepClaims } from "@donjon/attest/claims";

/** Why the peer's certificate does not carry `workload`, or null when it does. */
export function pinRefusal(leafDer: Uint8Array | undefined, workload: string): string | null {
  if (leafDer === undefined) return "it presented no certificate";
  let claims: ReturnType<typeof decodeKeepClaims>;
  try {
    claims = decodeKeepClaims(leafDer);
  } catch (e) {
    return `its certificate's Keep claims are malformed: ${(e as Error).message}`;
  }
  if (claims === null)
    return "its certificate is not a Keep certificate (no Donjon claims extension)";
  if (claims.workload !== workload) {
    return `it runs workload ${claims.workload ?? "(none named)"}, not the pinned ${workload}`;
  }
  return null;
}
