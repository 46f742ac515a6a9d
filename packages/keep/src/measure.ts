/**
 * The sandbox Keep's runtime measurement: what code the Keep runs, as the
 * Keep itself reads it. The measurement is SHA-384 of a manifest in
 * `sha256sum` format — one line `HEX  PATH\n` per file, sorted by path, paths
 * relative to the repository root — so anyone can recompute it with
 * coreutils:
 *
 *   (cd ROOT && find packages/{attest,keep,wasi}/src packages/{attest,keep,wasi}/package.json \
 *      -type f ! -name '*.test.ts' | LC_ALL=C sort | xargs sha256sum) | sha384sum
 *
 * The set is the three packages the Keep loads (attest, keep, wasi), their
 * sources without tests. Node itself is named by version in the manifest's
 * last line (`node VERSION`), not hashed: hashing a 100 MB binary at every
 * start would cost more than the whole start.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const RUNTIME_PACKAGES = ["attest", "keep", "wasi"] as const;

/** The manifest text for the repository at `root`. */
export function runtimeManifest(root: string, nodeVersion: string): string {
  const files: string[] = [];
  for (const pkg of RUNTIME_PACKAGES) {
    files.push(`packages/${pkg}/package.json`);
    walk(root, `packages/${pkg}/src`, files);
  }
  files.sort();
  // One buffer for every file: ≈ 1 MB of sources read file by file into
  // fresh buffers stayed in the Keep's resident memory (freed only by a GC
  // that comes later, if at all, and not returned to the system then).
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let text = "";
  for (const f of files) {
    text += `${sha256File(path.join(root, f), buf)}  ${f}\n`;
  }
  return `${text}node ${nodeVersion}\n`;
}

/** Bytes read at a time while hashing the runtime's files. */
const READ_CHUNK = 64 * 1024;

/** SHA-256 (hex) of the file at `file`, read through `buf`. */
function sha256File(file: string, buf: Buffer): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) {
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** SHA-384 of the manifest: 48 bytes, the sandbox evidence's runtime_measurement. */
export function runtimeMeasurement(root: string, nodeVersion: string): Uint8Array {
  return new Uint8Array(createHash("sha384").update(runtimeManifest(root, nodeVersion)).digest());
}

function walk(root: string, rel: string, out: string[]): void {
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) walk(root, r, out);
    else if (e.isFile() && !e.name.endsWith(".test.ts")) out.push(r);
  }
}
