/*
 * spin: prints "spinning" and then loops forever without calling the host,
 * for the host's wall-clock/CPU timeout. Never exits by itself.
 *
 * Usage: spin.wasm
 */
#include <stdio.h>

static volatile unsigned long long counter;

__attribute__((noinline)) void donjon_spin_forever(void) {
  for (;;) counter++;
}

int main(void) {
  printf("spinning\n");
  fflush(stdout);
  donjon_spin_forever();
  return 0;
}
