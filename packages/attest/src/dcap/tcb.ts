/**
 * Intel DCAP TCB evaluation: from verified TCB Info and QE Identity, the PCK
 * certificate's SGX extensions, the QE report and (TDX) the TD report, the
 * TCB status and advisory IDs — Intel's algorithm as its Quote Verification
 * Library implements it (SGX-TDX-DCAP-QuoteVerificationLibrary
 * `QuoteVerifier.cpp` 4.1.2.4.9–4.1.2.4.17, `TcbLevelCheck.cpp`,
 * `TdxModuleCheck.cpp`, `TDRelaunchCheck.cpp`, `EnclaveReportVerifier.cpp`),
 * summarised in ../shared/vectors/LAYOUTS.md §2.9:
 *
 * 1. The TCB Info is for the quote's TEE (v3 id SGX/TDX; v2 is SGX only), its
 *    FMSPC and PCE ID are the PCK certificate's; the QE Identity is QE (SGX) or
 *    TD_QE (TDX) and matches the QE report (masked MISCSELECT, masked
 *    ATTRIBUTES, MRSIGNER, ISVPRODID); its level is the first with
 *    isvsvn ≤ the QE's ISVSVN.
 * 2. TDX: the TDX module — TEE_TCB_SVN[1] (the module's major version) selects
 *    the identity `TDX_%02X` when ≠ 0 — must have MRSIGNERSEAM and the masked
 *    SEAMATTRIBUTES of the TCB Info; its level is the first with
 *    isvsvn ≤ TEE_TCB_SVN[0].
 * 3. The platform level is the first (PCS order, newest first) whose 16 SGX
 *    component SVNs are all ≤ the PCK certificate's and whose PCESVN ≤ the
 *    PCK's; for TDX the first such level whose TDX components are all
 *    ≤ TEE_TCB_SVN (from index 2 when TEE_TCB_SVN[1] > 0: bytes 0–1 are the
 *    module's, judged in step 2). None: "TCB level not supported".
 * 4. Statuses converge: a TDX module OutOfDate turns UpToDate and
 *    SWHardeningNeeded into OutOfDate and the Configuration… statuses into
 *    OutOfDateConfigurationNeeded, the QE's OutOfDate likewise; Revoked
 *    anywhere wins. TD 1.5: a TD whose platform is OutOfDate only because of
 *    its TDX module, while TEE_TCB_SVN_2 (the module it would run after a
 *    relaunch) is at the latest level, gets "relaunch advised".
 *
 * The evaluation needs no crypto and does not judge policy (allowed statuses
 * are the validator's business); it reports every check that ran.
 */
import { bytesEqual, toHex } from "../_bytes.ts";
import { type Check, failed as fail, passed as pass } from "../verdict.ts";
import type { QeIdentity, TcbInfo, TcbLevel, TdxModuleIdentity } from "./collateral.ts";
import type {
  PckExtensions,
  SgxReportBody,
  TcbEvaluation,
  TcbStatus,
  TdReportBody,
} from "./types.ts";

/** What {@link evaluateTcb} needs. */
export interface EvaluateTcbInput {
  /** The quote's TEE (its header's TEE_TYPE). */
  tee: "sgx" | "tdx";
  /** Parsed and verified TCB Info (`DcapCollateralResult.tcbInfo`). */
  tcbInfo: TcbInfo;
  /** Parsed and verified QE Identity (`DcapCollateralResult.qeIdentity`). */
  qeIdentity: QeIdentity;
  /** The PCK certificate's SGX extensions. */
  pck: PckExtensions;
  /** The QE's report from the quote. */
  qeReport: SgxReportBody;
  /** The TD report (TDX quotes; required there). */
  td?: TdReportBody | null;
}

/** The outcome of {@link evaluateTcb}. */
export interface TcbResult {
  /** True when every check passed: the TCB was evaluated and the status is not Revoked. */
  ok: boolean;
  /** The evaluation; null when no status could be given (a mismatch, or no matching level). Set for Revoked. */
  evaluation: TcbEvaluation | null;
  /** Every check that ran, in order. */
  checks: Check[];
}

/**
 * Evaluate the TCB of one quote. See the module comment for the algorithm.
 * Failures are failed checks with `dcap.collateral.id` / `.fmspc` / `.pce_id`
 * (collateral for another TEE or platform), `dcap.tcb.qe_identity`,
 * `dcap.tcb.tdx_module`, `dcap.tcb.not_supported` or `dcap.tcb.revoked`.
 */
export function evaluateTcb(input: EvaluateTcbInput): TcbResult {
  const { tee, tcbInfo, qeIdentity, pck, qeReport } = input;
  const checks: Check[] = [];
  const done = (evaluation: TcbEvaluation | null): TcbResult => ({
    ok: evaluation !== null && checks.every((c) => c.ok),
    evaluation,
    checks,
  });

  // 4.1.2.4.9: TCB Info for this TEE.
  const tcbForTee =
    tee === "tdx" ? tcbInfo.version === 3 && tcbInfo.id === "TDX" : tcbInfo.id === "SGX";
  checks.push(
    tcbForTee
      ? pass("dcap.tcb.tcb_info_id")
      : fail("dcap.tcb.tcb_info_id", "dcap.collateral.id", {
          expected:
            tee === "tdx"
              ? "TDX TCB Info (version 3, id TDX)"
              : "SGX TCB Info (id SGX, or version 2)",
          actual: `TCB Info version ${tcbInfo.version}, id ${tcbInfo.id}`,
        }),
  );
  // 4.1.2.4.10: the collateral is for this platform.
  checks.push(
    pck.fmspc.toLowerCase() === tcbInfo.fmspc
      ? pass("dcap.tcb.fmspc")
      : fail("dcap.tcb.fmspc", "dcap.collateral.fmspc", {
          expected: `TCB Info for FMSPC ${pck.fmspc.toLowerCase()} (the PCK certificate's)`,
          actual: `TCB Info for FMSPC ${tcbInfo.fmspc}`,
        }),
  );
  checks.push(
    pck.pceId.toLowerCase() === tcbInfo.pceId
      ? pass("dcap.tcb.pce_id")
      : fail("dcap.tcb.pce_id", "dcap.collateral.pce_id", {
          expected: `TCB Info for PCE ID ${pck.pceId.toLowerCase()} (the PCK certificate's)`,
          actual: `TCB Info for PCE ID ${tcbInfo.pceId}`,
        }),
  );

  // 4.1.2.4.14–15: the QE Identity, and the QE report against it.
  const wantQe = tee === "tdx" ? "TD_QE" : "QE";
  checks.push(
    qeIdentity.id === wantQe
      ? pass("dcap.tcb.qe_identity_id")
      : fail("dcap.tcb.qe_identity_id", "dcap.collateral.id", {
          expected: `QE Identity id ${wantQe} (${tee.toUpperCase()} quote)`,
          actual: `id ${qeIdentity.id}`,
        }),
  );
  for (const c of qeReportChecks(qeIdentity, qeReport)) checks.push(c);
  const qeLevel = qeIdentity.tcbLevels.find((l) => l.isvSvn <= qeReport.isvSvn) ?? null;
  checks.push(
    qeLevel
      ? pass("dcap.tcb.qe_level")
      : fail("dcap.tcb.qe_level", "dcap.tcb.not_supported", {
          expected: `a QE Identity level with isvsvn ≤ ${qeReport.isvSvn} (the QE's ISVSVN)`,
          actual: `levels ${qeIdentity.tcbLevels.map((l) => l.isvSvn).join(", ")}`,
        }),
  );

  // 4.1.2.4.11: the TDX module.
  let td: TdReportBody | null = null;
  let moduleIdentity: TdxModuleIdentity | null = null;
  if (tee === "tdx") {
    td = input.td ?? null;
    if (!td) {
      checks.push(
        fail("dcap.tcb.tdx_module", "dcap.tcb.tdx_module", {
          expected: "the TD report of the TDX quote",
          actual: "none given: the TDX module and TDX TCB cannot be judged",
        }),
      );
      return done(null);
    }
    // A TCB Info that is not TDX has no module to judge: its id check already failed.
    if (tcbForTee) {
      const r = tdxModuleCheck(tcbInfo, td);
      moduleIdentity = r.identity;
      checks.push(r.check);
    }
  }

  if (!checks.every((c) => c.ok)) return done(null);

  // 4.1.2.4.17: the platform level.
  const teeTcbSvn = td?.teeTcbSvn ?? null;
  const pckSvns = `SGX components [${pck.tcbComponents.join(", ")}], PCESVN ${pck.pceSvn}`;
  let sgxLevel: TcbLevel | null = null;
  let level: TcbLevel | null = null;
  for (const l of tcbInfo.tcbLevels) {
    if (!sgxAtLeast(pck, l)) continue;
    sgxLevel ??= l;
    if (teeTcbSvn === null || tdxAtLeast(teeTcbSvn, l)) {
      level = l;
      break;
    }
  }
  if (!level) {
    checks.push(
      fail("dcap.tcb.level", "dcap.tcb.not_supported", {
        expected: sgxLevel
          ? `a TCB level with TDX components ≤ TEE_TCB_SVN ${toHex(teeTcbSvn!)} (and SGX components and PCESVN ≤ the PCK's)`
          : "a TCB level with SGX components and PCESVN ≤ the PCK certificate's",
        actual: `TCB level not supported: the PCK has ${pckSvns}; none of the ${tcbInfo.tcbLevels.length} levels matches`,
      }),
    );
    return done(null);
  }

  const qeStatus = qeLevel!.tcbStatus;
  let status: TcbStatus;
  let relaunchAdvised = false;
  let module: { status: TcbStatus; advisoryIds: string[] } | null = null;
  if (td) {
    // TdxModuleCheck.cpp checkTdxModuleTcbStatus: version 0 is judged by the platform level alone.
    const version = td.teeTcbSvn[1]!;
    if (version === 0) {
      module = { status: "UpToDate", advisoryIds: [] };
    } else {
      const ml = moduleIdentity!.tcbLevels.find((l) => l.isvSvn <= td!.teeTcbSvn[0]!);
      if (!ml) {
        checks.push(
          fail("dcap.tcb.level", "dcap.tcb.not_supported", {
            expected: `a ${moduleIdentity!.id} level with isvsvn ≤ ${td.teeTcbSvn[0]} (TEE_TCB_SVN[0], the module's SVN)`,
            actual: `TDX module TCB level not supported: levels ${moduleIdentity!.tcbLevels.map((l) => l.isvSvn).join(", ")}`,
          }),
        );
        return done(null);
      }
      module = { status: ml.tcbStatus, advisoryIds: ml.advisoryIds };
    }
    status = converge(level.tcbStatus, module.status);
    if (status !== "Revoked" && td.kind === "td15" && td.teeTcbSvn2) {
      const r = relaunch(
        td.teeTcbSvn2,
        tcbInfo,
        sgxLevel!.tcbStatus,
        status,
        module.status,
        qeStatus,
      );
      if (r.check) {
        checks.push(r.check);
        return done(null);
      }
      relaunchAdvised = r.advised;
    }
    if (status !== "Revoked") status = converge(status, qeStatus);
  } else {
    status = converge(level.tcbStatus, qeStatus);
  }

  const advisoryIds = [
    ...new Set([...level.advisoryIds, ...qeLevel!.advisoryIds, ...(module?.advisoryIds ?? [])]),
  ].sort();
  checks.push(
    status === "Revoked"
      ? fail("dcap.tcb.level", "dcap.tcb.revoked", {
          expected: "a TCB level that is not Revoked",
          actual: `platform ${level.tcbStatus}, QE ${qeStatus}${module ? `, TDX module ${module.status}` : ""} (tcbDate ${level.tcbDate})`,
        })
      : {
          id: "dcap.tcb.level",
          ok: true,
          actual: `${status}${advisoryIds.length ? ` [${advisoryIds.join(", ")}]` : ""}`,
        },
  );
  return done({
    status,
    advisoryIds,
    tcbDate: level.tcbDate,
    relaunchAdvised,
    platform: { status: level.tcbStatus, advisoryIds: level.advisoryIds },
    qe: { status: qeStatus, advisoryIds: qeLevel!.advisoryIds, isvSvn: qeReport.isvSvn },
    tdxModule: module,
  });
}

/** TcbLevelCheck.cpp isCpuSvnHigherOrEqual and the PCESVN test: every SGX SVN ≥ the level's. */
function sgxAtLeast(pck: PckExtensions, l: TcbLevel): boolean {
  for (let i = 0; i < 16; i++) if (pck.tcbComponents[i]! < l.sgxComponents[i]!) return false;
  return pck.pceSvn >= l.pceSvn;
}

/** TcbLevelCheck.cpp isTdxTcbHigherOrEqual: from index 2 when TEE_TCB_SVN[1] > 0 (bytes 0–1 are the module's). */
function tdxAtLeast(teeTcbSvn: Uint8Array, l: TcbLevel): boolean {
  // Only called for TDX TCB Info, whose every level has tdxtcbcomponents (parseTcbInfo).
  const comps = l.tdxComponents!;
  for (let i = teeTcbSvn[1]! > 0 ? 2 : 0; i < 16; i++) if (teeTcbSvn[i]! < comps[i]!) return false;
  return true;
}

/** convergeTcbStatusWithQeTcbStatus and convergeTcbStatusWithTdxModuleStatus: the other part's OutOfDate or Revoked. */
function converge(level: TcbStatus, other: TcbStatus): TcbStatus {
  if (other === "Revoked" || level === "Revoked") return "Revoked";
  if (other === "OutOfDate") {
    if (level === "UpToDate" || level === "SWHardeningNeeded") return "OutOfDate";
    if (level === "ConfigurationNeeded" || level === "ConfigurationAndSWHardeningNeeded")
      return "OutOfDateConfigurationNeeded";
  }
  return level;
}

/**
 * TDRelaunchCheck.cpp checkForRelaunch (TD 1.5): the TD runs an out-of-date
 * module although the platform (SGX) is fine and the module it would get on a
 * relaunch (TEE_TCB_SVN_2) is at the newest level. QVL turns the status into
 * TD_RELAUNCH_ADVISED[_CONFIGURATION_NEEDED]; Donjon keeps the OutOfDate
 * status and sets `relaunchAdvised`. An unknown TEE_TCB_SVN_2 module is a
 * mismatch, as in QVL.
 */
function relaunch(
  svn2: Uint8Array,
  tcbInfo: TcbInfo,
  sgxStatus: TcbStatus,
  tdxStatus: TcbStatus,
  moduleStatus: TcbStatus,
  qeStatus: TcbStatus,
): { advised: boolean; check?: Check } {
  if (qeStatus === "OutOfDate" || qeStatus === "Revoked") return { advised: false };
  if (
    ![
      "UpToDate",
      "SWHardeningNeeded",
      "ConfigurationNeeded",
      "ConfigurationAndSWHardeningNeeded",
    ].includes(sgxStatus)
  )
    return { advised: false };
  if (tdxStatus !== "OutOfDate" && tdxStatus !== "OutOfDateConfigurationNeeded")
    return { advised: false };
  if (moduleStatus !== "OutOfDate") return { advised: false };
  const latest = tcbInfo.tcbLevels[0]!;
  const latestTdx = latest.tdxComponents!;
  if (svn2[1] === 0) return { advised: svn2[0]! >= latestTdx[0]! && svn2[2]! >= latestTdx[2]! };
  const id2 = findModuleIdentity(tcbInfo, svn2[1]!);
  if (!id2) {
    return {
      advised: false,
      check: fail("dcap.tcb.relaunch", "dcap.tcb.tdx_module", {
        expected: `a TDX module identity ${moduleId(svn2[1]!)} for TEE_TCB_SVN_2[1]`,
        actual: `the TCB Info has ${moduleIds(tcbInfo)}`,
      }),
    };
  }
  return { advised: svn2[0]! >= id2.tcbLevels[0]!.isvSvn && svn2[2]! >= latestTdx[2]! };
}

function moduleId(version: number): string {
  return `TDX_${version.toString(16).toUpperCase().padStart(2, "0")}`;
}

function moduleIds(tcbInfo: TcbInfo): string {
  const ids = tcbInfo.tdxModuleIdentities?.map((m) => m.id) ?? [];
  return ids.length ? `identities ${ids.join(", ")}` : "no tdxModuleIdentities";
}

function findModuleIdentity(tcbInfo: TcbInfo, version: number): TdxModuleIdentity | null {
  const id = moduleId(version);
  return tcbInfo.tdxModuleIdentities?.find((m) => m.id === id) ?? null;
}

/** QuoteVerifier.cpp 4.1.2.4.11: MRSIGNERSEAM and SEAMATTRIBUTES against `tdxModule` or the `TDX_%02X` identity. */
function tdxModuleCheck(
  tcbInfo: TcbInfo,
  td: TdReportBody,
): { check: Check; identity: TdxModuleIdentity | null } {
  const version = td.teeTcbSvn[1]!;
  let expected = tcbInfo.tdxModule!;
  let identity: TdxModuleIdentity | null = null;
  let name = "tdxModule";
  if (version > 0) {
    identity = findModuleIdentity(tcbInfo, version);
    if (!identity) {
      return {
        identity,
        check: fail("dcap.tcb.tdx_module", "dcap.tcb.tdx_module", {
          expected: `a TDX module identity ${moduleId(version)} (TEE_TCB_SVN[1] = ${version})`,
          actual: `the TCB Info has ${moduleIds(tcbInfo)}`,
        }),
      };
    }
    expected = identity;
    name = identity.id;
  }
  const problems: string[] = [];
  if (!bytesEqual(td.mrSignerSeam, expected.mrSigner))
    problems.push(`MRSIGNERSEAM ${toHex(td.mrSignerSeam)}, expected ${toHex(expected.mrSigner)}`);
  if (!maskedEqual(td.seamAttributes, expected.attributes, expected.attributesMask))
    problems.push(
      `SEAMATTRIBUTES ${toHex(td.seamAttributes)} & mask ${toHex(expected.attributesMask)} ≠ ${toHex(expected.attributes)}`,
    );
  return {
    identity,
    check: problems.length
      ? fail("dcap.tcb.tdx_module", "dcap.tcb.tdx_module", {
          expected: `the TDX module of the TCB Info's ${name}`,
          actual: problems.join("; "),
        })
      : pass("dcap.tcb.tdx_module"),
  };
}

/** (a & mask) = (b & mask), byte by byte (b is written already masked in Intel's JSON, but mask it anyway). */
function maskedEqual(a: Uint8Array, b: Uint8Array, mask: Uint8Array): boolean {
  // The lengths are the fields' (parseTcbInfo, parseQeIdentity and the quote parser check them).
  for (let i = 0; i < mask.length; i++) if ((a[i]! & mask[i]!) !== (b[i]! & mask[i]!)) return false;
  return true;
}

/** EnclaveReportVerifier.cpp 4.1.2.9.5–8, in REPORT_BODY byte order. Strings are built only for failures. */
function qeReportChecks(id: QeIdentity, qe: SgxReportBody): Check[] {
  const misc = new Uint8Array(4);
  new DataView(misc.buffer).setUint32(0, qe.miscSelect >>> 0, true);
  const masked = (a: Uint8Array, m: Uint8Array) => toHex(a.map((x, i) => x & m[i]!));
  const one = (
    name: string,
    ok: boolean,
    detail: () => { expected: string; actual: string },
  ): Check =>
    ok
      ? pass(`dcap.tcb.qe_identity.${name}`)
      : fail(`dcap.tcb.qe_identity.${name}`, "dcap.tcb.qe_identity", detail());
  return [
    one("miscselect", maskedEqual(misc, id.miscselect, id.miscselectMask), () => ({
      expected: `MISCSELECT & ${toHex(id.miscselectMask)} = ${toHex(id.miscselect)}`,
      actual: masked(misc, id.miscselectMask),
    })),
    one("attributes", maskedEqual(qe.attributes, id.attributes, id.attributesMask), () => ({
      expected: `ATTRIBUTES & ${toHex(id.attributesMask)} = ${toHex(id.attributes)}`,
      actual: masked(qe.attributes, id.attributesMask),
    })),
    one("mrsigner", bytesEqual(qe.mrSigner, id.mrSigner), () => ({
      expected: `MRSIGNER ${toHex(id.mrSigner)}`,
      actual: toHex(qe.mrSigner),
    })),
    one("isvprodid", qe.isvProdId === id.isvProdId, () => ({
      expected: `ISVPRODID ${id.isvProdId}`,
      actual: String(qe.isvProdId),
    })),
  ];
}
