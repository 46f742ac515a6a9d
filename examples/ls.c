/*
 * ls: lists directories: one line per entry, "d" for a directory, "l" for a
 * symbolic link, "-" otherwise, then the size and the name, sorted by name.
 * With no argument it lists the first preopened directory.
 *
 *   $ donjon run --dir ./data examples/ls.wasm
 *   $ donjon run --dir ./data --dir-ro ./docs examples/ls.wasm /data /docs
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <wasi/api.h>

/* The name of the first preopened directory, found as wasi-libc does. */
static const char *first_preopen(void) {
  static char name[256];
  for (__wasi_fd_t fd = 3;; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) return NULL;
    if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR || ps.u.dir.pr_name_len >= sizeof name)
      continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len) != 0) continue;
    name[ps.u.dir.pr_name_len] = 0;
    return name;
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "ls: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **grown = realloc(names, cap * sizeof *names);
      if (!grown) break;
      names = grown;
    }
    names[n++] = strdup(ent->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    char kind = '?';
    long long size = 0;
    if (lstat(path, &st) == 0) {
      kind = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : '-';
      size = (long long)st.st_size;
    }
    printf("%c %10lld %s\n", kind, size, names[i]);
    free(names[i]);
  }
  free(names);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    const char *dir = first_preopen();
    if (!dir) {
      fprintf(stderr, "ls: no directory named and none preopened\n");
      return 1;
    }
    return list(dir);
  }
  int status = 0;
  for (int i = 1; i < argc; i++) {
    if (argc > 2) printf("%s:\n", argv[i]);
    status |= list(argv[i]);
  }
  return status;
}
