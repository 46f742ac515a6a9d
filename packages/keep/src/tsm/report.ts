/**
 * One configfs-tsm attestation report, the way the kernel ABI asks for it
 * (Documentation/ABI/testing/configfs-tsm, Linux ≥ 6.7; go-configfs-tsm
 * `report.GetReport` does the same):
 *
 * 1. `mkdir` a fresh entry under /sys/kernel/config/tsm/report — one entry per
 *    request, so no other process shares it unless it goes looking;
 * 2. read `generation` (it counts the writes to the entry's inputs);
 * 3. read `provider` and refuse one Donjon cannot verify;
 * 4. write the 64-byte `inblob` (REPORT_DATA), then `privlevel` when asked;
 * 5. read `outblob` (the kernel asks the firmware now) and, when asked,
 *    `auxblob` (for `sev_guest`: the certificate table of GHCB MSG_REPORT_REQ);
 * 6. after every read, check `generation` equals the value read in 2 plus our
 *    own writes. Anything else means another writer changed the inputs between
 *    our write and our read, so the outblob may carry *their* REPORT_DATA:
 *    fail with `keep.tsm.race` rather than return someone else's evidence;
 * 7. always remove the entry, whether the steps above succeeded or not.
 *
 * Everything read from the port is bounded and checked before it is returned:
 * the kernel is trusted to implement the ABI, but a wrong tree (or a wrong
 * port) must fail clearly, not hand garbage to the Steward.
 */
import { describeError, fail } from "../_io.ts";
import { KeepError, type KeepErrorCode } from "../error.ts";
import { TSM_REPORT_DIR, type TsmPort } from "./port.ts";

/** `inblob` size: SNP REPORT_DATA and TDX REPORTDATA are both 64 bytes (TSM_INBLOB_MAX). */
export const TSM_INBLOB_SIZE = 64;
/** Largest `outblob`/`auxblob` accepted: the kernel's TSM_OUTBLOB_MAX (32 KiB). */
export const TSM_OUTBLOB_MAX = 32 * 1024;
/** Largest `generation` or `provider` attribute accepted, in bytes. */
const TSM_SMALL_ATTR_MAX = 64;

/** The providers Donjon can verify, as the kernel names them. */
export const TSM_PROVIDERS = ["sev_guest", "tdx_guest"] as const;
/** `sev_guest` (AMD SEV-SNP: outblob is the 1184-byte report) or `tdx_guest` (Intel TDX: outblob is a quote). */
export type TsmProvider = (typeof TSM_PROVIDERS)[number];

/** Options of `getTsmReport`. */
export interface TsmReportOptions {
  /** Exactly 64 bytes: the report data the evidence binds (REPORT_DATA / REPORTDATA). Required. */
  inblob: Uint8Array;
  /**
   * The privilege level to request, 0–3 (SNP: the VMPL). Unset: `privlevel` is
   * not written and the kernel uses its default (the provider's privlevel_floor).
   */
  privlevel?: number;
  /** Read `auxblob` too (the SNP certificate table). Default true. */
  getAuxblob?: boolean;
  /** The configfs-tsm report directory. Default `/sys/kernel/config/tsm/report`. */
  dir?: string;
}

/** What `getTsmReport` read, all of it checked. */
export interface TsmReport {
  provider: TsmProvider;
  /** The evidence: 1 … 32 KiB, format per `provider`. */
  outblob: Uint8Array;
  /** The auxiliary blob (may be empty: no certificates installed by the host); null when not asked for. */
  auxblob: Uint8Array | null;
  /** The entry's final `generation`: the initial value plus our writes. */
  generation: number;
}

/**
 * Ask configfs-tsm for a report over `inblob`, through `port`.
 *
 * @throws {KeepError} `keep.tsm.options` (inblob not 64 bytes, privlevel not 0–3),
 *   `keep.tsm.io` (a port operation failed; `cause` is the OS error),
 *   `keep.tsm.provider` (provider missing, empty or unknown),
 *   `keep.tsm.malformed` (generation not a number, outblob empty, a blob over 32 KiB),
 *   `keep.tsm.race` (generation moved by other than our writes).
 */
export async function getTsmReport(port: TsmPort, options: TsmReportOptions): Promise<TsmReport> {
  const { inblob, privlevel } = options;
  if (!(inblob instanceof Uint8Array) || inblob.length !== TSM_INBLOB_SIZE) {
    const got = inblob instanceof Uint8Array ? `${inblob.length} bytes` : typeof inblob;
    fail("keep.tsm.options", `inblob: expected ${TSM_INBLOB_SIZE} bytes, got ${got}`);
  }
  if (
    privlevel !== undefined &&
    !(Number.isInteger(privlevel) && privlevel >= 0 && privlevel <= 3)
  ) {
    fail("keep.tsm.options", `privlevel: expected an integer 0–3, got ${privlevel}`);
  }
  const getAuxblob = options.getAuxblob ?? true;
  const dir = options.dir ?? TSM_REPORT_DIR;

  let entry: string;
  try {
    entry = await port.mkdirTemp(dir, "donjon-");
  } catch (e) {
    fail(
      "keep.tsm.io",
      `could not create a report entry in ${dir}: ${describeError(e)} (is configfs mounted and a TSM driver loaded? modprobe sev-guest or tdx-guest; see donjon platform info)`,
      e,
    );
  }

  let result: TsmReport | undefined;
  let failure: unknown = null;
  try {
    result = await collect(port, entry, inblob, privlevel, getAuxblob);
  } catch (e) {
    failure = e;
  }
  try {
    await port.removeAll(entry);
  } catch (e) {
    const note = `could not remove report entry ${entry}: ${describeError(e)}`;
    if (failure === null) fail("keep.tsm.io", note, e);
    if (failure instanceof KeepError) {
      // Report the first failure; keep the cleanup failure in the message.
      throw new KeepError(failure.code, `${failure.message} (and ${note})`, {
        cause: failure.cause,
      });
    }
  }
  if (failure !== null) throw failure;
  return result!;
}

async function collect(
  port: TsmPort,
  entry: string,
  inblob: Uint8Array,
  privlevel: number | undefined,
  getAuxblob: boolean,
): Promise<TsmReport> {
  const attr = (name: string) => `${entry}/${name}`;

  const readBounded = async (name: string, max: number, code: KeepErrorCode = "keep.tsm.io") => {
    let data: Uint8Array;
    try {
      data = await port.readFile(attr(name));
    } catch (e) {
      fail(code, `could not read ${attr(name)}: ${describeError(e)}`, e);
    }
    if (!(data instanceof Uint8Array)) fail("keep.tsm.malformed", `${attr(name)}: not bytes`);
    if (data.length > max) {
      fail(
        "keep.tsm.malformed",
        `${attr(name)}: expected at most ${max} bytes, got ${data.length}`,
      );
    }
    return data;
  };

  const readGeneration = async (): Promise<number> => {
    const text = new TextDecoder().decode(await readBounded("generation", TSM_SMALL_ATTR_MAX));
    const m = /^(\d{1,15})\n?$/.exec(text);
    if (!m)
      fail(
        "keep.tsm.malformed",
        `${attr("generation")}: expected a decimal number, got ${JSON.stringify(text)}`,
      );
    return Number(m[1]);
  };

  const initial = await readGeneration();
  let expected = initial;
  const checkGeneration = async (after: string) => {
    const now = await readGeneration();
    if (now !== expected) {
      fail(
        "keep.tsm.race",
        `${attr("generation")} is ${now} after reading ${after}, expected ${expected} (${initial} + our ${expected - initial} writes): another writer changed this report entry, so its evidence may not be ours`,
      );
    }
  };

  const providerText = new TextDecoder().decode(
    await readBounded("provider", TSM_SMALL_ATTR_MAX, "keep.tsm.provider"),
  );
  const provider = providerText.endsWith("\n") ? providerText.slice(0, -1) : providerText;
  if (provider === "") {
    fail(
      "keep.tsm.provider",
      `${attr("provider")} is empty: no TSM provider is bound (modprobe sev-guest or tdx-guest)`,
    );
  }
  if (!(TSM_PROVIDERS as readonly string[]).includes(provider)) {
    fail(
      "keep.tsm.provider",
      `unknown configfs-tsm provider ${JSON.stringify(provider)}: Donjon knows sev_guest (AMD SEV-SNP) and tdx_guest (Intel TDX)`,
    );
  }

  const write = async (name: string, data: Uint8Array) => {
    try {
      await port.writeFile(attr(name), data);
    } catch (e) {
      fail("keep.tsm.io", `could not write ${attr(name)}: ${describeError(e)}`, e);
    }
    expected++;
  };
  await write("inblob", inblob);
  if (privlevel !== undefined) await write("privlevel", new TextEncoder().encode(`${privlevel}\n`));

  const outblob = await readBounded("outblob", TSM_OUTBLOB_MAX);
  if (outblob.length === 0) fail("keep.tsm.malformed", `${attr("outblob")} is empty`);
  await checkGeneration("outblob");

  let auxblob: Uint8Array | null = null;
  if (getAuxblob) {
    auxblob = await readBounded("auxblob", TSM_OUTBLOB_MAX);
    await checkGeneration("auxblob");
  }
  return { provider: provider as TsmProvider, outblob, auxblob, generation: expected };
}
