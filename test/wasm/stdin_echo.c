/*
 * stdin_echo: copies stdin to stdout until EOF with read(2)/write(2), then
 * prints "<N> bytes" on stderr and exits 0. A read or write error prints
 * "stdin_echo: <error>" on stderr and exits 1.
 *
 * Usage: stdin_echo.wasm
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  static char buf[65536];
  unsigned long long total = 0;
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fprintf(stderr, "stdin_echo: read: %s\n", strerror(errno));
      return 1;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(1, buf + off, (size_t)(n - off));
      if (w < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        fprintf(stderr, "stdin_echo: write: %s\n", strerror(errno));
        return 1;
      }
      off += w;
    }
    total += (unsigned long long)n;
  }
  fprintf(stderr, "%llu bytes\n", total);
  return 0;
}
