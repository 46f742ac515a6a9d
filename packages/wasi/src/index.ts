/**
 * @donjon/wasi — a WASI preview1 host. Public surface; see README.md.
 */
export * as constants from "./_constants.ts";
export { nullStream, type StreamFunctions, streamHandle } from "./_streams.ts";
export { FsError, WasiError, type WasiErrorCode } from "./error.ts";
export type { DirEntry, DirHandle, Filesystem, Handle, OpenFlags, Stat, TimeSpec } from "./fs.ts";
export { MemoryFs } from "./memfs.ts";
export {
  type Clock,
  ExitStatus,
  type Preopen,
  systemClock,
  WASI_IMPORTS,
  Wasi,
  type WasiOptions,
} from "./wasi.ts";
