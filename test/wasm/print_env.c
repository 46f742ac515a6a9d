/*
 * print_env: prints its environment, one KEY=VALUE per line on stdout, in
 * the order the host gave it, and exits 0. Tests use it to see what a Keep
 * sets (FD_COUNT and FD_NAMES from its own reading of Donjon.toml).
 *
 * Usage: print_env.wasm
 */
#include <stdio.h>

extern char **environ;

int main(void) {
  for (char **e = environ; *e != NULL; e++) printf("%s\n", *e);
  return 0;
}
