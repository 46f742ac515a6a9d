/**
 * @donjon/testkit — fakes for tests. Public surface.
 * Pure: WebCrypto only, no `node:*` imports.
 */
export type { TestkitCode } from "./error.ts";
export { TestkitError } from "./error.ts";
export type { FakeTsm, FakeTsmAttribute, FakeTsmOptions } from "./faketsm.ts";
export { FAKE_CERT_GUIDS, fakeSnpCertTable, fakeTsm } from "./faketsm.ts";
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
