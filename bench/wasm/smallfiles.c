/*
 * smallfiles: filesystem-call bound. In DIR, writes N files of about 100
 * bytes each (open/write/close), reads every one back and compares it
 * (open/read/close), then unlinks them all. Names are "sf-<index>".
 *
 * Usage: smallfiles [N] [DIR]   (default 20000; DIR defaults to the first
 *                                preopened directory under WASI, "." natively)
 * Output: "smallfiles: N files written, verified and removed" on stdout;
 *         exit 0, or 1 with a message on stderr at the first error.
 *
 * POSIX only (open, read, write, close, unlink): the same source builds
 * natively with gcc -O2. Only the WASI build looks up its default directory
 * with the WASI call fd_prestat_dir_name, inside #ifdef __wasi__.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __wasi__
#include <wasi/api.h>
static const char *default_dir(void) {
  static char name[256];
  for (__wasi_fd_t fd = 3;; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) return ".";
    if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR || ps.u.dir.pr_name_len >= sizeof name)
      continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len) != 0) continue;
    name[ps.u.dir.pr_name_len] = 0;
    return name;
  }
}
#else
static const char *default_dir(void) { return "."; }
#endif

/* The content of file i: 96 to 111 bytes that depend on i. */
static size_t content(long i, char *buf) {
  size_t len = 96 + (size_t)(i % 16);
  unsigned long x = (unsigned long)i * 2654435761ul + 1;
  for (size_t k = 0; k < len - 1; k++) {
    x = x * 1103515245ul + 12345ul;
    buf[k] = (char)('a' + (x >> 16) % 26);
  }
  buf[len - 1] = '\n';
  return len;
}

static int fail(const char *what, const char *path) {
  fprintf(stderr, "smallfiles: %s %s: %s\n", what, path, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
  const char *dir = argc > 2 ? argv[2] : default_dir();
  char path[4096], want[128], got[256];

  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/sf-%ld", dir, i);
    size_t len = content(i, want);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail("create", path);
    if (write(fd, want, len) != (ssize_t)len) return fail("write", path);
    if (close(fd) != 0) return fail("close", path);
  }
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/sf-%ld", dir, i);
    size_t len = content(i, want);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail("open", path);
    ssize_t r = read(fd, got, sizeof got);
    if (r < 0) return fail("read", path);
    if ((size_t)r != len || memcmp(got, want, len) != 0) {
      fprintf(stderr, "smallfiles: %s: expected %zu bytes got %zd different ones\n", path, len, r);
      return 1;
    }
    if (close(fd) != 0) return fail("close", path);
  }
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/sf-%ld", dir, i);
    if (unlink(path) != 0) return fail("unlink", path);
  }
  printf("smallfiles: %ld files written, verified and removed\n", n);
  return 0;
}
