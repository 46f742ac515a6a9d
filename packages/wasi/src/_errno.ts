/**
 * The one place where host failures become WASI errno values. Every syscall
 * goes through `errnoOf` on failure, so no host exception ever reaches the
 * guest as a JS exception.
 */
import * as E from "./_constants.ts";
import { FsError } from "./error.ts";

/** Node/libuv error codes (`err.code`) to WASI errno. */
const HOST: Record<string, number> = {
  E2BIG: E.E2BIG,
  EACCES: E.EACCES,
  EADDRINUSE: E.EADDRINUSE,
  EADDRNOTAVAIL: E.EADDRNOTAVAIL,
  EAFNOSUPPORT: E.EAFNOSUPPORT,
  EAGAIN: E.EAGAIN,
  EALREADY: E.EALREADY,
  EBADF: E.EBADF,
  EBUSY: E.EBUSY,
  ECANCELED: E.ECANCELED,
  ECONNABORTED: E.ECONNABORTED,
  ECONNREFUSED: E.ECONNREFUSED,
  ECONNRESET: E.ECONNRESET,
  EDQUOT: E.EDQUOT,
  EEXIST: E.EEXIST,
  EFAULT: E.EFAULT,
  EFBIG: E.EFBIG,
  EHOSTUNREACH: E.EHOSTUNREACH,
  EILSEQ: E.EILSEQ,
  EINTR: E.EINTR,
  EINVAL: E.EINVAL,
  EIO: E.EIO,
  EISCONN: E.EISCONN,
  EISDIR: E.EISDIR,
  ELOOP: E.ELOOP,
  EMFILE: E.EMFILE,
  EMLINK: E.EMLINK,
  EMSGSIZE: E.EMSGSIZE,
  ENAMETOOLONG: E.ENAMETOOLONG,
  ENETDOWN: E.ENETDOWN,
  ENETUNREACH: E.ENETUNREACH,
  ENFILE: E.ENFILE,
  ENOBUFS: E.ENOBUFS,
  ENODEV: E.ENODEV,
  ENOENT: E.ENOENT,
  ENOMEM: E.ENOMEM,
  ENOSPC: E.ENOSPC,
  ENOSYS: E.ENOSYS,
  ENOTCONN: E.ENOTCONN,
  ENOTDIR: E.ENOTDIR,
  ENOTEMPTY: E.ENOTEMPTY,
  ENOTSOCK: E.ENOTSOCK,
  ENOTSUP: E.ENOTSUP,
  EOPNOTSUPP: E.ENOTSUP,
  ENOTTY: E.ENOTTY,
  ENXIO: E.ENXIO,
  EOVERFLOW: E.EOVERFLOW,
  EPERM: E.EPERM,
  EPIPE: E.EPIPE,
  EPROTO: E.EPROTO,
  ERANGE: E.ERANGE,
  EROFS: E.EROFS,
  ESPIPE: E.ESPIPE,
  ESRCH: E.ESRCH,
  ESTALE: E.ESTALE,
  ETIMEDOUT: E.ETIMEDOUT,
  ETXTBSY: E.ETXTBSY,
  EXDEV: E.EXDEV,
  // Node's permission model refused the operation. In a sandbox Keep this is
  // how a relative symlink target ends (Node forbids creating them there).
  ERR_ACCESS_DENIED: E.EPERM,
};

/** The WASI errno for anything thrown while serving a syscall. */
export function errnoOf(e: unknown): number {
  if (e instanceof FsError) return e.errno;
  if (e instanceof RangeError) return E.EFAULT; // a guest pointer outside linear memory
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string") return HOST[code] ?? E.EIO;
  return E.EIO;
}

/** Throw `errno` as an FsError. */
export function fail(errno: number, message?: string): never {
  throw new FsError(errno, message);
}
