/**
 * Test fixtures: a real Steward CA made in-process with @donjon/steward's own
 * functions (`createCa`, `issueKeepCert`, `issueTlsCert` — the code the
 * Steward signs with), Keep certificates with chosen claims and validity, and
 * a loopback TLS server that serves one and records every application byte it
 * receives. Not exported from index.ts.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import {
  type Ca,
  createCa,
  issueKeepCert,
  issueTlsCert,
  type KeepCertClaims,
  type SanName,
  toPem,
} from "@donjon/steward";

export const HOUR = 3_600_000;

/** The claims of a hardware Keep (SEV-SNP) running workload `WORKLOAD`. */
export const WORKLOAD = "c0".repeat(32);
export const SNP_CLAIMS: KeepCertClaims = {
  tee: "snp",
  tier: "hardware",
  measurement: "ab".repeat(48),
  workload: WORKLOAD,
  tcbStatus: "meets-minimum",
  tcb: "0300000000000873",
  evidenceSha256: "ef".repeat(32),
};
/** The claims of a sandbox Keep (software tier). */
export const SANDBOX_CLAIMS: KeepCertClaims = {
  tee: "sandbox",
  tier: "software",
  measurement: "12".repeat(48),
  workload: WORKLOAD,
  tcbStatus: "none",
  tcb: null,
  evidenceSha256: "56".repeat(32),
};

/** A Steward CA made a day before `now`. */
export async function steward(now: Date): Promise<Ca> {
  return (await createCa({ now: new Date(now.getTime() - 24 * HOUR) })).ca;
}

/** A Keep's certificate (PEM and DER) and key (PKCS#8 PEM), issued by `ca`. */
export interface KeepCert {
  der: Uint8Array;
  certPem: string;
  keyPem: string;
  /** The chain a Keep serves: its certificate, then the CA's. */
  chainPem: string;
}

/** Options of {@link keepCert}. */
export interface KeepCertOptions {
  claims?: KeepCertClaims;
  /** Issue time. */
  now: Date;
  lifetimeMs?: number;
  san?: SanName[];
}

/** Issue a Keep certificate the way the Steward does, for a fresh P-384 key. */
export async function keepCert(ca: Ca, o: KeepCertOptions): Promise<KeepCert> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const issued = await issueKeepCert(ca, {
    spki,
    claims: o.claims ?? SNP_CLAIMS,
    lifetimeMs: o.lifetimeMs ?? 24 * HOUR,
    now: o.now,
    ...(o.san ? { san: o.san } : {}),
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    der: issued.der,
    certPem: issued.pem,
    keyPem: toPem("PRIVATE KEY", pkcs8),
    chainPem: issued.pem + ca.certPem,
  };
}

/** The Steward's own TLS certificate (no Keep claims), as a chain a server can serve. */
export async function stewardTlsCert(
  ca: Ca,
  now: Date,
): Promise<{ der: Uint8Array; certPem: string; keyPem: string; chainPem: string }> {
  const t = await issueTlsCert(ca, { now });
  const der = new Uint8Array(Buffer.from(t.certPem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64"));
  return { der, certPem: t.certPem, keyPem: t.keyPem, chainPem: t.certPem + ca.certPem };
}

/** A loopback TLS server serving one certificate, recording what each connection sent. */
export interface RecordingServer {
  port: number;
  /** Connections whose TLS handshake completed on the server's side. */
  handshakes: number;
  /** Application bytes received, over every connection. */
  received: Buffer[];
  /** TCP connections accepted. */
  connections: number;
  /**
   * Resolves once at least `min` connections were accepted and every one has
   * closed (so that nothing more can arrive on them).
   */
  settled(min?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Serve `cert` on 127.0.0.1. A connection that sends an HTTP request head
 * gets `200 ok` back; anything else is echoed.
 */
export async function recordingServer(cert: {
  chainPem: string;
  keyPem: string;
}): Promise<RecordingServer> {
  const state = { handshakes: 0, received: [] as Buffer[], connections: 0, closed: 0 };
  const server = tls.createServer({ cert: cert.chainPem, key: cert.keyPem }, (socket) => {
    state.handshakes++;
    let head = "";
    socket.on("data", (d: Buffer) => {
      state.received.push(d);
      head += d.toString("latin1");
      if (head.startsWith("GET ") || head.startsWith("POST ")) {
        if (head.includes("\r\n\r\n")) {
          socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
      } else socket.write(d);
    });
    socket.on("error", () => {});
  });
  server.on("connection", (s) => {
    state.connections++;
    s.once("close", () => state.closed++);
  });
  server.on("tlsClientError", () => {});
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    get handshakes() {
      return state.handshakes;
    },
    get connections() {
      return state.connections;
    },
    received: state.received,
    settled: async (min = 0) => {
      while (state.connections < min || state.closed < state.connections) {
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
