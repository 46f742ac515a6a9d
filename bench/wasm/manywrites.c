/*
 * manywrites: N small writes of 16 bytes each straight to fd 1 with
 * write(2), no stdio buffering, so each one is a host call (fd_write).
 * Measures per-call host overhead. Send stdout to /dev/null or a pipe.
 *
 * Usage: manywrites [N]        (default 1000000)
 * Output: N lines "line 0000000000\n" ... on stdout; "manywrites: N writes"
 *         on stderr; exit 0 (1 if a write fails or is short).
 *
 * Plain POSIX: the same source builds natively with gcc -O2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
  char line[16] = "line 0000000000\n";
  for (long i = 0; i < n; i++) {
    unsigned long v = (unsigned long)i;
    for (int d = 14; d >= 5; d--) {
      line[d] = (char)('0' + v % 10);
      v /= 10;
    }
    if (write(1, line, sizeof line) != (ssize_t)sizeof line) {
      fprintf(stderr, "manywrites: write %ld failed\n", i);
      return 1;
    }
  }
  fprintf(stderr, "manywrites: %ld writes\n", n);
  return 0;
}
