/*
 * hello (bench): cold start. Prints one line and exits 0; what is measured
 * is the host's load, compile, instantiate and exit time.
 *
 * Usage: hello [ignored...]
 */
#include <stdio.h>

int main(void) {
  puts("Hello, world!");
  return 0;
}
