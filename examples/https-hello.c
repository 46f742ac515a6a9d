/*
 * https-hello: a small HTTP/1.1 server, Donjon's example network service.
 * In a Keep it accepts connections on the listening socket its Donjon.toml
 * gives it (examples/https-hello.toml: one [[files]] kind = "listen" entry,
 * prot = "tls"). TLS ends inside the Keep, so the workload reads and writes
 * plain HTTP on each accepted connection; the host relays TLS records only.
 *
 *   $ npm run demo            (all of the below, in a few seconds)
 *   $ donjon run --config examples/https-hello.toml --steward https://127.0.0.1:8443 \
 *                --steward-ca steward/ca.pem examples/https-hello.wasm
 *   donjon: fd 3 "web" listening on https://127.0.0.1:PORT (TLS ends inside the Keep)
 *   $ curl --cacert steward/ca.pem https://localhost:PORT/
 *
 * (the Steward's policy allows this host's sandbox key and gives the Keep
 * certificate san = ["localhost"], the name curl checks).
 *
 * Routes:
 *   GET /              a short page saying who answers
 *   GET /echo?TEXT     TEXT (the raw query) back, as text/plain
 *   POST /echo         the request body back (at most 64 KiB)
 *   GET /bytes?n=N     N bytes (0..1 GiB) of a fixed pattern: the benchmark
 *   anything else      404 (405 for a known path with another method)
 * HEAD works wherever GET does. One line per request goes to stderr
 * (-q silences it, for benchmarks).
 *
 * Connections: up to 64 at once, multiplexed with poll(); HTTP/1.1
 * keep-alive (and pipelining) unless the client says "Connection: close"
 * or speaks HTTP/1.0; an idle connection is closed after 30 s. Responses
 * are written with blocking sends, so one slow reader delays the others:
 * good enough for a demo and a benchmark, not for hostile clients.
 *
 * Bounds: request line and headers at most 8 KiB (431 past it), a body at
 * most 64 KiB (413), no Transfer-Encoding (501: Content-Length only); a
 * malformed request is 400 and its connection is closed.
 *
 * Which fd: the one FD_NAMES names "web" (Enarx semantics: FD_NAMES lists
 * the [[files]] names, entry n is fd n), else fd 3. The native build (the
 * benchmark's baseline, bench/out/native/https-hello) uses fd 3 when it is
 * a listening socket (or the one FD_NAMES names) and otherwise listens on
 * 127.0.0.1:PORT itself:
 *
 *   $ https-hello [-q] [PORT]       (native; PORT 0: any free port, printed)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifndef __wasi__
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#endif

#ifdef __wasi__
#define GREETING "Hello from a Donjon Keep!\n"
/* wasi-libc's send() refuses any flag; WASI has no SIGPIPE anyway. */
#define SEND_FLAGS 0
#else
#define GREETING "Hello from https-hello, native build (not in a Keep)\n"
#define SEND_FLAGS MSG_NOSIGNAL
#endif

#define PAGE                                                                    \
  GREETING                                                                      \
  "This is examples/https-hello: a WebAssembly workload serving HTTP/1.1.\n"    \
  "In a Donjon Keep, TLS ends inside the Keep with a key that never leaves "    \
  "it,\nand the certificate was issued by the Steward after it checked the "    \
  "Keep's\nevidence: this workload, this measurement. Try /echo?hi or "         \
  "/bytes?n=16.\n"

enum {
  MAX_CONNS = 64,
  HEAD_MAX = 8 * 1024,
  BODY_MAX = 64 * 1024,
  BUF_MAX = HEAD_MAX + BODY_MAX,
  IDLE_MS = 30 * 1000,
  CHUNK = 64 * 1024,
};
#define BYTES_MAX (1LL << 30)
/* A string literal as (pointer, length) arguments. */
#define LIT(s) s, (long long)(sizeof(s) - 1)

struct conn {
  int fd;
  size_t len;      /* bytes in buf */
  char *buf;       /* BUF_MAX bytes */
  long long last;  /* ms of the last activity, for the idle timeout */
};

static struct conn conns[MAX_CONNS];
static int nconns;
static int quiet;
static char pattern[CHUNK];

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send all of buf; 0 on success, -1 when the peer is gone. */
static int send_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, SEND_FLAGS);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The log line's path: printable ASCII only, at most 64 characters. */
static void log_request(const char *method, const char *path, size_t plen, int status,
                        long long bytes) {
  if (quiet) return;
  char clean[65];
  size_t n = plen < 64 ? plen : 64;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)path[i];
    clean[i] = c >= 0x21 && c < 0x7f ? (char)c : '?';
  }
  clean[n] = '\0';
  fprintf(stderr, "https-hello: %s %s%s %d %lld\n", method, clean, plen > 64 ? "..." : "",
          status, bytes);
}

static const char *reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

/*
 * Write a response: the head, then `len` bytes of body from `body`, or of
 * the pattern when body is NULL (/bytes). HEAD gets the head only.
 * Returns 0, or -1 when the peer is gone.
 */
static int respond(int fd, int status, const char *type, const char *body, long long len,
                   int head_only, int keep_alive, const char *extra) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\n"
                   "Server: donjon-https-hello\r\n"
                   "Content-Type: %s\r\n"
                   "Content-Length: %lld\r\n"
                   "%s"
                   "Connection: %s\r\n\r\n",
                   status, reason(status), type, len, extra ? extra : "",
                   keep_alive ? "keep-alive" : "close");
  if (head_only || len == 0) return send_all(fd, head, (size_t)n);
  if (body != NULL && (size_t)n + (size_t)len <= sizeof head + CHUNK) {
    /* One send for a small answer: fewer relayed records in a Keep. */
    static char one[512 + CHUNK];
    memcpy(one, head, (size_t)n);
    memcpy(one + n, body, (size_t)len);
    return send_all(fd, one, (size_t)n + (size_t)len);
  }
  if (send_all(fd, head, (size_t)n) < 0) return -1;
  if (body != NULL) return send_all(fd, body, (size_t)len);
  while (len > 0) {
    size_t k = len < CHUNK ? (size_t)len : CHUNK;
    if (send_all(fd, pattern, k) < 0) return -1;
    len -= (long long)k;
  }
  return 0;
}

/* An error answer; the connection is closed after it. */
static void fail(int fd, int status, const char *why) {
  char body[160];
  int n = snprintf(body, sizeof body, "%d %s: %s\n", status, reason(status), why);
  respond(fd, status, "text/plain; charset=utf-8", body, n, 0, 0, NULL);
  if (!quiet) fprintf(stderr, "https-hello: refused a request: %d %s\n", status, why);
}

static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Case-insensitive: does header value v (length n) contain token tok? */
static int has_token(const char *v, size_t n, const char *tok) {
  size_t t = strlen(tok);
  for (size_t i = 0; i + t <= n; i++) {
    if (strncasecmp(v + i, tok, t) == 0 && (i == 0 || !is_tchar(v[i - 1])) &&
        (i + t == n || !is_tchar(v[i + t])))
      return 1;
  }
  return 0;
}

/* Parse a decimal of at most 18 digits; -1 when it is not one. */
static long long parse_decimal(const char *s, size_t n) {
  if (n == 0 || n > 18) return -1;
  long long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/*
 * Handle the requests complete in c->buf. Returns 1 to keep the connection,
 * 0 to close it.
 */
static int serve(struct conn *c) {
  for (;;) {
    char *b = c->buf;
    size_t len = c->len;
    /* RFC 9112 §2.2: ignore empty lines before a request line. */
    size_t skip = 0;
    while (skip + 1 < len && b[skip] == '\r' && b[skip + 1] == '\n') skip += 2;
    if (skip > 0) {
      memmove(b, b + skip, len - skip);
      c->len = len -= skip;
    }
    if (len == 0) return 1;
    char *end = NULL;
    size_t scan = len < HEAD_MAX ? len : HEAD_MAX;
    for (size_t i = 0; i + 3 < scan; i++) {
      if (memcmp(b + i, "\r\n\r\n", 4) == 0) {
        end = b + i;
        break;
      }
    }
    if (end == NULL) {
      if (len >= HEAD_MAX) {
        fail(c->fd, 431, "request line and headers over 8 KiB");
        return 0;
      }
      return 1; /* wait for the rest of the head */
    }
    size_t head_len = (size_t)(end - b) + 4;

    /* Request line: METHOD SP TARGET SP HTTP/1.x (RFC 9112 §3). */
    char *eol = memchr(b, '\r', (size_t)(end - b) + 1);
    if (eol == NULL || eol[1] != '\n') {
      fail(c->fd, 400, "malformed request line");
      return 0;
    }
    char *sp1 = memchr(b, ' ', (size_t)(eol - b));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == b || sp2 == sp1 + 1) {
      fail(c->fd, 400, "malformed request line");
      return 0;
    }
    for (char *p = b; p < sp1; p++) {
      if (!is_tchar(*p)) {
        fail(c->fd, 400, "malformed method");
        return 0;
      }
    }
    char *target = sp1 + 1;
    size_t tlen = (size_t)(sp2 - target);
    if (target[0] != '/') {
      fail(c->fd, 400, "the target must be an origin-form path");
      return 0;
    }
    for (size_t i = 0; i < tlen; i++) {
      unsigned char ch = (unsigned char)target[i];
      if (ch <= 0x20 || ch >= 0x7f) {
        fail(c->fd, 400, "malformed target");
        return 0;
      }
    }
    char *version = sp2 + 1;
    size_t vlen = (size_t)(eol - version);
    int http10;
    if (vlen == 8 && memcmp(version, "HTTP/1.1", 8) == 0) {
      http10 = 0;
    } else if (vlen == 8 && memcmp(version, "HTTP/1.0", 8) == 0) {
      http10 = 1;
    } else if (vlen == 8 && memcmp(version, "HTTP/", 5) == 0 && version[6] == '.') {
      fail(c->fd, 505, "only HTTP/1.0 and HTTP/1.1");
      return 0;
    } else {
      fail(c->fd, 400, "malformed HTTP version");
      return 0;
    }

    /* Header fields (RFC 9112 §5): name ":" OWS value OWS, no line folding. */
    long long clen = 0;
    int have_clen = 0, close_asked = 0, alive_asked = 0;
    for (char *line = eol + 2; line < end + 2;) {
      char *le = memchr(line, '\r', (size_t)(end + 2 - line));
      if (le == NULL || le[1] != '\n') {
        fail(c->fd, 400, "bare CR in a header");
        return 0;
      }
      char *colon = memchr(line, ':', (size_t)(le - line));
      if (colon == NULL || colon == line) {
        fail(c->fd, 400, "malformed header field");
        return 0;
      }
      for (char *p = line; p < colon; p++) {
        if (!is_tchar(*p)) {
          fail(c->fd, 400, "malformed header name (or obsolete line folding)");
          return 0;
        }
      }
      char *v = colon + 1;
      char *ve = le;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      for (char *p = v; p < ve; p++) {
        if (*p == '\0' || *p == '\n') {
          fail(c->fd, 400, "malformed header value");
          return 0;
        }
      }
      size_t nlen = (size_t)(colon - line);
      if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
        long long n = parse_decimal(v, (size_t)(ve - v));
        if (n < 0 || (have_clen && n != clen)) {
          fail(c->fd, 400, "malformed Content-Length");
          return 0;
        }
        clen = n;
        have_clen = 1;
      } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
        fail(c->fd, 501, "Transfer-Encoding is not supported; send Content-Length");
        return 0;
      } else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
        close_asked |= has_token(v, (size_t)(ve - v), "close");
        alive_asked |= has_token(v, (size_t)(ve - v), "keep-alive");
      }
      line = le + 2;
    }
    if (clen > BODY_MAX) {
      fail(c->fd, 413, "a body of at most 64 KiB");
      return 0;
    }
    if (len < head_len + (size_t)clen) return 1; /* wait for the body */
    char *body = b + head_len;
    int keep = !close_asked && (!http10 || alive_asked);

    /* Route. */
    char method[16];
    size_t mlen = (size_t)(sp1 - b);
    if (mlen >= sizeof method) mlen = sizeof method - 1;
    memcpy(method, b, mlen);
    method[mlen] = '\0';
    int get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    const char *query = q ? q + 1 : "";
    size_t qlen = q ? tlen - plen - 1 : 0;
    int status;
    long long sent = 0;
    int gone;
#define PATH_IS(s) (plen == sizeof(s) - 1 && memcmp(target, s, plen) == 0)
    if (PATH_IS("/")) {
      if (get || head) {
        status = 200;
        sent = sizeof PAGE - 1;
        gone = respond(c->fd, status, "text/plain; charset=utf-8", PAGE, sent, head, keep, NULL);
      } else {
        status = 405;
        gone = respond(c->fd, status, "text/plain; charset=utf-8", LIT("use GET\n"), head, keep,
                       "Allow: GET, HEAD\r\n");
      }
    } else if (PATH_IS("/echo")) {
      if (get || head) {
        status = 200;
        sent = (long long)qlen;
        gone = respond(c->fd, status, "text/plain; charset=utf-8", query, sent, head, keep, NULL);
      } else if (post) {
        status = 200;
        sent = clen;
        gone = respond(c->fd, status, "application/octet-stream", body, sent, 0, keep, NULL);
      } else {
        status = 405;
        gone = respond(c->fd, status, "text/plain; charset=utf-8", LIT("use GET or POST\n"),
                       head, keep, "Allow: GET, HEAD, POST\r\n");
      }
    } else if (PATH_IS("/bytes")) {
      long long n = -1;
      if (qlen > 2 && memcmp(query, "n=", 2) == 0) n = parse_decimal(query + 2, qlen - 2);
      if (!(get || head)) {
        status = 405;
        gone = respond(c->fd, status, "text/plain; charset=utf-8", LIT("use GET\n"), head, keep,
                       "Allow: GET, HEAD\r\n");
      } else if (n < 0 || n > BYTES_MAX) {
        status = 400;
        gone = respond(c->fd, status, "text/plain; charset=utf-8",
                       LIT("expected /bytes?n=N with N from 0 to 1073741824\n"), head, keep, NULL);
      } else {
        status = 200;
        sent = n;
        gone = respond(c->fd, status, "application/octet-stream", NULL, n, head, keep, NULL);
      }
    } else {
      status = 404;
      gone = respond(c->fd, status, "text/plain; charset=utf-8", LIT("not found\n"), head, keep,
                     NULL);
    }
#undef PATH_IS
    log_request(method, target, tlen, status, head ? 0 : sent);
    if (gone < 0 || !keep) return 0;
    size_t used = head_len + (size_t)clen;
    memmove(b, b + used, len - used);
    c->len = len - used;
  }
}

static void drop(int i) {
  close(conns[i].fd);
  free(conns[i].buf);
  conns[i] = conns[--nconns];
}

/* The listening fd: the one FD_NAMES names "web", else 3. */
static int find_listener(void) {
  const char *names = getenv("FD_NAMES");
  if (names == NULL) return 3;
  int fd = 0;
  for (const char *p = names;; fd++) {
    const char *e = strchr(p, ':');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 3 && memcmp(p, "web", 3) == 0) return fd;
    if (e == NULL) break;
    p = e + 1;
  }
  return 3;
}

#ifndef __wasi__
/* Native: the inherited fd when it is a listening socket, else 127.0.0.1:PORT. */
static int native_listener(const char *port_text) {
  int on = 0;
  socklen_t olen = sizeof on;
  int inherited = find_listener();
  if (getsockopt(inherited, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) == 0 && on) return inherited;
  char *endp;
  long port = strtol(port_text, &endp, 10);
  if (*port_text == '\0' || *endp != '\0' || port < 0 || port > 65535) {
    fprintf(stderr, "https-hello: expected a port number (0-65535), got \"%s\"\n", port_text);
    exit(2);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    perror("https-hello: socket");
    exit(1);
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
    fprintf(stderr, "https-hello: cannot listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
    exit(1);
  }
  socklen_t alen = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &alen);
  fprintf(stderr, "https-hello: listening on 127.0.0.1:%d (native build, plain HTTP)\n",
          ntohs(a.sin_port));
  return fd;
}
#endif

int main(int argc, char **argv) {
  const char *port_text = "8080";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
      quiet = 1;
    else
      port_text = argv[i];
  }
  for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = "0123456789abcdef"[i % 16];
#ifdef __wasi__
  (void)port_text;
  int lfd = find_listener();
#else
  signal(SIGPIPE, SIG_IGN);
  int lfd = native_listener(port_text);
#endif
  if (!quiet) fprintf(stderr, "https-hello: serving HTTP/1.1 on fd %d\n", lfd);

  struct pollfd pfds[MAX_CONNS + 1];
  for (;;) {
    int n = 0;
    /* Stop accepting while the table is full; the backlog holds the rest. */
    if (nconns < MAX_CONNS) pfds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
    int first = n;
    for (int i = 0; i < nconns; i++) pfds[n++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
    int r = poll(pfds, (nfds_t)n, nconns > 0 ? 1000 : -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "https-hello: poll: %s\n", strerror(errno));
      return 1;
    }
    long long now = now_ms();
    /* Connections first, from the end, so that drop()'s swap keeps indexes valid. */
    for (int i = nconns - 1; i >= 0; i--) {
      struct conn *c = &conns[i];
      short ev = pfds[first + i].revents;
      if (ev == 0) {
        if (now - c->last > IDLE_MS) drop(i);
        continue;
      }
      c->last = now;
      ssize_t got = recv(c->fd, c->buf + c->len, BUF_MAX - c->len, 0);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        drop(i);
        continue;
      }
      c->len += (size_t)got;
      if (!serve(c)) drop(i);
    }
    if (first == 1 && pfds[0].revents != 0) {
      struct sockaddr_storage addr;
      socklen_t alen = sizeof addr;
      int fd = accept(lfd, (struct sockaddr *)&addr, &alen);
      if (fd < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
        fprintf(stderr,
                "https-hello: cannot accept on fd %d: %s; run it with a Donjon.toml "
                "that has a [[files]] kind = \"listen\" entry (examples/https-hello.toml)\n",
                lfd, strerror(errno));
        return 1;
      }
      char *buf = malloc(BUF_MAX);
      if (buf == NULL) {
        close(fd);
        continue;
      }
      conns[nconns++] = (struct conn){.fd = fd, .len = 0, .buf = buf, .last = now};
    }
  }
}
