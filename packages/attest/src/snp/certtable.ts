/**
 * The SEV-SNP certificate table: what the hypervisor hands the guest beside an
 * extended report (GHCB spec, AMD pub. 56421, §4.1.8.1 MSG_REPORT_REQ
 * "certificate table"), and what Linux configfs-tsm returns as `auxblob` when
 * the provider is `sev_guest` (Documentation/ABI/testing/configfs-tsm).
 *
 * Layout (all offsets relative to the start of the table):
 *
 * | offset | size | field |
 * |---|---|---|
 * | 24·i + 0x00 | 16 | GUID of entry i (RFC 4122 byte order, as `uuid.bytes`) |
 * | 24·i + 0x10 | 4 | OFFSET of the certificate, u32 little-endian |
 * | 24·i + 0x14 | 4 | LENGTH of the certificate, u32 little-endian |
 * | 24·n | 24 | terminator: all zero |
 * | … | … | the certificates (DER), where the entries point |
 *
 * The bytes come from the untrusted hypervisor, so the parser is strict: a
 * terminator is required, every certificate lies after the header and inside the
 * table, none is empty, none overlaps another, no GUID repeats, bytes no entry
 * covers must be zero and nothing may follow the last certificate. Parsing only:
 * the certificates' DER and signatures are checked by `verify.ts` (pass them as
 * `endorsementKey` / `intermediates`, or as collateral files).
 */
import { toHex } from "../_bytes.ts";
import { EvidenceError } from "../error.ts";

/** Size of one table entry: GUID 16 + OFFSET 4 + LENGTH 4. */
export const SNP_CERT_TABLE_ENTRY_SIZE = 24;
/** The largest table accepted: configfs-tsm's TSM_OUTBLOB_MAX (32 KiB) bounds `auxblob`. */
export const SNP_CERT_TABLE_MAX_SIZE = 32 * 1024;
/** The most entries accepted (terminator excluded); AMD defines five roles. */
export const SNP_CERT_TABLE_MAX_ENTRIES = 64;

/** A certificate role the GHCB spec names by GUID. */
export type SnpCertTableRole = "ark" | "ask" | "vcek" | "vlek";

/**
 * GUIDs of the roles (GHCB spec §4.1.8.1; the same constants as go-sev-guest
 * `abi.ArkGUID` …, virtee/sev `CertType`).
 */
export const SNP_CERT_GUIDS: Readonly<Record<SnpCertTableRole, string>> = {
  ark: "c0b406a4-a803-4952-9743-3fb6014cd0ae",
  ask: "4ab7b379-bbac-4fe4-a02f-05aef327c782",
  vcek: "63da758d-e664-4564-adc5-f4b93be8accd",
  vlek: "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
};

/** One entry of a parsed table. */
export interface SnpCertTableEntry {
  /** The GUID, lower-case `8-4-4-4-12`. */
  guid: string;
  /** The role the GUID names, or null for a GUID this parser does not know (kept, not judged). */
  role: SnpCertTableRole | null;
  /** Where the certificate starts in the table. */
  offset: number;
  /** The certificate bytes (a copy). */
  data: Uint8Array;
}

/** A parsed certificate table. */
export interface SnpCertTable {
  /** Every entry, in table order. */
  entries: SnpCertTableEntry[];
  /** The certificate of each known role present. */
  ark: Uint8Array | null;
  ask: Uint8Array | null;
  vcek: Uint8Array | null;
  vlek: Uint8Array | null;
}

const ROLE_BY_GUID = new Map<string, SnpCertTableRole>(
  Object.entries(SNP_CERT_GUIDS).map(([role, guid]) => [guid, role as SnpCertTableRole]),
);

function malformed(message: string): never {
  throw new EvidenceError("snp.certtable.malformed", `SNP certificate table: ${message}`);
}

/** `8-4-4-4-12` lower-case hex of 16 GUID bytes (RFC 4122 byte order). */
function guidString(b: Uint8Array): string {
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Parse a certificate table (the `auxblob` of a `sev_guest` configfs-tsm report).
 *
 * @throws {EvidenceError} `snp.certtable.malformed`, the message naming the entry, offset and problem.
 */
export function parseSnpCertTable(bytes: Uint8Array): SnpCertTable {
  if (bytes.length > SNP_CERT_TABLE_MAX_SIZE) {
    malformed(`expected at most ${SNP_CERT_TABLE_MAX_SIZE} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headers: { guid: string; offset: number; length: number }[] = [];
  let at = 0;
  for (;;) {
    if (at + SNP_CERT_TABLE_ENTRY_SIZE > bytes.length) {
      malformed(
        `no all-zero terminator entry: ${bytes.length} bytes end inside entry ${headers.length} (at 0x${at.toString(16)})`,
      );
    }
    const guidBytes = bytes.subarray(at, at + 16);
    const offset = view.getUint32(at + 0x10, true);
    const length = view.getUint32(at + 0x14, true);
    const nullGuid = guidBytes.every((b) => b === 0);
    if (nullGuid) {
      // The terminator is the all-zero entry; a zero GUID with an offset or a
      // length is neither a terminator nor a certificate.
      if (offset !== 0 || length !== 0) {
        malformed(
          `entry ${headers.length} has a zero GUID but offset ${offset}, length ${length}: expected an all-zero terminator`,
        );
      }
      break;
    }
    if (headers.length === SNP_CERT_TABLE_MAX_ENTRIES) {
      malformed(`more than ${SNP_CERT_TABLE_MAX_ENTRIES} entries`);
    }
    const guid = guidString(guidBytes);
    if (headers.some((h) => h.guid === guid)) malformed(`GUID ${guid} appears twice`);
    headers.push({ guid, offset, length });
    at += SNP_CERT_TABLE_ENTRY_SIZE;
  }
  const headerEnd = at + SNP_CERT_TABLE_ENTRY_SIZE;

  const covered = new Uint8Array(bytes.length);
  covered.fill(1, 0, headerEnd);
  let end = headerEnd;
  const entries: SnpCertTableEntry[] = [];
  headers.forEach((h, i) => {
    const what = `entry ${i} (${h.guid})`;
    if (h.length === 0) malformed(`${what} has length 0`);
    if (h.offset < headerEnd) {
      malformed(
        `${what} points at 0x${h.offset.toString(16)}, inside the ${headerEnd}-byte header`,
      );
    }
    if (h.offset + h.length > bytes.length) {
      malformed(
        `${what} spans ${h.offset}..${h.offset + h.length}, past the end of the ${bytes.length}-byte table`,
      );
    }
    for (let j = h.offset; j < h.offset + h.length; j++) {
      if (covered[j]) malformed(`${what} overlaps another entry at 0x${j.toString(16)}`);
      covered[j] = 1;
    }
    end = Math.max(end, h.offset + h.length);
    entries.push({
      guid: h.guid,
      role: ROLE_BY_GUID.get(h.guid) ?? null,
      offset: h.offset,
      data: bytes.slice(h.offset, h.offset + h.length),
    });
  });
  if (end !== bytes.length) {
    malformed(`${bytes.length - end} trailing bytes after the last certificate (ends at ${end})`);
  }
  for (let j = 0; j < bytes.length; j++) {
    if (!covered[j] && bytes[j] !== 0) {
      malformed(
        `non-zero byte 0x${bytes[j]!.toString(16)} at 0x${j.toString(16)} outside any certificate`,
      );
    }
  }
  const pick = (role: SnpCertTableRole) => entries.find((e) => e.role === role)?.data ?? null;
  return { entries, ark: pick("ark"), ask: pick("ask"), vcek: pick("vcek"), vlek: pick("vlek") };
}
