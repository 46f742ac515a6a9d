/*
 * Shared helpers for the self-checking WASI test programs in test/wasm/.
 *
 * Output protocol (one line per check, written with a single fd_write so
 * that a trap never leaves half a line behind):
 *
 *   ok <name>[ # <note>]
 *   FAIL <name>: expected <X> got <Y>
 *   # <free text>                      (information only, never a check)
 *   done <passed> passed, <failed> failed
 *
 * Names contain no spaces. The program exits 0 only when every check passed.
 */
#ifndef DONJON_TESTLIB_H
#define DONJON_TESTLIB_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

/* Not every program uses every helper. */
#pragma clang diagnostic ignored "-Wunused-function"

static int t_passed;
static int t_failed;

/* ---------------------------------------------------------------- output */

static void t_write_all(__wasi_fd_t fd, const char *buf, size_t len) {
  while (len > 0) {
    __wasi_ciovec_t iov = {(const uint8_t *)buf, len};
    __wasi_size_t n = 0;
    if (__wasi_fd_write(fd, &iov, 1, &n) != 0 || n == 0) return;
    buf += n;
    len -= n;
  }
}

static void t_vline(const char *prefix, const char *fmt, va_list ap) {
  char buf[1024];
  size_t n = strlen(prefix);
  memcpy(buf, prefix, n);
  int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  if (m < 0) m = 0;
  n += (size_t)m;
  if (n > sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  t_write_all(1, buf, n);
}

/* An information line ("# ..."); not a check. */
static void t_info(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  t_vline("# ", fmt, ap);
  va_end(ap);
}

static void t_ok(const char *name) {
  t_passed++;
  char buf[300];
  snprintf(buf, sizeof buf, "ok %s\n", name);
  t_write_all(1, buf, strlen(buf));
}

/* "ok <name> # <note>" */
static void t_ok_note(const char *name, const char *fmt, ...) {
  char note[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(note, sizeof note, fmt, ap);
  va_end(ap);
  t_passed++;
  char buf[1000];
  snprintf(buf, sizeof buf, "ok %s # %s\n", name, note);
  t_write_all(1, buf, strlen(buf));
}

/* "FAIL <name>: <message>"; the message should read "expected X got Y". */
static void t_fail(const char *name, const char *fmt, ...) {
  char msg[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  t_failed++;
  char buf[1000];
  snprintf(buf, sizeof buf, "FAIL %s: %s\n", name, msg);
  t_write_all(1, buf, strlen(buf));
}

/* Prints the closing line and returns the exit code to use. */
static int t_done(void) {
  char buf[100];
  snprintf(buf, sizeof buf, "done %d passed, %d failed\n", t_passed, t_failed);
  t_write_all(1, buf, strlen(buf));
  return t_failed == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- errno */

static const char *const t_errno_names[] = {
    "SUCCESS",        "E2BIG",        "EACCES",          "EADDRINUSE",
    "EADDRNOTAVAIL",  "EAFNOSUPPORT", "EAGAIN",          "EALREADY",
    "EBADF",          "EBADMSG",      "EBUSY",           "ECANCELED",
    "ECHILD",         "ECONNABORTED", "ECONNREFUSED",    "ECONNRESET",
    "EDEADLK",        "EDESTADDRREQ", "EDOM",            "EDQUOT",
    "EEXIST",         "EFAULT",       "EFBIG",           "EHOSTUNREACH",
    "EIDRM",          "EILSEQ",       "EINPROGRESS",     "EINTR",
    "EINVAL",         "EIO",          "EISCONN",         "EISDIR",
    "ELOOP",          "EMFILE",       "EMLINK",          "EMSGSIZE",
    "EMULTIHOP",      "ENAMETOOLONG", "ENETDOWN",        "ENETRESET",
    "ENETUNREACH",    "ENFILE",       "ENOBUFS",         "ENODEV",
    "ENOENT",         "ENOEXEC",      "ENOLCK",          "ENOLINK",
    "ENOMEM",         "ENOMSG",       "ENOPROTOOPT",     "ENOSPC",
    "ENOSYS",         "ENOTCONN",     "ENOTDIR",         "ENOTEMPTY",
    "ENOTRECOVERABLE", "ENOTSOCK",    "ENOTSUP",         "ENOTTY",
    "ENXIO",          "EOVERFLOW",    "EOWNERDEAD",      "EPERM",
    "EPIPE",          "EPROTO",       "EPROTONOSUPPORT", "EPROTOTYPE",
    "ERANGE",         "EROFS",        "ESPIPE",          "ESRCH",
    "ESTALE",         "ETIMEDOUT",    "ETXTBSY",         "EXDEV",
    "ENOTCAPABLE",
};

static const char *t_errname(__wasi_errno_t e) {
  static char other[4][24];
  static int slot;
  if (e < sizeof t_errno_names / sizeof t_errno_names[0]) return t_errno_names[e];
  char *s = other[slot++ & 3];
  snprintf(s, sizeof other[0], "errno(%u)", (unsigned)e);
  return s;
}

/* --------------------------------------------------------------- checks */

static int t_expect_errno(const char *name, __wasi_errno_t got, __wasi_errno_t want) {
  if (got == want) {
    t_ok(name);
    return 1;
  }
  t_fail(name, "expected %s got %s", t_errname(want), t_errname(got));
  return 0;
}

/* Accepts either errno; the ok line notes which one the host returned. */
static int t_expect_errno2(const char *name, __wasi_errno_t got, __wasi_errno_t a,
                           __wasi_errno_t b) {
  if (got == a || got == b) {
    t_ok_note(name, "%s", t_errname(got));
    return 1;
  }
  t_fail(name, "expected %s or %s got %s", t_errname(a), t_errname(b), t_errname(got));
  return 0;
}

static int t_expect_ok(const char *name, __wasi_errno_t got) {
  return t_expect_errno(name, got, __WASI_ERRNO_SUCCESS);
}

static int t_expect_u64(const char *name, uint64_t got, uint64_t want) {
  if (got == want) {
    t_ok(name);
    return 1;
  }
  t_fail(name, "expected %llu got %llu", (unsigned long long)want, (unsigned long long)got);
  return 0;
}

/* Generic: on failure, `fmt` must describe "expected X got Y". */
static int t_expect(const char *name, int cond, const char *fmt, ...) {
  if (cond) {
    t_ok(name);
    return 1;
  }
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  t_fail(name, "%s", msg);
  return 0;
}

/* Byte comparison with a readable message. */
static int t_expect_bytes(const char *name, const void *got, size_t got_len, const void *want,
                          size_t want_len) {
  if (got_len == want_len && memcmp(got, want, want_len) == 0) {
    t_ok(name);
    return 1;
  }
  char g[80], w[80];
  size_t gl = got_len < 60 ? got_len : 60, wl = want_len < 60 ? want_len : 60;
  for (size_t i = 0; i < gl; i++) {
    unsigned char c = ((const unsigned char *)got)[i];
    g[i] = (c >= 32 && c < 127) ? (char)c : '.';
  }
  g[gl] = 0;
  for (size_t i = 0; i < wl; i++) {
    unsigned char c = ((const unsigned char *)want)[i];
    w[i] = (c >= 32 && c < 127) ? (char)c : '.';
  }
  w[wl] = 0;
  t_fail(name, "expected %zu bytes \"%s\" got %zu bytes \"%s\"", want_len, w, got_len, g);
  return 0;
}

/* ------------------------------------------------------ raw WASI imports */

/*
 * The <wasi/api.h> wrappers take NUL-terminated strings and call strlen(), so
 * a path with an embedded NUL cannot be passed through them. These raw
 * imports take an explicit (pointer, length) pair, exactly as the ABI does.
 */
#define T_WASI_IMPORT(n) \
  __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__(n)))

T_WASI_IMPORT("path_open")
int32_t t_raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len,
                        int32_t oflags, int64_t rights_base, int64_t rights_inheriting,
                        int32_t fdflags, int32_t fd_out);

T_WASI_IMPORT("path_create_directory")
int32_t t_raw_path_create_directory(int32_t fd, int32_t path, int32_t path_len);

static __wasi_errno_t t_path_open_n(__wasi_fd_t dir, const char *path, size_t len,
                                    __wasi_oflags_t oflags, __wasi_rights_t rights,
                                    __wasi_fd_t *out) {
  return (__wasi_errno_t)t_raw_path_open(
      (int32_t)dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, (int32_t)(intptr_t)path, (int32_t)len,
      oflags, (int64_t)rights, (int64_t)rights, 0, (int32_t)(intptr_t)out);
}

/* ---------------------------------------------------------------- rights */

#define R_FILE_READ                                                                    \
  (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |             \
   __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_ADVISE |                           \
   __WASI_RIGHTS_POLL_FD_READWRITE | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS)

#define R_FILE_WRITE                                                                   \
  (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_SYNC |        \
   __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |                    \
   __WASI_RIGHTS_FD_FILESTAT_SET_TIMES)

#define R_FILE_RW (R_FILE_READ | R_FILE_WRITE)

#define R_DIR                                                                          \
  (__WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |              \
   __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET |                   \
   __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK |  \
   __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |               \
   __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE |            \
   __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_FILESTAT_GET |             \
   __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_PATH_SYMLINK |                  \
   __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_UNLINK_FILE)

/* Read-only directory: what a directory opened beneath a read-only preopen may have. */
#define R_DIR_READ                                                                     \
  (__WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK |  \
   __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_GET)

/* --------------------------------------------------------- fs utilities */

/* Opens `path` beneath `dir`, following symlinks, with the same rights base and inheriting. */
static __wasi_errno_t t_open(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags,
                             __wasi_rights_t rights, __wasi_fdflags_t fdflags,
                             __wasi_fd_t *out) {
  return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, rights, rights,
                          fdflags, out);
}

/* Opens a directory beneath `dir` for listing and path operations. */
static __wasi_errno_t t_open_dir(__wasi_fd_t dir, const char *path, __wasi_fd_t *out) {
  return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path,
                          __WASI_OFLAGS_DIRECTORY, R_DIR, R_DIR | R_FILE_RW, 0, out);
}

/* Writes all of buf at the current position; returns errno. */
static __wasi_errno_t t_write_fd(__wasi_fd_t fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    __wasi_ciovec_t iov = {p, len};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_write(fd, &iov, 1, &n);
    if (e != 0) return e;
    if (n == 0) return __WASI_ERRNO_IO;
    p += n;
    len -= n;
  }
  return 0;
}

/* Reads up to cap bytes from the current position until EOF; *len gets the count. */
static __wasi_errno_t t_read_fd(__wasi_fd_t fd, void *buf, size_t cap, size_t *len) {
  uint8_t *p = buf;
  size_t total = 0;
  while (total < cap) {
    __wasi_iovec_t iov = {p + total, cap - total};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_read(fd, &iov, 1, &n);
    if (e != 0) {
      *len = total;
      return e;
    }
    if (n == 0) break;
    total += n;
  }
  *len = total;
  return 0;
}

/* Creates (or truncates) `path` with the given content. */
static __wasi_errno_t t_create_file(__wasi_fd_t dir, const char *path, const char *content) {
  __wasi_fd_t fd;
  __wasi_errno_t e =
      t_open(dir, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_FILE_RW, 0, &fd);
  if (e != 0) return e;
  e = t_write_fd(fd, content, strlen(content));
  __wasi_errno_t c = __wasi_fd_close(fd);
  return e != 0 ? e : c;
}

/* Reads a whole file (at most cap bytes). */
static __wasi_errno_t t_read_file(__wasi_fd_t dir, const char *path, char *buf, size_t cap,
                                  size_t *len) {
  __wasi_fd_t fd;
  *len = 0;
  __wasi_errno_t e = t_open(dir, path, 0, R_FILE_READ, 0, &fd);
  if (e != 0) return e;
  e = t_read_fd(fd, buf, cap, len);
  __wasi_errno_t c = __wasi_fd_close(fd);
  return e != 0 ? e : c;
}

/* ------------------------------------------------------------- readdir */

#define T_MAX_ENTRIES 256
#define T_NAME_MAX 64

struct t_dirent {
  char name[T_NAME_MAX];
  __wasi_filetype_t type;
  __wasi_dircookie_t next;
  __wasi_inode_t ino;
};

/*
 * Lists a directory with fd_readdir, using a buffer of `bufsize` bytes and
 * resuming from the d_next cookie of the last complete entry, the way
 * wasi-libc's readdir does. Entries whose name does not fit T_NAME_MAX are
 * counted but their names truncated. Returns errno; *count gets the number
 * of entries (including "." and ".."). `calls` (optional) gets the number
 * of fd_readdir calls made.
 */
static __wasi_errno_t t_list_dir(__wasi_fd_t dirfd, size_t bufsize, struct t_dirent *out,
                                 int max, int *count, int *calls) {
  static uint8_t buf[65536];
  if (bufsize > sizeof buf) bufsize = sizeof buf;
  __wasi_dircookie_t cookie = __WASI_DIRCOOKIE_START;
  int n = 0, ncalls = 0;
  for (;;) {
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_fd_readdir(dirfd, buf, bufsize, cookie, &used);
    ncalls++;
    if (e != 0) {
      *count = n;
      if (calls) *calls = ncalls;
      return e;
    }
    if (used > bufsize) {
      *count = n;
      if (calls) *calls = ncalls;
      return __WASI_ERRNO_OVERFLOW;
    }
    size_t off = 0;
    int complete = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t d;
      memcpy(&d, buf + off, sizeof d);
      if (off + sizeof d + d.d_namlen > used) break; /* truncated entry */
      if (n < max) {
        size_t l = d.d_namlen < T_NAME_MAX - 1 ? d.d_namlen : T_NAME_MAX - 1;
        memcpy(out[n].name, buf + off + sizeof d, l);
        out[n].name[l] = 0;
        out[n].type = d.d_type;
        out[n].next = d.d_next;
        out[n].ino = d.d_ino;
      }
      n++;
      complete++;
      cookie = d.d_next;
      off += sizeof d + d.d_namlen;
    }
    if (used < bufsize) break; /* end of directory */
    if (complete == 0) {
      /* The buffer cannot hold even one entry: a caller bug with a tiny buffer. */
      *count = n;
      if (calls) *calls = ncalls;
      return __WASI_ERRNO_NOBUFS;
    }
    if (ncalls > 100000) {
      *count = n;
      if (calls) *calls = ncalls;
      return __WASI_ERRNO_LOOP;
    }
  }
  *count = n;
  if (calls) *calls = ncalls;
  return 0;
}

/* Number of entries other than "." and ".." (or -1 on error). */
static int t_count_entries(__wasi_fd_t dirfd) {
  static struct t_dirent ents[T_MAX_ENTRIES];
  int n = 0;
  if (t_list_dir(dirfd, 4096, ents, T_MAX_ENTRIES, &n, NULL) != 0) return -1;
  int m = 0;
  for (int i = 0; i < n && i < T_MAX_ENTRIES; i++)
    if (strcmp(ents[i].name, ".") != 0 && strcmp(ents[i].name, "..") != 0) m++;
  return m;
}

/* Prints the names present in a directory as information lines. */
static void t_info_listing(__wasi_fd_t dirfd) {
  static struct t_dirent ents[T_MAX_ENTRIES];
  int n = 0;
  if (t_list_dir(dirfd, 4096, ents, T_MAX_ENTRIES, &n, NULL) != 0) return;
  for (int i = 0; i < n && i < T_MAX_ENTRIES; i++)
    if (strcmp(ents[i].name, ".") != 0 && strcmp(ents[i].name, "..") != 0)
      t_info("left behind: %s", ents[i].name);
}

/* ------------------------------------------------------------- preopens */

/*
 * Finds the scratch directory: the preopen named "/scratch", else the first
 * preopened directory. Scans fds from 3 with fd_prestat_get until EBADF, as
 * wasi-libc does. Returns -1 when there is no preopened directory.
 */
static int64_t t_find_scratch(void) {
  int64_t first = -1;
  for (__wasi_fd_t fd = 3; fd < 1024; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) break;
    if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR) continue;
    char name[256];
    size_t len = ps.u.dir.pr_name_len;
    if (len >= sizeof name) continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len) != 0) continue;
    name[len] = 0;
    /* Some hosts count a trailing NUL in pr_name_len. */
    while (len > 0 && name[len - 1] == 0) len--;
    if (first < 0) first = fd;
    if (strcmp(name, "/scratch") == 0) return fd;
  }
  if (first >= 0) t_info("no preopen named /scratch; using fd %lld", (long long)first);
  return first;
}

/* Finds the scratch dir or prints a failure and the closing line. */
static int t_scratch_or_die(__wasi_fd_t *out) {
  int64_t fd = t_find_scratch();
  if (fd < 0) {
    t_fail("scratch.found", "expected a preopened directory got none");
    return 0;
  }
  *out = (__wasi_fd_t)fd;
  return 1;
}

#endif
