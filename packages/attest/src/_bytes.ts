/** Byte helpers for parsers: hex, equality, zero checks, little-endian reads. Internal. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

/** Bytes of a hex string (case-insensitive, even length); `undefined` if it is not hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Whether `a` and `b` hold the same bytes. Not constant-time: compare public values only. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Offsets (absolute, from `base`) of the non-zero bytes of `bytes`. */
export function nonZeroOffsets(bytes: Uint8Array, base = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) out.push(base + i);
  return out;
}

/** `0x1A0` style: upper-case hex with at least `width` digits. */
export function hexOffset(n: number, width = 3): string {
  return `0x${n.toString(16).toUpperCase().padStart(width, "0")}`;
}

/** A copy of `bytes` reversed: little-endian integer bytes to big-endian. */
export function reversed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i]!;
  return out;
}
