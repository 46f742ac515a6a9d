/*
 * sock_echo: a line echo server on the listening socket at fd 3, through
 * wasi-libc's accept/accept4, recv, read, send, write, poll, shutdown and
 * fcntl. It serves N connections in turn (default 1): each sends one line; the
 * reply is the content of /data/greeting.txt followed by that line, sent with
 * send() and write(), then the server shuts down its write side and closes
 * the connection. /data is a preopened directory that comes AFTER the socket
 * (fd 4 and up), so opening the greeting proves that wasi-libc's preopen scan
 * got past the socket at fd 3.
 *
 * Connection k (from 0) is read with recv() when k is even and read() when odd;
 * connection 0 is first peeked (MSG_PEEK) and connection 2 is accepted
 * nonblocking (accept4 SOCK_NONBLOCK), so a recv before poll() says EAGAIN if
 * nothing has arrived yet. When all N are served, the listener is made
 * nonblocking and one more accept must fail with EAGAIN.
 *
 * Output: the testlib protocol (ok / FAIL / done lines on stdout); exit 0
 * only if every check passed. FD_COUNT and FD_NAMES (Enarx's environment
 * naming the fds) are printed as information when set.
 *
 * Usage: sock_echo.wasm [N]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

#define LISTEN_FD 3

/* Waits until fd is readable; returns 1 when poll says so. */
static int wait_readable(const char *name, int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n = poll(&p, 1, -1);
  if (n != 1 || !(p.revents & POLLIN)) {
    t_fail(name, "expected poll 1 with POLLIN got %d revents 0x%x errno %s", n, p.revents,
           strerror(errno));
    return 0;
  }
  return 1;
}

/* Reads one line (up to and including '\n') into buf; returns its length or -1. */
static ssize_t read_line(int k, int fd, char *buf, size_t cap) {
  size_t len = 0;
  char name[64];
  while (len < cap && (len == 0 || buf[len - 1] != '\n')) {
    snprintf(name, sizeof name, "conn%d.readable", k);
    if (!wait_readable(name, fd)) return -1;
    ssize_t n = k % 2 == 0 ? recv(fd, buf + len, cap - len, 0) : read(fd, buf + len, cap - len);
    if (n < 0) {
      snprintf(name, sizeof name, "conn%d.recv", k);
      t_fail(name, "expected bytes got -1 (%s)", strerror(errno));
      return -1;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  return (ssize_t)len;
}

static int send_all(int k, int fd, const char *buf, size_t len, int use_write) {
  while (len > 0) {
    ssize_t n = use_write ? write(fd, buf, len) : send(fd, buf, len, 0);
    if (n <= 0) {
      char name[64];
      snprintf(name, sizeof name, "conn%d.%s", k, use_write ? "write" : "send");
      t_fail(name, "expected bytes sent got %zd (%s)", n, strerror(errno));
      return 0;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 1;
}

int main(int argc, char **argv) {
  int conns = argc > 1 ? atoi(argv[1]) : 1;
  const char *count = getenv("FD_COUNT");
  const char *names = getenv("FD_NAMES");
  if (count) t_info("FD_COUNT=%s", count);
  if (names) t_info("FD_NAMES=%s", names);

  __wasi_fdstat_t st;
  __wasi_errno_t e = __wasi_fd_fdstat_get(LISTEN_FD, &st);
  if (e == 0 && st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM) {
    t_ok("listener.is_stream_socket");
  } else {
    t_fail("listener.is_stream_socket", "expected SOCKET_STREAM got errno %s filetype %u",
           t_errname(e), (unsigned)st.fs_filetype);
  }

  /* The preopen behind the socket. */
  char greeting[64] = {0};
  size_t glen = 0;
  FILE *f = fopen("/data/greeting.txt", "r");
  if (f) {
    glen = fread(greeting, 1, sizeof greeting - 1, f);
    fclose(f);
    t_ok("preopen_after_socket");
  } else {
    t_fail("preopen_after_socket", "expected /data/greeting.txt open got %s", strerror(errno));
  }

  for (int k = 0; k < conns; k++) {
    char name[64];
    snprintf(name, sizeof name, "conn%d.listener_readable", k);
    if (!wait_readable(name, LISTEN_FD)) break;
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    int fd = k == 2 ? accept4(LISTEN_FD, (struct sockaddr *)&addr, &alen, SOCK_NONBLOCK)
                    : accept(LISTEN_FD, (struct sockaddr *)&addr, &alen);
    snprintf(name, sizeof name, "conn%d.accept", k);
    if (fd < 0) {
      t_fail(name, "expected a new fd got -1 (%s)", strerror(errno));
      break;
    }
    t_ok(name);

    char buf[256];
    if (k == 0) {
      ssize_t n = recv(fd, buf, 1, MSG_PEEK);
      char c = buf[0];
      ssize_t m = recv(fd, buf, 1, MSG_PEEK);
      if (n == 1 && m == 1 && buf[0] == c) {
        t_ok("conn0.peek_leaves_bytes");
      } else {
        t_fail("conn0.peek_leaves_bytes", "expected 1,1 same byte got %zd,%zd", n, m);
      }
    }
    if (k == 2) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EAGAIN) {
        t_ok("conn2.nonblocking_recv_eagain");
      } else {
        t_fail("conn2.nonblocking_recv_eagain", "expected -1 EAGAIN got %zd (%s)", n,
               strerror(errno));
      }
    }

    ssize_t len = read_line(k, fd, buf, sizeof buf);
    if (len <= 0) break;
    snprintf(name, sizeof name, "conn%d.request", k);
    t_ok(name);
    if (!send_all(k, fd, greeting, glen, 0) || !send_all(k, fd, buf, (size_t)len, 1)) break;
    snprintf(name, sizeof name, "conn%d.shutdown", k);
    if (shutdown(fd, SHUT_WR) == 0) {
      t_ok(name);
    } else {
      t_fail(name, "expected 0 got -1 (%s)", strerror(errno));
    }
    close(fd);
  }

  /* Nothing more is waiting: a nonblocking listener says so. */
  int fl = fcntl(LISTEN_FD, F_GETFL);
  if (fl < 0 || fcntl(LISTEN_FD, F_SETFL, fl | O_NONBLOCK) != 0) {
    t_fail("listener.nonblocking", "expected fcntl to succeed got %s", strerror(errno));
  } else {
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    int fd = accept(LISTEN_FD, (struct sockaddr *)&addr, &alen);
    if (fd < 0 && errno == EAGAIN) {
      t_ok("listener.nonblocking_accept_eagain");
    } else {
      t_fail("listener.nonblocking_accept_eagain", "expected -1 EAGAIN got %d (%s)", fd,
             strerror(errno));
    }
  }
  return t_done();
}
