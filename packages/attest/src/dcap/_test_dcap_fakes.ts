/**
 * Test-only: a fake quote (testkit `fakeIntel`) and fake collateral (testkit
 * `fakeIntelCollateral`) evaluated end to end by the collateral verifier and
 * `evaluateTcb`, for the tests of collateral.ts and tcb.ts.
 */

import { type FakeIntelOptions, fakeIntel } from "../../../testkit/src/intel.ts";
import {
  type FakeIntelCollateralOptions,
  fakeIntelCollateral,
} from "../../../testkit/src/intel_collateral.ts";
import { parseDcapQuote, parsePckExtensions } from "./abi.ts";
import { createDcapCollateralVerifier, type DcapCollateralVerifyOptions } from "./collateral.ts";
import { evaluateTcb, type TcbResult } from "./tcb.ts";
import type { DcapQuote, PckExtensions, TdReportBody } from "./types.ts";

export interface FakeCase {
  tee?: "sgx" | "tdx";
  intel?: FakeIntelOptions;
  collateral?: FakeIntelCollateralOptions;
  /** Change the parsed TD report before evaluation (TD 1.5 fields, module SVNs). */
  td?: (td: TdReportBody) => TdReportBody;
  /** Change the PCK extensions before evaluation. */
  pck?: (p: PckExtensions) => PckExtensions;
  /** Change the QE report before evaluation. */
  qe?: (q: DcapQuote["qeReport"]) => DcapQuote["qeReport"];
  verify?: Partial<DcapCollateralVerifyOptions>;
}

const quotes = new Map<string, Promise<DcapQuote>>();

/** A fake quote (cached per TEE and fakeIntel options). */
export function fakeQuote(tee: "sgx" | "tdx", intel: FakeIntelOptions = {}): Promise<DcapQuote> {
  const key = `${tee}:${JSON.stringify(intel, (_k, v) => (v instanceof Uint8Array ? [...v] : v))}`;
  let q = quotes.get(key);
  if (!q) {
    q = (async () => {
      const fi = await fakeIntel(intel);
      const raw =
        tee === "sgx"
          ? await fi.sgxQuote({ reportData: new Uint8Array(64) })
          : await fi.tdxQuote({ reportData: new Uint8Array(64) });
      return parseDcapQuote(raw);
    })();
    quotes.set(key, q);
  }
  return q;
}

/** Verify fake collateral and evaluate the fake quote's TCB under it. */
export async function runFake(c: FakeCase = {}) {
  const tee = c.tee ?? c.collateral?.tee ?? "sgx";
  const quote = await fakeQuote(tee, c.intel);
  const fake = await fakeIntelCollateral({ tee, ...c.collateral });
  const verifier = createDcapCollateralVerifier({ root: fake.root });
  const pckExt = parsePckExtensions(quote.pckChain[0]!);
  const verified = await verifier.verify(fake.collateral, {
    now: fake.now,
    pckCa: quote.pckChain[1]!,
    pckCaKind: pckExt.ca,
    ...c.verify,
  });
  let tcb: TcbResult | null = null;
  if (verified.tcbInfo && verified.qeIdentity) {
    const td = quote.body.tee === "tdx" ? quote.body.report : null;
    tcb = evaluateTcb({
      tee,
      tcbInfo: verified.tcbInfo,
      qeIdentity: verified.qeIdentity,
      pck: c.pck ? c.pck(pckExt) : pckExt,
      qeReport: c.qe ? c.qe(quote.qeReport) : quote.qeReport,
      td: td && c.td ? c.td(td) : td,
    });
  }
  const revocation = verifier.pckRevocationChecks(verified, {
    pck: quote.pckChain[0]!,
    pckCa: quote.pckChain[1]!,
  });
  return { quote, fake, verified, tcb, revocation, verifier };
}

/** The failed checks as [id, code] pairs. */
export function failures(
  checks: readonly { id: string; ok: boolean; code?: string }[],
): [string, string | undefined][] {
  return checks.filter((c) => !c.ok).map((c) => [c.id, c.code]);
}
