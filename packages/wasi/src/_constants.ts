/**
 * Constants of `wasi_snapshot_preview1`, named and valued as in
 * shared/specs/wasi-preview1/typenames.witx (WASI branch wasi-0.1).
 */

// errno (typenames.witx `$errno`, u16)
export const ESUCCESS = 0;
export const E2BIG = 1;
export const EACCES = 2;
export const EADDRINUSE = 3;
export const EADDRNOTAVAIL = 4;
export const EAFNOSUPPORT = 5;
export const EAGAIN = 6;
export const EALREADY = 7;
export const EBADF = 8;
export const EBADMSG = 9;
export const EBUSY = 10;
export const ECANCELED = 11;
export const ECHILD = 12;
export const ECONNABORTED = 13;
export const ECONNREFUSED = 14;
export const ECONNRESET = 15;
export const EDEADLK = 16;
export const EDESTADDRREQ = 17;
export const EDOM = 18;
export const EDQUOT = 19;
export const EEXIST = 20;
export const EFAULT = 21;
export const EFBIG = 22;
export const EHOSTUNREACH = 23;
export const EIDRM = 24;
export const EILSEQ = 25;
export const EINPROGRESS = 26;
export const EINTR = 27;
export const EINVAL = 28;
export const EIO = 29;
export const EISCONN = 30;
export const EISDIR = 31;
export const ELOOP = 32;
export const EMFILE = 33;
export const EMLINK = 34;
export const EMSGSIZE = 35;
export const EMULTIHOP = 36;
export const ENAMETOOLONG = 37;
export const ENETDOWN = 38;
export const ENETRESET = 39;
export const ENETUNREACH = 40;
export const ENFILE = 41;
export const ENOBUFS = 42;
export const ENODEV = 43;
export const ENOENT = 44;
export const ENOEXEC = 45;
export const ENOLCK = 46;
export const ENOLINK = 47;
export const ENOMEM = 48;
export const ENOMSG = 49;
export const ENOPROTOOPT = 50;
export const ENOSPC = 51;
export const ENOSYS = 52;
export const ENOTCONN = 53;
export const ENOTDIR = 54;
export const ENOTEMPTY = 55;
export const ENOTRECOVERABLE = 56;
export const ENOTSOCK = 57;
export const ENOTSUP = 58;
export const ENOTTY = 59;
export const ENXIO = 60;
export const EOVERFLOW = 61;
export const EOWNERDEAD = 62;
export const EPERM = 63;
export const EPIPE = 64;
export const EPROTO = 65;
export const EPROTONOSUPPORT = 66;
export const EPROTOTYPE = 67;
export const ERANGE = 68;
export const EROFS = 69;
export const ESPIPE = 70;
export const ESRCH = 71;
export const ESTALE = 72;
export const ETIMEDOUT = 73;
export const ETXTBSY = 74;
export const EXDEV = 75;
export const ENOTCAPABLE = 76;

// clockid (u32)
export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;

// filetype (u8)
export const FILETYPE_UNKNOWN = 0;
export const FILETYPE_BLOCK_DEVICE = 1;
export const FILETYPE_CHARACTER_DEVICE = 2;
export const FILETYPE_DIRECTORY = 3;
export const FILETYPE_REGULAR_FILE = 4;
export const FILETYPE_SOCKET_DGRAM = 5;
export const FILETYPE_SOCKET_STREAM = 6;
export const FILETYPE_SYMBOLIC_LINK = 7;

// whence (u8)
export const WHENCE_SET = 0;
export const WHENCE_CUR = 1;
export const WHENCE_END = 2;

// advice (u8)
export const ADVICE_NORMAL = 0;
export const ADVICE_NOREUSE = 5;

// fdflags (u16)
export const FDFLAGS_APPEND = 1 << 0;
export const FDFLAGS_DSYNC = 1 << 1;
export const FDFLAGS_NONBLOCK = 1 << 2;
export const FDFLAGS_RSYNC = 1 << 3;
export const FDFLAGS_SYNC = 1 << 4;
export const FDFLAGS_ALL = 0x1f;

// fstflags (u16)
export const FSTFLAGS_ATIM = 1 << 0;
export const FSTFLAGS_ATIM_NOW = 1 << 1;
export const FSTFLAGS_MTIM = 1 << 2;
export const FSTFLAGS_MTIM_NOW = 1 << 3;

// lookupflags (u32)
export const LOOKUPFLAGS_SYMLINK_FOLLOW = 1 << 0;

// oflags (u16)
export const OFLAGS_CREAT = 1 << 0;
export const OFLAGS_DIRECTORY = 1 << 1;
export const OFLAGS_EXCL = 1 << 2;
export const OFLAGS_TRUNC = 1 << 3;
export const OFLAGS_ALL = 0xf;

// eventtype (u8)
export const EVENTTYPE_CLOCK = 0;
export const EVENTTYPE_FD_READ = 1;
export const EVENTTYPE_FD_WRITE = 2;

// eventrwflags (u16)
export const EVENTRWFLAGS_FD_READWRITE_HANGUP = 1 << 0;

// subclockflags (u16)
export const SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME = 1 << 0;

// preopentype (u8)
export const PREOPENTYPE_DIR = 0;

// sdflags (u8)
export const SDFLAGS_RD = 1 << 0;
export const SDFLAGS_WR = 1 << 1;

// riflags (u16)
export const RIFLAGS_RECV_PEEK = 1 << 0;
export const RIFLAGS_RECV_WAITALL = 1 << 1;

// roflags (u16)
export const ROFLAGS_RECV_DATA_TRUNCATED = 1 << 0;

// rights (u64). Kept as bigint: 29 bits are defined, all fit a double, but the
// ABI passes them as i64 and BigInt keeps the masks exact.
export const RIGHTS_FD_DATASYNC = 1n << 0n;
export const RIGHTS_FD_READ = 1n << 1n;
export const RIGHTS_FD_SEEK = 1n << 2n;
export const RIGHTS_FD_FDSTAT_SET_FLAGS = 1n << 3n;
export const RIGHTS_FD_SYNC = 1n << 4n;
export const RIGHTS_FD_TELL = 1n << 5n;
export const RIGHTS_FD_WRITE = 1n << 6n;
export const RIGHTS_FD_ADVISE = 1n << 7n;
export const RIGHTS_FD_ALLOCATE = 1n << 8n;
export const RIGHTS_PATH_CREATE_DIRECTORY = 1n << 9n;
export const RIGHTS_PATH_CREATE_FILE = 1n << 10n;
export const RIGHTS_PATH_LINK_SOURCE = 1n << 11n;
export const RIGHTS_PATH_LINK_TARGET = 1n << 12n;
export const RIGHTS_PATH_OPEN = 1n << 13n;
export const RIGHTS_FD_READDIR = 1n << 14n;
export const RIGHTS_PATH_READLINK = 1n << 15n;
export const RIGHTS_PATH_RENAME_SOURCE = 1n << 16n;
export const RIGHTS_PATH_RENAME_TARGET = 1n << 17n;
export const RIGHTS_PATH_FILESTAT_GET = 1n << 18n;
export const RIGHTS_PATH_FILESTAT_SET_SIZE = 1n << 19n;
export const RIGHTS_PATH_FILESTAT_SET_TIMES = 1n << 20n;
export const RIGHTS_FD_FILESTAT_GET = 1n << 21n;
export const RIGHTS_FD_FILESTAT_SET_SIZE = 1n << 22n;
export const RIGHTS_FD_FILESTAT_SET_TIMES = 1n << 23n;
export const RIGHTS_PATH_SYMLINK = 1n << 24n;
export const RIGHTS_PATH_REMOVE_DIRECTORY = 1n << 25n;
export const RIGHTS_PATH_UNLINK_FILE = 1n << 26n;
export const RIGHTS_POLL_FD_READWRITE = 1n << 27n;
export const RIGHTS_SOCK_SHUTDOWN = 1n << 28n;
export const RIGHTS_SOCK_ACCEPT = 1n << 29n;
export const RIGHTS_ALL = (1n << 30n) - 1n;

/** Rights that only make sense on a regular file (or stream). */
export const RIGHTS_FILE_BASE =
  RIGHTS_FD_DATASYNC |
  RIGHTS_FD_READ |
  RIGHTS_FD_SEEK |
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_SYNC |
  RIGHTS_FD_TELL |
  RIGHTS_FD_WRITE |
  RIGHTS_FD_ADVISE |
  RIGHTS_FD_ALLOCATE |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_FD_FILESTAT_SET_SIZE |
  RIGHTS_FD_FILESTAT_SET_TIMES |
  RIGHTS_POLL_FD_READWRITE;

/** Rights that only make sense on a directory. */
export const RIGHTS_DIR_BASE =
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_SYNC |
  RIGHTS_FD_DATASYNC |
  RIGHTS_PATH_CREATE_DIRECTORY |
  RIGHTS_PATH_CREATE_FILE |
  RIGHTS_PATH_LINK_SOURCE |
  RIGHTS_PATH_LINK_TARGET |
  RIGHTS_PATH_OPEN |
  RIGHTS_FD_READDIR |
  RIGHTS_PATH_READLINK |
  RIGHTS_PATH_RENAME_SOURCE |
  RIGHTS_PATH_RENAME_TARGET |
  RIGHTS_PATH_FILESTAT_GET |
  RIGHTS_PATH_FILESTAT_SET_SIZE |
  RIGHTS_PATH_FILESTAT_SET_TIMES |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_FD_FILESTAT_SET_TIMES |
  RIGHTS_PATH_SYMLINK |
  RIGHTS_PATH_REMOVE_DIRECTORY |
  RIGHTS_PATH_UNLINK_FILE;

/** Rights a directory passes on to what is opened beneath it. */
export const RIGHTS_DIR_INHERITING = RIGHTS_DIR_BASE | RIGHTS_FILE_BASE;

/** Rights that modify the filesystem; withheld from read-only preopens. */
export const RIGHTS_MUTATING =
  RIGHTS_FD_WRITE |
  RIGHTS_FD_DATASYNC |
  RIGHTS_FD_SYNC |
  RIGHTS_FD_ALLOCATE |
  RIGHTS_FD_FILESTAT_SET_SIZE |
  RIGHTS_FD_FILESTAT_SET_TIMES |
  RIGHTS_PATH_CREATE_DIRECTORY |
  RIGHTS_PATH_CREATE_FILE |
  RIGHTS_PATH_LINK_SOURCE |
  RIGHTS_PATH_LINK_TARGET |
  RIGHTS_PATH_RENAME_SOURCE |
  RIGHTS_PATH_RENAME_TARGET |
  RIGHTS_PATH_FILESTAT_SET_SIZE |
  RIGHTS_PATH_FILESTAT_SET_TIMES |
  RIGHTS_PATH_SYMLINK |
  RIGHTS_PATH_REMOVE_DIRECTORY |
  RIGHTS_PATH_UNLINK_FILE;

/** Rights of a character-device stdio stream. */
export const RIGHTS_TTY_BASE =
  RIGHTS_FD_READ |
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_WRITE |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_POLL_FD_READWRITE;

/**
 * Rights of a connected stream socket: read, write, poll, shut down, and the
 * fd calls every stream has. Legacy wasi-common granted a preopened socket
 * READ | WRITE | FDSTAT_SET_FLAGS | FILESTAT_GET | POLL_READWRITE; SOCK_SHUTDOWN
 * is added because sock_shutdown is meaningful on a connection.
 */
export const RIGHTS_SOCKET_CONNECTION =
  RIGHTS_FD_READ |
  RIGHTS_FD_WRITE |
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_POLL_FD_READWRITE |
  RIGHTS_SOCK_SHUTDOWN;

/** Rights of a listening socket: accept, poll (a waiting connection is "read"), flags, stat. */
export const RIGHTS_SOCKET_LISTENER =
  RIGHTS_SOCK_ACCEPT |
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_POLL_FD_READWRITE;
