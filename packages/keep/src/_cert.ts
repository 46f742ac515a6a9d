/**
 * Where the workload reads the Keep's certificate chain. Its own module, not
 * `guest.ts`: the Keep's I/O thread checks the plan's directories against it
 * and must not load the WASI host that `guest.ts` brings in, and the worker
 * loads it only for a Keep that has a certificate.
 */

/** The read-only in-memory directory the Keep adds for its certificate. */
export const CERT_DIR = "/donjon";
/** The Keep's certificate chain (PEM), inside `CERT_DIR`. */
export const CERT_PATH = `${CERT_DIR}/cert.pem`;
