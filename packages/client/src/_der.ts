/**
 * A strict DER TLV walker (X.690 §8.1, with the DER rules of §10): one-byte
 * tags only (every tag in a CRL or certificate is below 31), definite lengths
 * in the minimal form, nothing past the end of the enclosing value. Enough to
 * find the signed bytes and count the parts of a CRL whose fields
 * `@peculiar/x509` reads; it does not interpret values.
 */

/** One TLV: its tag, where it starts, where its content starts and where it ends. */
export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Read the TLV at `at`, which must end by `limit`. @throws {Error} naming the offset and what was wrong. */
export function readTlv(b: Uint8Array, at: number, limit: number = b.length): Tlv {
  if (at + 2 > limit) throw new Error(`truncated at offset ${at}: expected a tag and a length`);
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error(`multi-byte tag at offset ${at}`);
  const first = b[at + 1]!;
  let len: number;
  let contentStart: number;
  if (first < 0x80) {
    len = first;
    contentStart = at + 2;
  } else {
    const n = first & 0x7f;
    // 0x80 is BER's indefinite length; DER forbids it. Four length bytes is 4 GiB.
    if (n === 0 || n > 4)
      throw new Error(`unsupported length form 0x${hex2(first)} at offset ${at}`);
    if (at + 2 + n > limit) throw new Error(`truncated length at offset ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i]!;
    // X.690 §10.1: the fewest length octets.
    if (b[at + 2] === 0 || len < 0x80) throw new Error(`non-minimal length at offset ${at}`);
    contentStart = at + 2 + n;
  }
  const end = contentStart + len;
  if (end > limit) {
    throw new Error(
      `truncated at offset ${at}: the value claims ${len} bytes, ${limit - contentStart} remain`,
    );
  }
  return { tag, start: at, contentStart, end };
}

/** The TLVs that exactly fill `parent`'s content. */
export function children(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let at = parent.contentStart;
  while (at < parent.end) {
    const t = readTlv(b, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** The single TLV that is all of `b`: trailing bytes are refused. */
export function whole(b: Uint8Array): Tlv {
  const t = readTlv(b, 0);
  if (t.end !== b.length) {
    throw new Error(`${b.length - t.end} trailing byte(s) after the DER value (${t.end} bytes)`);
  }
  return t;
}

/** `t`'s content bytes. */
export function content(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.contentStart, t.end);
}

/** `t`'s bytes, tag and length included. */
export function encoded(b: Uint8Array, t: Tlv): Uint8Array {
  return b.subarray(t.start, t.end);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
