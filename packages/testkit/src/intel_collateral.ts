/**
 * Fake Intel DCAP collateral, for what real vectors cannot show: a fake
 * `Intel SGX TCB Signing` certificate under the fake Intel SGX Root CA of
 * `fakeIntel` (same subject, same fixed key), TCB Info (SGX or TDX, v2 or v3)
 * and QE Identity JSON signed by it exactly as Intel PCS signs them (ECDSA
 * P-256/SHA-256 over the exact text of the `tcbInfo` / `enclaveIdentity`
 * member, r ‖ s hex), and the root CA and PCK CRLs — every field overridable,
 * so a test can produce Revoked, every TCB status, expired collateral, a wrong
 * FMSPC or a QE identity mismatch and assert the exact code.
 *
 * The defaults match `fakeIntel`'s defaults: FMSPC 00606a000000, PCE ID 0000,
 * TCB components 12,12,3,3,255,255,1,0…, PCESVN 13, the fake QE (MRSIGNER
 * 32 × 0x8C, ISVPRODID 1, ATTRIBUTES 0x15 / 0xE7, ISVSVN 9), a TD with
 * TEE_TCB_SVN 06 01 03 00…, zero MRSIGNERSEAM and SEAMATTRIBUTES — so a
 * default fake quote is UpToDate under default fake collateral.
 *
 * Formats: ../shared/vectors/LAYOUTS.md §2.9 (Intel PCS v4). Pure WebCrypto.
 */

import * as KEYS from "./_intel_keys.ts";
import * as x509 from "./_x509.ts";
import { TestkitError } from "./error.ts";
import { fakeIntel } from "./intel.ts";

/** Intel's TCB statuses. */
export type FakeTcbStatus =
  | "UpToDate"
  | "SWHardeningNeeded"
  | "ConfigurationNeeded"
  | "ConfigurationAndSWHardeningNeeded"
  | "OutOfDate"
  | "OutOfDateConfigurationNeeded"
  | "Revoked";

/** One TCB Info level. Defaults: the fake PCK's components, PCESVN 13, TDX 06 01 03 00…, UpToDate. */
export interface FakeTcbLevel {
  sgx?: readonly number[];
  pceSvn?: number;
  /** TDX TCB Info only. */
  tdx?: readonly number[];
  status?: FakeTcbStatus | string;
  advisoryIds?: readonly string[];
  tcbDate?: string;
}

/** One level of a QE Identity or TDX module identity. */
export interface FakeIdentityLevel {
  isvSvn: number;
  status?: FakeTcbStatus | string;
  advisoryIds?: readonly string[];
  tcbDate?: string;
}

/** A JSON member override: a value replaces (or adds) the member, `undefined` removes it. */
export type FakeJsonFields = Record<string, unknown>;

/** What to build. Every field is optional. */
export interface FakeIntelCollateralOptions {
  /** The instant everything is valid at (default 2025-06-01T00:00:00Z, as `fakeIntel`); returned as `now`. */
  now?: Date;
  /** SGX (default) or TDX collateral. */
  tee?: "sgx" | "tdx";
  /** TCB Info. */
  tcbInfo?: {
    /** 2 or 3 (default 3; TDX needs 3). */
    version?: number;
    fmspc?: string;
    pceId?: string;
    issueDate?: Date;
    nextUpdate?: Date;
    levels?: readonly FakeTcbLevel[];
    /** TDX: the identities (default TDX_01 with one level isvsvn 6 UpToDate); null omits the member. */
    tdxModuleIdentities?:
      | readonly { id: string; levels: readonly FakeIdentityLevel[]; mrsigner?: string }[]
      | null;
    /** TDX: `tdxModule.mrsigner` (default 96 zeros). */
    tdxModuleMrSigner?: string;
    /** Raw member overrides of the `tcbInfo` object, applied last (still signed). */
    fields?: FakeJsonFields;
  };
  /** QE Identity. */
  qeIdentity?: {
    /** Default QE (SGX) or TD_QE (TDX). */
    id?: string;
    issueDate?: Date;
    nextUpdate?: Date;
    mrsigner?: string;
    isvProdId?: number;
    miscselect?: string;
    miscselectMask?: string;
    attributes?: string;
    attributesMask?: string;
    levels?: readonly FakeIdentityLevel[];
    fields?: FakeJsonFields;
  };
  /** The TCB signing certificate. */
  signing?: {
    notBefore?: Date;
    notAfter?: Date;
    serialNumber?: string;
    subject?: string;
    signedBy?: "root" | "other";
    /** The signing key's curve (Intel's is P-256; P-384 makes a certificate that cannot have signed the JSON). */
    curve?: "P-256" | "P-384";
  };
  /** The root CA CRL: revoked serials (hex), window, signer. */
  rootCrl?: {
    revoked?: readonly string[];
    thisUpdate?: Date;
    nextUpdate?: Date;
    signedBy?: "root" | "other";
    /** The issuer name written in the CRL (default the root's subject). */
    issuer?: string;
  };
  /** The PCK (Platform CA) CRL: revoked serials (hex; the fake PCK is 03, the fake PCK CA 02), window, signer. */
  pckCrl?: {
    revoked?: readonly string[];
    thisUpdate?: Date;
    /** null: no nextUpdate. */
    nextUpdate?: Date | null;
    signedBy?: "pckCa" | "other";
  };
  /** Sign the JSON with a key no certificate holds. */
  jsonSignedBy?: "signing" | "other";
  /** Change one character of the signed text after signing (the signature no longer verifies). */
  corrupt?: "tcbInfo" | "qeIdentity";
}

/** Fake collateral in the shape of `@donjon/attest`'s `DcapCollateral`, and its trust material. */
export interface FakeIntelCollateral {
  now: Date;
  /** The fake Intel SGX Root CA (DER): pin it. Same subject and key as `fakeIntel`'s root. */
  root: Uint8Array;
  /** The fake PCK Platform CA (DER): the PCK CRL issuer. */
  pckCa: Uint8Array;
  /** The fake TCB signing certificate (DER). */
  tcbSigning: Uint8Array;
  collateral: {
    tcbInfo: string;
    tcbInfoIssuerChain: Uint8Array[];
    qeIdentity: string;
    qeIdentityIssuerChain: Uint8Array[];
    rootCaCrl: Uint8Array;
    pckCrl: Uint8Array;
    pckCrlIssuerChain: Uint8Array[];
  };
  /** Sign any JSON text as a PCS body member (`{"<member>":<text>,"signature":"…"}`) with the TCB signing key. */
  signJson(member: string, text: string): Promise<string>;
}

const DEFAULT_NOW = new Date("2025-06-01T00:00:00Z");
const DAY = 86_400_000;
const INTEL_DN = "O=Intel Corporation, L=Santa Clara, ST=CA, C=US";
const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const DEFAULT_SGX = [12, 12, 3, 3, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const DEFAULT_TDX = [6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

let tcbKey: Promise<CryptoKeyPair> | undefined;
const imported = new Map<string, Promise<CryptoKey>>();

/** The TCB signing key: generated once per module (nothing depends on its bytes). */
function signingKey(): Promise<CryptoKeyPair> {
  tcbKey ??= crypto.subtle.generateKey(P256, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
  return tcbKey;
}

function privateKey(pem: string): Promise<CryptoKey> {
  let k = imported.get(pem);
  if (!k) {
    const bin = atob(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
    const der = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    k = crypto.subtle.importKey("pkcs8", der, P256, false, ["sign"]);
    imported.set(pem, k);
  }
  return k;
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function edit(
  o: Record<string, unknown>,
  fields: FakeJsonFields | undefined,
): Record<string, unknown> {
  if (!fields) return o;
  const out = { ...o };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function bad(message: string): never {
  throw new TestkitError("testkit.options", message);
}

/**
 * Build fake Intel collateral. With no options: SGX TCB Info v3 and QE
 * Identity under which a default `fakeIntel` SGX quote is UpToDate, CRLs that
 * revoke nothing, all valid at 2025-06-01.
 */
export async function fakeIntelCollateral(
  options: FakeIntelCollateralOptions = {},
): Promise<FakeIntelCollateral> {
  const now = options.now ?? DEFAULT_NOW;
  const tee = options.tee ?? "sgx";
  const intel = await fakeIntel({ now });
  const root = new x509.X509Certificate(intel.root as Uint8Array<ArrayBuffer>);
  const pckCa = new x509.X509Certificate(intel.pckCa as Uint8Array<ArrayBuffer>);
  const rootKey = await privateKey(KEYS.INTEL_ROOT_KEY);
  const otherKey = await privateKey(KEYS.INTEL_OTHER_KEY);
  const tcb =
    options.signing?.curve === "P-384"
      ? ((await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
          "sign",
          "verify",
        ])) as CryptoKeyPair)
      : await signingKey();

  const s = options.signing ?? {};
  const signing = await x509.X509CertificateGenerator.create({
    serialNumber: s.serialNumber ?? "0a",
    subject: s.subject ?? `CN=Intel SGX TCB Signing, ${INTEL_DN}`,
    issuer: root.subject,
    notBefore: s.notBefore ?? new Date(now.getTime() - 365 * DAY),
    notAfter: s.notAfter ?? new Date(now.getTime() + 7 * 365 * DAY),
    publicKey: tcb.publicKey,
    signingKey: s.signedBy === "other" ? otherKey : rootKey,
    signingAlgorithm: SIGN,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(root.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(tcb.publicKey),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
        true,
      ),
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
  const jsonKey = options.jsonSignedBy === "other" ? otherKey : tcb.privateKey;

  async function signJson(member: string, text: string, corrupt = false): Promise<string> {
    const sig = new Uint8Array(
      await crypto.subtle.sign(SIGN, jsonKey, new TextEncoder().encode(text)),
    );
    // One character changed after signing: tcbEvaluationDataNumber 17 → 18, still valid JSON and in window.
    const signed = corrupt
      ? text.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18')
      : text;
    return `{"${member}":${signed},"signature":"${hex(sig)}"}`;
  }

  // TCB Info (PCS v4 field order).
  const t = options.tcbInfo ?? {};
  const version = t.version ?? 3;
  const tdx = tee === "tdx";
  if (tdx && version !== 3) bad("TDX TCB Info is version 3");
  const levels = (t.levels ?? [{}]).map((l) => {
    const sgx = l.sgx ?? DEFAULT_SGX;
    if (sgx.length !== 16) bad(`a TCB level's sgx: expected 16 SVNs, got ${sgx.length}`);
    const tcbObj: Record<string, unknown> =
      version === 2
        ? Object.fromEntries([
            ...sgx.map((v, i) => [`sgxtcbcomp${String(i + 1).padStart(2, "0")}svn`, v]),
            ["pcesvn", l.pceSvn ?? 13],
          ])
        : {
            sgxtcbcomponents: sgx.map((svn) => ({ svn })),
            pcesvn: l.pceSvn ?? 13,
            ...(tdx ? { tdxtcbcomponents: (l.tdx ?? DEFAULT_TDX).map((svn) => ({ svn })) } : {}),
          };
    return {
      tcb: tcbObj,
      tcbDate: l.tcbDate ?? "2024-03-13T00:00:00Z",
      tcbStatus: l.status ?? "UpToDate",
      ...(l.advisoryIds?.length ? { advisoryIDs: l.advisoryIds } : {}),
    };
  });
  const identityLevels = (ls: readonly FakeIdentityLevel[]) =>
    ls.map((l) => ({
      tcb: { isvsvn: l.isvSvn },
      tcbDate: l.tcbDate ?? "2024-03-13T00:00:00Z",
      tcbStatus: l.status ?? "UpToDate",
      ...(l.advisoryIds?.length ? { advisoryIDs: l.advisoryIds } : {}),
    }));
  const zeros48 = "0".repeat(96);
  const moduleIds =
    t.tdxModuleIdentities === null
      ? undefined
      : (t.tdxModuleIdentities ?? [{ id: "TDX_01", levels: [{ isvSvn: 6 }] }]).map((m) => ({
          id: m.id,
          mrsigner: m.mrsigner ?? zeros48,
          attributes: "0000000000000000",
          attributesMask: "FFFFFFFFFFFFFFFF",
          tcbLevels: identityLevels(m.levels),
        }));
  const tcbInfoObj = edit(
    {
      ...(version === 3 ? { id: tdx ? "TDX" : "SGX" } : {}),
      version,
      issueDate: iso(t.issueDate ?? new Date(now.getTime() - DAY)),
      nextUpdate: iso(t.nextUpdate ?? new Date(now.getTime() + 29 * DAY)),
      fmspc: t.fmspc ?? "00606A000000",
      pceId: t.pceId ?? "0000",
      tcbType: 0,
      tcbEvaluationDataNumber: 17,
      ...(tdx
        ? {
            tdxModule: {
              mrsigner: t.tdxModuleMrSigner ?? zeros48,
              attributes: "0000000000000000",
              attributesMask: "FFFFFFFFFFFFFFFF",
            },
            ...(moduleIds ? { tdxModuleIdentities: moduleIds } : {}),
          }
        : {}),
      tcbLevels: levels,
    },
    t.fields,
  );

  // QE Identity (Enclave Identity v2).
  const q = options.qeIdentity ?? {};
  const qeObj = edit(
    {
      id: q.id ?? (tdx ? "TD_QE" : "QE"),
      version: 2,
      issueDate: iso(q.issueDate ?? new Date(now.getTime() - DAY)),
      nextUpdate: iso(q.nextUpdate ?? new Date(now.getTime() + 29 * DAY)),
      tcbEvaluationDataNumber: 17,
      miscselect: q.miscselect ?? "00000000",
      miscselectMask: q.miscselectMask ?? "FFFFFFFF",
      attributes: q.attributes ?? "11000000000000000000000000000000",
      attributesMask: q.attributesMask ?? "FBFFFFFFFFFFFFFF0000000000000000",
      mrsigner: q.mrsigner ?? "8C".repeat(32),
      isvprodid: q.isvProdId ?? 1,
      tcbLevels: identityLevels(q.levels ?? [{ isvSvn: 9 }]),
    },
    q.fields,
  );

  const rc = options.rootCrl ?? {};
  const rootCrl = await x509.X509CrlGenerator.create({
    issuer: rc.issuer ?? root.subject,
    thisUpdate: rc.thisUpdate ?? new Date(now.getTime() - 30 * DAY),
    nextUpdate: rc.nextUpdate ?? new Date(now.getTime() + 300 * DAY),
    entries: (rc.revoked ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date(now.getTime() - 2 * DAY),
    })),
    signingKey: rc.signedBy === "other" ? otherKey : rootKey,
    signingAlgorithm: SIGN,
  });
  const pc = options.pckCrl ?? {};
  const pckCrl = await x509.X509CrlGenerator.create({
    issuer: pckCa.subject,
    thisUpdate: pc.thisUpdate ?? new Date(now.getTime() - DAY),
    nextUpdate:
      pc.nextUpdate === null ? undefined : (pc.nextUpdate ?? new Date(now.getTime() + 29 * DAY)),
    entries: (pc.revoked ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date(now.getTime() - 2 * DAY),
    })),
    signingKey: pc.signedBy === "other" ? otherKey : await privateKey(KEYS.INTEL_PCK_CA_KEY),
    signingAlgorithm: SIGN,
  });

  const signingDer = new Uint8Array(signing.rawData);
  const chain = [signingDer, intel.root];
  return {
    now,
    root: intel.root,
    pckCa: intel.pckCa,
    tcbSigning: signingDer,
    collateral: {
      tcbInfo: await signJson("tcbInfo", JSON.stringify(tcbInfoObj), options.corrupt === "tcbInfo"),
      tcbInfoIssuerChain: chain,
      qeIdentity: await signJson(
        "enclaveIdentity",
        JSON.stringify(qeObj),
        options.corrupt === "qeIdentity",
      ),
      qeIdentityIssuerChain: chain,
      rootCaCrl: new Uint8Array(rootCrl.rawData),
      pckCrl: new Uint8Array(pckCrl.rawData),
      pckCrlIssuerChain: [intel.pckCa, intel.root],
    },
    signJson: (member, text) => signJson(member, text),
  };
}
