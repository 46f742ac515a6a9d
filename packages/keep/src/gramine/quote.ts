/**
 * One SGX quote from Gramine, the way Gramine documents it
 * (Documentation/attestation.rst, "/dev/attestation"; its CI example
 * `attestation/attestation.c` does the same):
 *
 * 1. read `attestation_type` and refuse anything but `dcap` — `none` means the
 *    manifest did not ask for remote attestation, and EPID is retired;
 * 2. write the 64-byte report data to `user_report_data`;
 * 3. read `quote`: Gramine makes a report with that data and has the Quoting
 *    Enclave sign it;
 * 4. check the quote's REPORT_DATA equals what we wrote. `user_report_data` is
 *    one slot per enclave, so another thread of this enclave writing between
 *    our write and our read makes the quote carry *its* data: fail with
 *    `keep.gramine.race` rather than return someone else's evidence.
 *
 * Everything read is bounded and checked before it is returned: Gramine is
 * trusted to implement its interface, but a wrong tree (or a wrong port) must
 * fail clearly, not hand garbage to the Steward.
 */
import { describeError, fail } from "../_io.ts";
import { GRAMINE_ATTESTATION_DIR, type GraminePort } from "./port.ts";

/** `user_report_data` size: SGX REPORT_DATA is 64 bytes. */
export const GRAMINE_REPORT_DATA_SIZE = 64;
/** Largest quote accepted. A DCAP quote v3 with its PCK chain is ~4.7 KiB; Gramine's buffer is 8 KiB. */
export const GRAMINE_QUOTE_MAX = 64 * 1024;
/** Largest `attestation_type` accepted, in bytes (`none`, `epid`, `dcap`). */
const ATTESTATION_TYPE_MAX = 64;
/**
 * SGX quote v3 (LAYOUTS.md §2.1, Intel DCAP "Quote Format"): a 48-byte header,
 * then the 384-byte ISV REPORT_BODY whose REPORT_DATA is at body offset 320.
 */
const QUOTE_V3_REPORT_DATA_OFFSET = 48 + 320;
const QUOTE_V3_SIGNED_SIZE = 48 + 384;

/** Options of `getGramineQuote`. */
export interface GramineQuoteOptions {
  /** Exactly 64 bytes: the report data the quote binds (SGX REPORT_DATA). Required. */
  reportData: Uint8Array;
  /** Gramine's attestation directory. Default `/dev/attestation`. */
  dir?: string;
}

/** What `getGramineQuote` read, checked. */
export interface GramineQuote {
  /** An SGX DCAP quote v3 (1 byte … 64 KiB) whose REPORT_DATA is `reportData`. */
  quote: Uint8Array;
}

/**
 * Ask Gramine for an SGX quote over `reportData`, through `port`.
 *
 * @throws {KeepError} `keep.gramine.options` (reportData not 64 bytes),
 *   `keep.gramine.io` (not under Gramine, or a read or write failed; `cause` is the OS error),
 *   `keep.gramine.attestation_type` (not `dcap`; the message names the manifest key),
 *   `keep.gramine.malformed` (quote empty, over 64 KiB, not a v3 quote, too short),
 *   `keep.gramine.race` (the quote's REPORT_DATA is not what we wrote).
 */
export async function getGramineQuote(
  port: GraminePort,
  options: GramineQuoteOptions,
): Promise<GramineQuote> {
  const { reportData } = options;
  if (!(reportData instanceof Uint8Array) || reportData.length !== GRAMINE_REPORT_DATA_SIZE) {
    const got = reportData instanceof Uint8Array ? `${reportData.length} bytes` : typeof reportData;
    fail(
      "keep.gramine.options",
      `reportData: expected ${GRAMINE_REPORT_DATA_SIZE} bytes, got ${got}`,
    );
  }
  const dir = options.dir ?? GRAMINE_ATTESTATION_DIR;
  const file = (name: string) => `${dir}/${name}`;

  let present: boolean;
  try {
    present = await port.exists(dir);
  } catch (e) {
    fail("keep.gramine.io", `could not look for ${dir}: ${describeError(e)}`, e);
  }
  if (!present) {
    fail(
      "keep.gramine.io",
      `${dir} does not exist: not running under Gramine (start the Keep with gramine-sgx and a manifest from donjon keep manifest --backend sgx)`,
    );
  }

  const read = async (name: string, max: number): Promise<Uint8Array> => {
    let data: Uint8Array;
    try {
      data = await port.readFile(file(name));
    } catch (e) {
      fail("keep.gramine.io", `could not read ${file(name)}: ${describeError(e)}`, e);
    }
    if (!(data instanceof Uint8Array)) fail("keep.gramine.malformed", `${file(name)}: not bytes`);
    if (data.length > max) {
      fail(
        "keep.gramine.malformed",
        `${file(name)}: expected at most ${max} bytes, got ${data.length}`,
      );
    }
    return data;
  };

  const typeText = new TextDecoder().decode(await read("attestation_type", ATTESTATION_TYPE_MAX));
  const type = typeText.trim();
  if (type !== "dcap") {
    fail(
      "keep.gramine.attestation_type",
      `${file("attestation_type")} is ${JSON.stringify(type)}, expected "dcap": set sgx.remote_attestation = "dcap" in the Gramine manifest (donjon keep manifest --backend sgx writes it)${type === "epid" ? "; EPID attestation is retired and Donjon does not verify it" : ""}`,
    );
  }

  try {
    await port.writeFile(file("user_report_data"), reportData);
  } catch (e) {
    fail("keep.gramine.io", `could not write ${file("user_report_data")}: ${describeError(e)}`, e);
  }

  const quote = await read("quote", GRAMINE_QUOTE_MAX);
  if (quote.length === 0) fail("keep.gramine.malformed", `${file("quote")} is empty`);
  if (quote.length < QUOTE_V3_SIGNED_SIZE) {
    fail(
      "keep.gramine.malformed",
      `${file("quote")}: expected at least ${QUOTE_V3_SIGNED_SIZE} bytes (SGX quote v3 header and report body), got ${quote.length}`,
    );
  }
  const version = quote[0]! | (quote[1]! << 8);
  if (version !== 3) {
    fail(
      "keep.gramine.malformed",
      `${file("quote")}: expected an SGX quote version 3, got version ${version}`,
    );
  }
  const got = quote.subarray(QUOTE_V3_REPORT_DATA_OFFSET, QUOTE_V3_REPORT_DATA_OFFSET + 64);
  if (!equal(got, reportData)) {
    fail(
      "keep.gramine.race",
      `${file("quote")} carries REPORT_DATA ${hex(got.subarray(0, 8))}…, expected ${hex(reportData.subarray(0, 8))}… (what we wrote to user_report_data): another writer in this enclave changed it between our write and our read, so the quote is not ours`,
    );
  }
  return { quote };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
