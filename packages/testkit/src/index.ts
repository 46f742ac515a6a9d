/**
 * @donjon/testkit — fakes for tests. Public surface.
 * Pure: WebCrypto only, no `node:*` imports.
 */
export type { TestkitCode } from "./error.ts";
export { TestkitError } from "./error.ts";
export type { FakeGramine, FakeGramineFile, FakeGramineOptions } from "./fakegramine.ts";
export { fakeGramine } from "./fakegramine.ts";
export type { FakeTsm, FakeTsmAttribute, FakeTsmOptions } from "./faketsm.ts";
export { FAKE_CERT_GUIDS, fakeSnpCertTable, fakeTsm } from "./faketsm.ts";
export type {
  FakeIntel,
  FakeIntelOptions,
  FakeSgxQuoteFields,
  FakeTdxQuoteFields,
} from "./intel.ts";
export {
  fakeIntel,
  QUOTE_HEADER_SIZE,
  SGX_QUOTE_REPORT_DATA_OFFSET,
  SGX_REPORT_BODY_SIZE,
  TD_QUOTE_BODY_SIZE,
  TDX_QUOTE_REPORT_DATA_OFFSET,
} from "./intel.ts";
export type {
  FakeIdentityLevel,
  FakeIntelCollateral,
  FakeIntelCollateralOptions,
  FakeJsonFields,
  FakeTcbLevel,
  FakeTcbStatus,
} from "./intel_collateral.ts";
export { fakeIntelCollateral } from "./intel_collateral.ts";
export type {
  FakeCertOverride,
  FakeCrlOptions,
  FakeExtension,
  FakeFirmwareVersion,
  FakePolicy,
  FakeReportFields,
  FakeRole,
  FakeSigner,
  FakeSnp,
  FakeSnpOptions,
  FakeTcb,
  FakeTcbComponent,
} from "./snp.ts";
export { derIa5, derInteger, fakeSnp } from "./snp.ts";
