/**
 * Test fixtures for the app and server tests: a sandbox Keep's CSR built the
 * way a Keep builds it (key, workload identity, report_data binding, sandbox
 * evidence signed by a host key, the CMW wrapper, the CSR), and policies.
 * Not exported from index.ts.
 */
import { encodeKeepEvidence, reportData, workloadIdentity } from "@donjon/attest";
import { createSandboxEvidence } from "@donjon/keep";
import {
  type FakeIntel,
  type FakeSnp,
  fakeIntel,
  fakeIntelCollateral,
  fakeSnp,
} from "@donjon/testkit";
import { buildCsr } from "./csr.ts";
import { type CollateralFileInput, createStewardDcapSource } from "./dcap.ts";
import type { DecideContext } from "./decide.ts";
import { encodeEvidenceExtension } from "./evidence_ext.ts";
import { parsePolicy, type StewardPolicy } from "./policy.ts";

const EC = { name: "ECDSA", namedCurve: "P-384" } as const;

/** A P-384 key pair and its SPKI. */
export interface TestKey {
  pair: CryptoKeyPair;
  spki: Uint8Array;
}

/** A fresh ECDSA P-384 key. */
export async function testKey(): Promise<TestKey> {
  const pair = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  return { pair, spki: new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)) };
}

/** PEM of an SPKI. */
export function spkiPem(spki: Uint8Array): string {
  const lines =
    Buffer.from(spki)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

/** What {@link sandboxCsr} may vary. */
export interface SandboxCsrOptions {
  /** The host sandbox key that signs the evidence. */
  host: TestKey;
  /** When the evidence is issued. */
  now: Date;
  /** The Keep key; default a fresh one. */
  keep?: TestKey;
  /** Bind report_data to this key instead of the Keep's (a binding failure). */
  bindTo?: Uint8Array;
  /** The workload's wasm bytes. */
  wasm?: string;
  /** Rewrite the evidence wrapper's JSON before it goes into the CSR (hostile inputs). */
  mutateWrapper?: (json: string) => string;
}

/** A sandbox Keep's CSR, and the workload identity it claims (hex). */
export async function sandboxCsr(
  o: SandboxCsrOptions,
): Promise<{ der: Uint8Array; identity: string; keep: TestKey }> {
  const keep = o.keep ?? (await testKey());
  const sha256 = async (s: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  const wasmDigest = await sha256(o.wasm ?? "(module)");
  const configDigest = await sha256("args = []");
  const identity = await workloadIdentity(wasmDigest, configDigest);
  const evidence = await createSandboxEvidence({
    signer: { privateKey: o.host.pair.privateKey, spki: o.host.spki },
    runtimeMeasurement: new Uint8Array(48).fill(0x5a),
    workloadIdentity: identity,
    reportData: await reportData(o.bindTo ?? keep.spki, identity),
    issuedAt: o.now,
  });
  const wrapper = encodeKeepEvidence({
    tee: "sandbox",
    evidence,
    certs: [],
    keepKey: keep.spki,
    wasmDigest,
    configDigest,
  });
  const json = new TextDecoder().decode(wrapper);
  const final = o.mutateWrapper ? new TextEncoder().encode(o.mutateWrapper(json)) : wrapper;
  const der = await buildCsr({ keys: keep.pair, evidence: encodeEvidenceExtension(final) });
  return { der, identity: Buffer.from(identity).toString("hex"), keep };
}

/** A fake SEV-SNP Keep's CSR (testkit's fake AMD hierarchy; pin `fake.roots`), with its VCEK, ASK and ARK in the wrapper. */
export async function snpCsr(): Promise<{ der: Uint8Array; identity: string; fake: FakeSnp }> {
  const keep = await testKey();
  const sha256 = async (s: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  const wasmDigest = await sha256("(module)");
  const configDigest = await sha256("args = []");
  const identity = await workloadIdentity(wasmDigest, configDigest);
  const fake = await fakeSnp({ report: { reportData: await reportData(keep.spki, identity) } });
  const wrapper = encodeKeepEvidence({
    tee: "snp",
    evidence: fake.report,
    certs: [fake.vcek!, fake.ask, fake.ark],
    keepKey: keep.spki,
    wasmDigest,
    configDigest,
  });
  const der = await buildCsr({ keys: keep.pair, evidence: encodeEvidenceExtension(wrapper) });
  return { der, identity: Buffer.from(identity).toString("hex"), fake };
}

/**
 * A fake Intel TDX or SGX Keep's CSR (testkit's fake Intel hierarchy: pin
 * `dcap.root`), and the Steward's DCAP context with fake collateral served
 * from files as `[dcap] collateral_dir` would (UpToDate at `intel.now`).
 */
export async function intelCsr(
  tee: "tdx" | "sgx",
  o: { debug?: boolean } = {},
): Promise<{
  der: Uint8Array;
  identity: string;
  intel: FakeIntel;
  dcap: NonNullable<DecideContext["dcap"]>;
  /** The collateral as files (a collateral_dir's). */
  files: CollateralFileInput[];
  /** The collateral as Intel PCS serves it. */
  collateral: Awaited<ReturnType<typeof fakeIntelCollateral>>["collateral"];
}> {
  const keep = await testKey();
  const sha256 = async (s: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  const wasmDigest = await sha256("(module)");
  const configDigest = await sha256("args = []");
  const identity = await workloadIdentity(wasmDigest, configDigest);
  const intel = await fakeIntel();
  const fields = { reportData: await reportData(keep.spki, identity), debug: o.debug ?? false };
  const evidence = tee === "tdx" ? await intel.tdxQuote(fields) : await intel.sgxQuote(fields);
  const wrapper = encodeKeepEvidence({
    tee,
    evidence,
    certs: [],
    keepKey: keep.spki,
    wasmDigest,
    configDigest,
  });
  const der = await buildCsr({ keys: keep.pair, evidence: encodeEvidenceExtension(wrapper) });
  const c = (await fakeIntelCollateral({ tee, now: intel.now })).collateral;
  const pem = (ders: readonly Uint8Array[]) =>
    new TextEncoder().encode(
      ders
        .map(
          (d) =>
            `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString("base64")}\n-----END CERTIFICATE-----\n`,
        )
        .join(""),
    );
  const files: CollateralFileInput[] = [
    { name: "tcb_info.json", data: new TextEncoder().encode(c.tcbInfo) },
    { name: "qe_identity.json", data: new TextEncoder().encode(c.qeIdentity) },
    { name: "tcb_chain.pem", data: pem(c.tcbInfoIssuerChain) },
    { name: "root_ca.crl", data: c.rootCaCrl },
    { name: "pck.crl", data: c.pckCrl },
  ];
  const source = createStewardDcapSource({ files })!;
  return {
    der,
    identity: Buffer.from(identity).toString("hex"),
    intel,
    dcap: { source, root: intel.root },
    files,
    collateral: c,
  };
}

/** A policy that admits sandbox Keeps signed by `host`, with a SAN and a 1-hour lifetime. */
export function sandboxPolicyText(host: TestKey): string {
  return `[sandbox]
allow = true
host_keys = ["""${spkiPem(host.spki)}"""]
lifetime = "1h"
san = ["keep.example"]
`;
}

/** {@link sandboxPolicyText}, parsed. */
export function sandboxPolicy(host: TestKey): StewardPolicy {
  return parsePolicy(sandboxPolicyText(host), "(test policy)");
}
