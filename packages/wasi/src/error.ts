/**
 * Errors of @donjon/wasi.
 *
 * `WasiError` is the one error class of the package boundary: the embedder
 * gets it for a bad option, an unusable module or a misuse of the host.
 * `FsError` is different in kind: it is how a filesystem implementation says
 * "this call fails with this WASI errno"; the host turns it into the errno the
 * guest sees and it never reaches the embedder.
 */

export type WasiErrorCode =
  /** An option passed to `new Wasi()` is invalid. */
  | "INVALID_OPTIONS"
  /** The instance does not export what a WASI command must (`memory`, `_start`). */
  | "INVALID_MODULE"
  /** `start()` was called twice on one host. */
  | "ALREADY_STARTED";

export class WasiError extends Error {
  readonly code: WasiErrorCode;
  constructor(code: WasiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WasiError";
    this.code = code;
  }
}

/** A WASI errno raised by a filesystem or stream implementation. */
export class FsError extends Error {
  readonly errno: number;
  constructor(errno: number, message?: string) {
    super(message ?? `wasi errno ${errno}`);
    this.name = "FsError";
    this.errno = errno;
  }
}
