/*
 * sock_client: a client on the connected socket at fd 3 (a Donjon.toml
 * [[files]] kind = "connect" entry, opened by the Keep before the workload
 * starts). It writes one line (argv[1], default "hello from sock_client")
 * with send(), then copies everything the peer sends to stdout with recv()
 * until EOF, and exits 0; on a socket error it names it on stderr and exits 1.
 *
 * Usage: sock_client.wasm [LINE]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_FD 3

int main(int argc, char **argv) {
  char line[1024];
  int len = snprintf(line, sizeof line, "%s\n", argc > 1 ? argv[1] : "hello from sock_client");
  if (len < 0 || (size_t)len >= sizeof line) {
    fprintf(stderr, "sock_client: the line is longer than %zu bytes\n", sizeof line - 2);
    return 2;
  }
  for (int off = 0; off < len;) {
    ssize_t n = send(CONNECT_FD, line + off, (size_t)(len - off), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "sock_client: send on fd %d: %s\n", CONNECT_FD, strerror(errno));
      return 1;
    }
    off += (int)n;
  }
  static char buf[65536];
  for (;;) {
    ssize_t n = recv(CONNECT_FD, buf, sizeof buf, 0);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "sock_client: recv on fd %d: %s\n", CONNECT_FD, strerror(errno));
      return 1;
    }
    for (ssize_t at = 0; at < n;) {
      ssize_t w = write(1, buf + at, (size_t)(n - at));
      if (w < 0) {
        if (errno == EINTR) continue;
        fprintf(stderr, "sock_client: write: %s\n", strerror(errno));
        return 1;
      }
      at += w;
    }
  }
}
