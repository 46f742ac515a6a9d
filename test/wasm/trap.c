/*
 * trap: prints one line, then executes `unreachable` (__builtin_trap) three
 * calls deep, so that the host's trap report can show a backtrace with
 * function names (the build keeps the name section):
 *
 *   donjon_trap_innermost <- donjon_trap_middle <- donjon_trap_outer <- main
 *
 * Usage: trap.wasm          (no arguments; never exits normally)
 */
#include <stdio.h>

/* volatile keeps the calls from being folded together or removed. */
static volatile int depth;

__attribute__((noinline)) void donjon_trap_innermost(int n) {
  depth = n;
  if (depth >= 0) __builtin_trap();
}

__attribute__((noinline)) void donjon_trap_middle(int n) {
  donjon_trap_innermost(n + 1);
  depth = -depth;
}

__attribute__((noinline)) void donjon_trap_outer(int n) {
  donjon_trap_middle(n + 1);
  depth = -depth;
}

int main(int argc, char **argv) {
  printf("about to trap\n");
  fflush(stdout);
  donjon_trap_outer(argc);
  printf("not reached\n");
  return 0;
}
