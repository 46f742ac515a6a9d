/**
 * A fake configfs-tsm report subsystem (Linux Documentation/ABI/testing/configfs-tsm)
 * in memory, with the five methods of `@donjon/keep`'s `TsmPort` (typed here
 * structurally: the testkit does not import keep). Like go-configfs-tsm
 * `faketsm`, but its `sev_guest` outblob is a real-format SNP report from
 * `fakeSnp`, REPORT_DATA = the inblob, signed by the fake AMD hierarchy, and its
 * auxblob is the GHCB certificate table holding that hierarchy's ARK, ASK and VCEK.
 *
 * Its `tdx_guest` outblob is a real-format TDX quote v4 from `fakeIntel`,
 * REPORTDATA = the inblob, signed by the fake Intel hierarchy's QE, and its
 * auxblob is empty, as the kernel leaves it for TDX (the PCK chain travels in
 * the quote).
 *
 * Kernel behaviour imitated: `mkdir` makes an entry with its attributes;
 * `generation` counts the writes to `inblob` and `privlevel`; `outblob` and
 * `auxblob` are generated on first read after a write and cached for that
 * generation; `inblob` takes at most 64 bytes (shorter is zero-padded);
 * `privlevel` takes 0–3 and not below `privlevel_floor`; `provider` names the
 * driver; `rmdir` of the entry removes it. Options simulate what the kernel
 * or another writer can do to a caller: a concurrent writer, a missing or
 * unknown provider, failing operations, altered blobs.
 *
 * Pure: no `node:*` imports.
 */
import {
  type FakeIntel,
  type FakeIntelOptions,
  type FakeTdxQuoteFields,
  fakeIntel,
} from "./intel.ts";
import { type FakeSnp, type FakeSnpOptions, fakeSnp } from "./snp.ts";

/** GUIDs of the GHCB certificate table (AMD pub. 56421 §4.1.8.1; as go-sev-guest `abi`). */
export const FAKE_CERT_GUIDS = {
  ark: "c0b406a4-a803-4952-9743-3fb6014cd0ae",
  ask: "4ab7b379-bbac-4fe4-a02f-05aef327c782",
  vcek: "63da758d-e664-4564-adc5-f4b93be8accd",
  vlek: "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
} as const;

/** An attribute of a fake report entry. */
export type FakeTsmAttribute =
  | "inblob"
  | "outblob"
  | "auxblob"
  | "provider"
  | "generation"
  | "privlevel"
  | "privlevel_floor";

/** Options of `fakeTsm`. Every field is optional. */
export interface FakeTsmOptions {
  /**
   * What `provider` reads (without the newline the fake appends). Default
   * `sev_guest`. `null`: the attribute is missing (reading it fails with ENOENT).
   * `tdx_guest` serves a TDX quote v4 from `fakeIntel` and an empty auxblob; any
   * other provider serves a placeholder outblob (ASCII text then the report data,
   * not evidence) and an empty auxblob.
   */
  provider?: string | null;
  /** Options of the `fakeIntel` behind each `tdx_guest` outblob. */
  intel?: FakeIntelOptions;
  /** TD quote body fields of each `tdx_guest` outblob; its REPORTDATA is always the inblob. */
  tdx?: Omit<FakeTdxQuoteFields, "reportData">;
  /** Options of the `fakeSnp` that builds each `sev_guest` outblob; its REPORT_DATA is always the inblob and its VMPL the privlevel. */
  snp?: FakeSnpOptions;
  /** The report directory. Default `/sys/kernel/config/tsm/report`. */
  dir?: string;
  /** `privlevel_floor`. Default 0. */
  privlevelFloor?: number;
  /** Serve an empty auxblob (the host installed no certificates). Default false. */
  noCertificates?: boolean;
  /**
   * Another writer: after the caller's `afterWrites`-th write (default 1) to an
   * entry, it writes its own `inblob` (default 64 × 0xEE) to the same entry,
   * advancing `generation` — the race configfs-tsm's generation exists to reveal.
   */
  concurrentWriter?: { afterWrites?: number; inblob?: Uint8Array };
  /** Make operations fail with an errno-style `code` (e.g. `EIO`). */
  fail?: {
    mkdir?: string;
    remove?: string;
    read?: Partial<Record<FakeTsmAttribute, string>>;
    write?: Partial<Record<FakeTsmAttribute, string>>;
  };
  /** Alter what a read returns: the real bytes in, the served bytes out (oversized, truncated, garbage). */
  tamper?: Partial<
    Record<"outblob" | "auxblob" | "generation" | "provider", (real: Uint8Array) => Uint8Array>
  >;
}

/** The fake: the port's five methods plus what a test wants to look at. */
export interface FakeTsm {
  mkdirTemp(dir: string, pattern: string): Promise<string>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  removeAll(path: string): Promise<void>;
  readDir(path: string): Promise<string[]>;
  /** Paths of the entries that exist now, sorted. */
  entries(): string[];
  /** Paths of every entry ever created, in order. */
  readonly created: string[];
  /** Paths of every entry removed, in order. */
  readonly removed: string[];
  /** The `fakeSnp` result behind the last `sev_guest` outblob/auxblob (roots, now, CRL for verification); null before. */
  readonly lastSnp: FakeSnp | null;
  /** The `fakeIntel` behind the last `tdx_guest` outblob (its root to pin, `now`); null before. */
  readonly lastIntel: FakeIntel | null;
}

interface Entry {
  inblob: Uint8Array | null;
  /** null until written: the fake then leaves VMPL to `options.snp`. */
  privlevel: number | null;
  generation: number;
  writes: number;
  built: { generation: number; outblob: Uint8Array; auxblob: Uint8Array } | null;
}

const ATTRIBUTES: readonly FakeTsmAttribute[] = [
  "auxblob",
  "generation",
  "inblob",
  "outblob",
  "privlevel",
  "privlevel_floor",
  "provider",
];

/** An Error with an errno-style code, as node:fs rejects. */
function osError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

const text = (s: string) => new TextEncoder().encode(s);

/** Build a fake configfs-tsm report subsystem. */
export function fakeTsm(options: FakeTsmOptions = {}): FakeTsm {
  const dir = options.dir ?? "/sys/kernel/config/tsm/report";
  const provider = options.provider === undefined ? "sev_guest" : options.provider;
  const floor = options.privlevelFloor ?? 0;
  const entries = new Map<string, Entry>();
  const created: string[] = [];
  const removed: string[] = [];
  let lastSnp: FakeSnp | null = null;
  let lastIntel: FakeIntel | null = null;
  let counter = 0;

  const lookup = (path: string): { name: string; entry: Entry; attr: string | null } => {
    if (!path.startsWith(`${dir}/`)) throw osError("ENOENT", `${path} is not under ${dir}`);
    const [name, attr, ...rest] = path.slice(dir.length + 1).split("/");
    const entry = entries.get(name!);
    if (!entry || rest.length > 0) throw osError("ENOENT", path);
    if (attr !== undefined && !(ATTRIBUTES as readonly string[]).includes(attr)) {
      throw osError("ENOENT", path);
    }
    if (attr === "provider" && provider === null) throw osError("ENOENT", path);
    return { name: name!, entry, attr: attr ?? null };
  };

  const build = async (entry: Entry) => {
    if (entry.built?.generation === entry.generation) return entry.built;
    if (entry.inblob === null) throw osError("EINVAL", "outblob: no inblob written");
    const reportData = new Uint8Array(64);
    reportData.set(entry.inblob);
    let outblob: Uint8Array;
    let auxblob: Uint8Array;
    if (provider === "sev_guest") {
      const snp = await fakeSnp({
        ...options.snp,
        report: {
          ...options.snp?.report,
          reportData,
          ...(entry.privlevel === null ? {} : { vmpl: entry.privlevel }),
        },
      });
      lastSnp = snp;
      outblob = snp.report;
      auxblob = options.noCertificates ? new Uint8Array(0) : fakeSnpCertTable(certsOf(snp));
    } else if (provider === "tdx_guest") {
      lastIntel = await fakeIntel(options.intel);
      outblob = await lastIntel.tdxQuote({ ...options.tdx, reportData });
      // The kernel's tdx-guest driver has no auxblob: the PCK chain is inside the quote.
      auxblob = new Uint8Array(0);
    } else {
      outblob = new Uint8Array([...text("donjon fake tsm outblob (not a quote)\n"), ...reportData]);
      auxblob = new Uint8Array(0);
    }
    entry.built = { generation: entry.generation, outblob, auxblob };
    return entry.built;
  };

  const failing = (kind: "read" | "write", attr: string, path: string) => {
    const code = options.fail?.[kind]?.[attr as FakeTsmAttribute];
    if (code) throw osError(code, `${kind} ${path}`);
  };

  const served = (attr: string, real: Uint8Array): Uint8Array => {
    const f = options.tamper?.[attr as "outblob"];
    return f ? f(real) : real;
  };

  return {
    async mkdirTemp(parent, pattern) {
      if (parent !== dir) throw osError("ENOENT", `${parent}: not the report directory ${dir}`);
      if (options.fail?.mkdir) throw osError(options.fail.mkdir, `mkdir in ${parent}`);
      counter++;
      const name = `${pattern}${counter.toString(16).padStart(8, "0")}`;
      entries.set(name, { inblob: null, privlevel: null, generation: 0, writes: 0, built: null });
      const path = `${dir}/${name}`;
      created.push(path);
      return path;
    },

    async readFile(path) {
      const { entry, attr } = lookup(path);
      if (attr === null) throw osError("EISDIR", path);
      failing("read", attr, path);
      switch (attr) {
        case "generation":
          return served(attr, text(`${entry.generation}\n`));
        case "provider":
          return served(attr, text(`${provider}\n`));
        case "privlevel_floor":
          return text(`${floor}\n`);
        case "outblob":
          return served(attr, (await build(entry)).outblob.slice());
        case "auxblob":
          return served(attr, (await build(entry)).auxblob.slice());
        default:
          // inblob and privlevel are write-only.
          throw osError("EACCES", path);
      }
    },

    async writeFile(path, data) {
      const { entry, attr } = lookup(path);
      if (attr === null) throw osError("EISDIR", path);
      failing("write", attr, path);
      if (attr === "inblob") {
        if (data.length > 64) throw osError("EINVAL", `inblob: ${data.length} bytes, at most 64`);
        entry.inblob = data.slice();
      } else if (attr === "privlevel") {
        const m = /^([0-3])\n?$/.exec(new TextDecoder().decode(data));
        const level = m ? Number(m[1]) : Number.NaN;
        if (!(level >= floor)) throw osError("EINVAL", `privlevel: expected ${floor}–3`);
        entry.privlevel = level;
      } else {
        throw osError("EACCES", path);
      }
      entry.generation++;
      entry.writes++;
      const other = options.concurrentWriter;
      if (other && entry.writes === (other.afterWrites ?? 1)) {
        entry.inblob = (other.inblob ?? new Uint8Array(64).fill(0xee)).slice();
        entry.generation++;
      }
    },

    async removeAll(path) {
      const { name, attr } = lookup(path);
      if (attr !== null) throw osError("ENOTDIR", path);
      if (options.fail?.remove) throw osError(options.fail.remove, `rmdir ${path}`);
      entries.delete(name);
      removed.push(path);
    },

    async readDir(path) {
      if (path === dir) return [...entries.keys()].sort();
      const { attr } = lookup(path);
      if (attr !== null) throw osError("ENOTDIR", path);
      return ATTRIBUTES.filter((a) => a !== "provider" || provider !== null);
    },

    entries: () => [...entries.keys()].sort().map((n) => `${dir}/${n}`),
    created,
    removed,
    get lastSnp() {
      return lastSnp;
    },
    get lastIntel() {
      return lastIntel;
    },
  };
}

/** The certificates a host would install for this evidence: ARK, ASK (VCEK signer) and the VCEK or VLEK. */
function certsOf(snp: FakeSnp): { guid: string; data: Uint8Array }[] {
  const out: { guid: string; data: Uint8Array }[] = [{ guid: FAKE_CERT_GUIDS.ark, data: snp.ark }];
  if (snp.vcek)
    out.push(
      { guid: FAKE_CERT_GUIDS.ask, data: snp.ask },
      { guid: FAKE_CERT_GUIDS.vcek, data: snp.vcek },
    );
  if (snp.vlek) out.push({ guid: FAKE_CERT_GUIDS.vlek, data: snp.vlek });
  return out;
}

/**
 * Encode a GHCB certificate table: 24-byte entries {GUID (RFC 4122 byte
 * order), offset u32 LE, length u32 LE}, an all-zero terminator, then the
 * certificates back to back, offsets from the start of the table.
 */
export function fakeSnpCertTable(certs: readonly { guid: string; data: Uint8Array }[]): Uint8Array {
  const header = (certs.length + 1) * 24;
  const size = certs.reduce((n, c) => n + c.data.length, header);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = header;
  certs.forEach((c, i) => {
    const hex = c.guid.replaceAll("-", "");
    for (let j = 0; j < 16; j++) out[i * 24 + j] = Number.parseInt(hex.slice(2 * j, 2 * j + 2), 16);
    view.setUint32(i * 24 + 16, at, true);
    view.setUint32(i * 24 + 20, c.data.length, true);
    out.set(c.data, at);
    at += c.data.length;
  });
  return out;
}
