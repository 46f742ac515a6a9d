/**
 * @donjon/wasi — a WASI preview1 host. Public surface; see README.md.
 *
 * The filesystems are their own entry points (`@donjon/wasi/memfs`,
 * `@donjon/wasi/hostfs`), as is the Node edge (`@donjon/wasi/node`), so an
 * embedder loads only what it uses: each module costs start-up time and
 * memory, and a guest with no directories needs neither filesystem.
 */
export * as constants from "./_constants.ts";
export { nullStream, type StreamFunctions, streamHandle } from "./_streams.ts";
export { FsError, WasiError, type WasiErrorCode } from "./error.ts";
export type { DirEntry, DirHandle, Filesystem, Handle, OpenFlags, Stat, TimeSpec } from "./fs.ts";
export type {
  ConnectionSocket,
  GuestSocket,
  ListenerSocket,
  SocketInterest,
  WasiSockets,
} from "./sockets.ts";
export {
  type Clock,
  ExitStatus,
  type Preopen,
  systemClock,
  WASI_IMPORTS,
  Wasi,
  type WasiOptions,
} from "./wasi.ts";
