/**
 * Small pieces the evidence ports share: how an attribute file is read and
 * written (configfs-tsm and Gramine's /dev/attestation both take a value in
 * one write()), and how their failures are thrown and described.
 */
import { KeepError, type KeepErrorCode } from "./error.ts";

// Not `import … from "node:fs"`: see platform_node.ts (startup cost of the ESM namespace).
const fs = process.getBuiltinModule("node:fs");

/** A whole file, as a Uint8Array over the bytes read. */
export async function readWholeFile(p: string): Promise<Uint8Array> {
  const data = await fs.promises.readFile(p);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** One open, one write(): the attribute's store handler sees the value whole. */
export async function writeOnce(p: string, data: Uint8Array): Promise<void> {
  const handle = await fs.promises.open(p, "w");
  try {
    const { bytesWritten } = await handle.write(data, 0, data.length, null);
    if (bytesWritten !== data.length) {
      throw new Error(`short write to ${p}: ${bytesWritten} of ${data.length} bytes`);
    }
  } finally {
    await handle.close();
  }
}

export function fail(code: KeepErrorCode, message: string, cause?: unknown): never {
  throw new KeepError(code, message, cause === undefined ? {} : { cause });
}

/** `ENOENT: no such file…` — an OS error's code and message, or any value's text. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" && !e.message.startsWith(code)
      ? `${code}: ${e.message}`
      : e.message;
  }
  return String(e);
}
