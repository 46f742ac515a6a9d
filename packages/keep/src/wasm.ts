/**
 * A small, strict reader of the WebAssembly binary format: just enough to find
 * a module's imports and memories (WebAssembly Core Specification 2.0, §5
 * "Binary Format"), and to rewrite memory limits so that a `--max-memory`
 * limit is enforced by the engine itself (memory.grow returns -1 and malloc
 * returns NULL, instead of the host running out of memory).
 *
 * The engine validates the whole module afterwards; this reader only has to be
 * exact about the parts it reads and must never read past what a length says.
 * Every malformed input is a `KeepError` with code `keep.module.invalid` naming the
 * byte offset.
 */
import { KeepError } from "./error.ts";

/** §5.5.16: the magic `\0asm`. */
const MAGIC = [0x00, 0x61, 0x73, 0x6d] as const;
/** §5.5.16: binary format version 1 (little-endian u32). */
const VERSION = [0x01, 0x00, 0x00, 0x00] as const;
/** Component-model binaries share the magic but carry this version/layer word. */
const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00] as const;

/** §5.5.2 section ids used here. */
const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
/** Highest section id this reader accepts (12 = data count, 13 = tag). */
const SECTION_MAX_ID = 13;

/** §5.5.5 import descriptor kinds. */
const IMPORT_KINDS = ["function", "table", "memory", "global", "tag"] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** A WebAssembly page is 64 KiB (§4.2.8). */
export const PAGE_SIZE = 65536;
/** The most pages a 32-bit memory can have: 4 GiB. */
export const MAX_PAGES_32 = 65536;

/** One import, as `WebAssembly.Module.imports` names it. */
export interface WasmImport {
  module: string;
  name: string;
  kind: ImportKind;
}

/** One memory, defined (memory section) or imported (import section). */
export interface WasmMemory {
  imported: boolean;
  /** Initial size in pages. */
  min: number;
  /** Declared maximum in pages, or null when there is none. */
  max: number | null;
  /** Shared memory (threads proposal, limits flag bit 1). */
  shared: boolean;
  /** 64-bit memory (memory64 proposal, limits flag bit 2). */
  is64: boolean;
  /** Byte range of the encoded limits in the module, for rewriting. */
  limitsStart: number;
  limitsEnd: number;
}

/** A section's id and the byte range of its contents (after id and size). */
interface Section {
  id: number;
  /** Offset of the id byte. */
  start: number;
  contentStart: number;
  end: number;
}

export interface WasmModuleInfo {
  imports: WasmImport[];
  /** Imported memories first, then defined ones: the memory index space order. */
  memories: WasmMemory[];
  sections: Section[];
}

function malformed(offset: number, message: string): KeepError {
  return new KeepError(
    "keep.module.invalid",
    `malformed module at byte 0x${offset.toString(16)}: ${message}`,
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A cursor over `bytes[pos, end)` that refuses to read past `end`. */
class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;
  constructor(bytes: Uint8Array, pos: number, end: number) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  byte(what: string): number {
    if (this.pos >= this.end) throw malformed(this.pos, `unexpected end while reading ${what}`);
    return this.bytes[this.pos++]!;
  }

  /**
   * §5.2.2 unsigned LEB128 of at most `bits` bits. The spec allows padding
   * (wasm-ld pads relocatable fields to 5 bytes), so a non-minimal encoding is
   * valid; what is not: more than ceil(bits/7) bytes, or set bits beyond `bits`
   * in the last byte.
   */
  uleb(bits: 32 | 64, what: string): number {
    const start = this.pos;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0n;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) throw malformed(start, `truncated LEB128 integer (${what})`);
      const b = this.bytes[this.pos++]!;
      if (i === maxBytes - 1) {
        // Last permitted byte: no continuation, and no bits beyond `bits`.
        const unused = bits - 7 * i;
        if (b & 0x80 || b >> unused !== 0) {
          throw malformed(start, `LEB128 integer too long for u${bits} (${what})`);
        }
      }
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (!(b & 0x80)) break;
    }
    if (result > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw malformed(start, `${what} ${result} is too large`);
    }
    return Number(result);
  }

  u32(what: string): number {
    return this.uleb(32, what);
  }

  /** §5.2.2 signed LEB128 of at most 33 bits (a heap type); only skipped. */
  skipS33(what: string): void {
    const start = this.pos;
    for (let i = 0; i < 5; i++) {
      const b = this.byte(what);
      if (!(b & 0x80)) {
        if (i === 4) {
          // 33 bits = 4*7 + 5: the last byte holds 5 bits, its top 2 bits
          // must repeat the sign bit (bit 4).
          const top = b & 0x70;
          if (top !== 0 && top !== 0x70)
            throw malformed(start, `LEB128 integer too long for s33 (${what})`);
        }
        return;
      }
    }
    throw malformed(start, `LEB128 integer too long for s33 (${what})`);
  }

  /** A vector length, refused when it cannot fit in the remaining bytes. */
  count(what: string, minElementSize = 1): number {
    const at = this.pos;
    const n = this.u32(`${what} count`);
    const left = this.end - this.pos;
    if (n * minElementSize > left) {
      throw malformed(at, `${what} count ${n} is larger than the ${left} bytes that remain`);
    }
    return n;
  }

  /** §5.2.4 name: a length-prefixed UTF-8 string. */
  name(what: string): string {
    const at = this.pos;
    const n = this.count(what);
    const s = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8.decode(s);
    } catch {
      throw malformed(at, `${what} is not valid UTF-8`);
    }
  }
}

/**
 * §5.3.4 reference types and §5.3.3 value types, skipped. Covers the MVP,
 * SIMD (v128), and the function-references/GC encodings (`0x63`/`0x64`
 * followed by a heap type, and the one-byte abbreviations 0x69..0x74).
 */
function skipValType(r: Reader): void {
  const at = r.pos;
  const t = r.byte("value type");
  if (t >= 0x7b && t <= 0x7f) return; // v128, f64, f32, i64, i32
  if (t >= 0x69 && t <= 0x74 && t !== 0x6f && t !== 0x70) return; // GC abbreviations
  if (t === 0x6f || t === 0x70) return; // externref, funcref
  if (t === 0x63 || t === 0x64) {
    r.skipS33("heap type");
    return;
  }
  throw malformed(at, `unknown value type 0x${t.toString(16)}`);
}

/** §5.3.7 limits, with the threads (shared) and memory64 flag bits. */
function readLimits(r: Reader, what: "memory" | "table"): Omit<WasmMemory, "imported"> {
  const limitsStart = r.pos;
  const flags = r.byte(`${what} limits`);
  // Bit 0: has maximum; bit 1: shared; bit 2: 64-bit. Anything else (custom
  // page sizes, bit 3) is a proposal this host does not run.
  if (flags & ~0x07)
    throw malformed(limitsStart, `unsupported ${what} limits flags 0x${flags.toString(16)}`);
  const is64 = (flags & 0x04) !== 0;
  const bits = is64 ? 64 : 32;
  const min = r.uleb(bits, `${what} minimum`);
  const max = flags & 0x01 ? r.uleb(bits, `${what} maximum`) : null;
  return { min, max, shared: (flags & 0x02) !== 0, is64, limitsStart, limitsEnd: r.pos };
}

function readImportSection(r: Reader, imports: WasmImport[], memories: WasmMemory[]): void {
  const n = r.count("import", 4);
  for (let i = 0; i < n; i++) {
    const module = r.name("import module name");
    const name = r.name("import name");
    const at = r.pos;
    const kind = r.byte("import kind");
    switch (kind) {
      case 0x00:
        r.u32("type index");
        break;
      case 0x01:
        skipValType(r); // the table's reference type
        readLimits(r, "table");
        break;
      case 0x02:
        memories.push({ imported: true, ...readLimits(r, "memory") });
        break;
      case 0x03: {
        skipValType(r);
        const m = r.byte("global mutability");
        if (m > 1) throw malformed(r.pos - 1, `global mutability must be 0 or 1, got ${m}`);
        break;
      }
      case 0x04: {
        const attr = r.byte("tag attribute");
        if (attr !== 0) throw malformed(r.pos - 1, `tag attribute must be 0, got ${attr}`);
        r.u32("type index");
        break;
      }
      default:
        throw malformed(at, `unknown import kind 0x${kind.toString(16)}`);
    }
    imports.push({ module, name, kind: IMPORT_KINDS[kind]! });
  }
}

function readMemorySection(r: Reader, memories: WasmMemory[]): void {
  const n = r.count("memory", 2);
  for (let i = 0; i < n; i++) memories.push({ imported: false, ...readLimits(r, "memory") });
}

/** Read the module header and section table, and decode imports and memories. */
export function readModule(bytes: Uint8Array): WasmModuleInfo {
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    const found = bytes.length === 0 ? "an empty file" : hex(bytes.subarray(0, 4));
    throw new KeepError(
      "keep.module.invalid",
      `not a WebAssembly module: expected magic 00 61 73 6d, found ${found}`,
    );
  }
  if (bytes.length < 8) {
    throw new KeepError(
      "keep.module.invalid",
      `not a WebAssembly module: ${bytes.length} bytes, shorter than the 8-byte header`,
    );
  }
  const version = bytes.subarray(4, 8);
  if (COMPONENT_VERSION.every((b, i) => version[i] === b)) {
    throw new KeepError(
      "keep.module.invalid",
      "this is a WebAssembly component; donjon runs core modules (WASI preview1)",
    );
  }
  if (!VERSION.every((b, i) => version[i] === b)) {
    throw new KeepError(
      "keep.module.invalid",
      `unsupported WebAssembly version: expected 01 00 00 00, found ${hex(version)}`,
    );
  }
  const imports: WasmImport[] = [];
  const memories: WasmMemory[] = [];
  const defined: WasmMemory[] = [];
  const sections: Section[] = [];
  const r = new Reader(bytes, 8, bytes.length);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte("section id");
    if (id > SECTION_MAX_ID) throw malformed(start, `unknown section id ${id}`);
    const size = r.u32("section size");
    const contentStart = r.pos;
    if (size > bytes.length - contentStart) {
      throw malformed(
        start,
        `section ${id} claims ${size} bytes but only ${bytes.length - contentStart} remain`,
      );
    }
    const end = contentStart + size;
    sections.push({ id, start, contentStart, end });
    const s = new Reader(bytes, contentStart, end);
    if (id === SECTION_IMPORT) readImportSection(s, imports, memories);
    else if (id === SECTION_MEMORY) readMemorySection(s, defined);
    else s.pos = end; // read by the engine, not here
    if (s.pos !== end) {
      throw malformed(s.pos, `section ${id} has ${end - s.pos} trailing bytes`);
    }
    r.pos = end;
  }
  return { imports, memories: [...memories, ...defined], sections };
}

/** Encode an unsigned LEB128, minimally. */
export function encodeUleb(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

/**
 * Return a copy of `bytes` where every 32-bit memory whose maximum is absent
 * or above `maxPages` declares `maxPages` as its maximum. Sizes of the changed
 * sections are re-encoded; everything else is copied byte for byte. The caller
 * has already refused memories whose minimum is above `maxPages`.
 */
export function capMemories(
  bytes: Uint8Array<ArrayBuffer>,
  info: WasmModuleInfo,
  maxPages: number,
): Uint8Array<ArrayBuffer> {
  const patches = info.memories.filter((m) => !m.is64 && (m.max === null || m.max > maxPages));
  if (patches.length === 0) return bytes;
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of info.sections) {
    const mine = patches.filter((p) => p.limitsStart >= s.contentStart && p.limitsEnd <= s.end);
    if (mine.length === 0) {
      parts.push(bytes.subarray(s.start, s.end));
      continue;
    }
    const content: Uint8Array[] = [];
    let at = s.contentStart;
    for (const p of mine) {
      content.push(bytes.subarray(at, p.limitsStart));
      const flags = bytes[p.limitsStart]! | 0x01;
      content.push(Uint8Array.from([flags, ...encodeUleb(p.min), ...encodeUleb(maxPages)]));
      at = p.limitsEnd;
    }
    content.push(bytes.subarray(at, s.end));
    const size = content.reduce((n, c) => n + c.length, 0);
    parts.push(Uint8Array.from([s.id, ...encodeUleb(size)]), ...content);
  }
  const out = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of parts) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}
