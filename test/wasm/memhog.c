/*
 * memhog: mallocs N MiB (argv[1], default 64) in one block and writes one
 * byte in every 4 KiB page of it, so the memory is really used.
 *
 * Usage: memhog.wasm [MIB]
 * Output (stdout): "ok memhog <N> MiB" and exit 0, or
 *                  "FAIL memhog: expected <N> MiB got NULL from malloc" and exit 1.
 * A host that limits linear memory makes malloc fail (memory.grow returns
 * -1) rather than trap; a trap here would be a host bug.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;
  if (mib < 0) mib = 0;
  size_t bytes = (size_t)mib << 20;
  if (mib > 4095 || (mib > 0 && bytes >> 20 != (size_t)mib)) {
    printf("FAIL memhog: expected at most 4095 MiB got a request for %ld MiB\n", mib);
    return 1;
  }
  volatile unsigned char *p = malloc(bytes ? bytes : 1);
  if (p == NULL) {
    printf("FAIL memhog: expected %ld MiB got NULL from malloc\n", mib);
    return 1;
  }
  unsigned long sum = 0;
  for (size_t i = 0; i < bytes; i += 4096) p[i] = (unsigned char)(i >> 12);
  for (size_t i = 0; i < bytes; i += 4096) sum += p[i];
  printf("ok memhog %ld MiB\n", mib);
  fprintf(stderr, "memhog: touched %zu pages, checksum %lu\n", bytes / 4096, sum);
  return 0;
}
