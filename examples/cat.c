/*
 * cat: copies the named files, or stdin when none is named (or for "-"),
 * to stdout. Paths are guest paths beneath a preopened directory, e.g.
 * /data/notes.txt for a directory preopened as /data.
 *
 *   $ donjon run --dir ./data examples/cat.wasm /data/notes.txt
 *   $ echo hi | donjon run examples/cat.wasm
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int copy(int fd, const char *name) {
  static char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "cat: %s: %s\n", name, strerror(errno));
      return 1;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(1, buf + off, (size_t)(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        fprintf(stderr, "cat: write: %s\n", strerror(errno));
        return 1;
      }
      off += w;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2) return copy(0, "stdin");
  int status = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-") == 0) {
      status |= copy(0, "stdin");
      continue;
    }
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      fprintf(stderr, "cat: %s: %s\n", argv[i], strerror(errno));
      status = 1;
      continue;
    }
    status |= copy(fd, argv[i]);
    close(fd);
  }
  return status;
}
