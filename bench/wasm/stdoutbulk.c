/*
 * stdoutbulk: MIB mebibytes to stdout in write(2)s of SIZE bytes each, no
 * stdio buffering, so each write is one host call (fd_write). Measures how
 * fast stdout moves bytes: through `donjon run`'s own fd 1 (backend nil) or
 * through a Keep's channel (worker -> ring -> I/O thread -> host -> fd 1).
 * Send stdout to a pipe that is drained (bench/drain.mjs).
 *
 * Usage: stdoutbulk [MIB [SIZE]]   (default 64 MiB in writes of 1 MiB;
 *                                    SIZE a multiple of 16, at most 1 MiB)
 * Output: the 16-byte lines "line 0000000000\n", "line 0000000001\n", ...
 *         (MIB * 65536 of them) on stdout; "stdoutbulk: ..." on stderr;
 *         exit 0 (1 if a write fails, 2 on bad arguments).
 *
 * Plain POSIX: the same source builds natively with gcc -O2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char buf[1 << 20];

int main(int argc, char **argv) {
  long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
  long size = argc > 2 ? strtol(argv[2], NULL, 10) : 1 << 20;
  if (mib < 0 || size < 16 || size > (long)sizeof buf || size % 16 != 0) {
    fprintf(stderr, "stdoutbulk: usage: stdoutbulk [MIB [SIZE]] (SIZE a multiple of 16, <= 1 MiB)\n");
    return 2;
  }
  long lines = mib << 16, line = 0, writes = 0;
  while (line < lines) {
    long n = size / 16;
    if (n > lines - line) n = lines - line;
    for (long k = 0; k < n; k++) {
      char *p = buf + 16 * k;
      unsigned long v = (unsigned long)(line + k);
      p[0] = 'l', p[1] = 'i', p[2] = 'n', p[3] = 'e', p[4] = ' ', p[15] = '\n';
      for (int d = 14; d >= 5; d--) {
        p[d] = (char)('0' + v % 10);
        v /= 10;
      }
    }
    long len = 16 * n, at = 0;
    while (at < len) {
      ssize_t w = write(1, buf + at, (size_t)(len - at));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        fprintf(stderr, "stdoutbulk: write failed after %ld bytes\n", 16 * line + at);
        return 1;
      }
      at += w;
      writes++;
    }
    line += n;
  }
  fprintf(stderr, "stdoutbulk: %ld MiB in %ld writes\n", mib, writes);
  return 0;
}
