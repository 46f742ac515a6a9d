/*
 * exitcode: exits with the status given as argv[1] (default 0) through
 * exit(), which flushes stdio and calls proc_exit. Prints nothing on stdout;
 * one line on stderr.
 *
 * Usage: exitcode.wasm [STATUS]
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int code = argc > 1 ? atoi(argv[1]) : 0;
  fprintf(stderr, "exitcode: exiting with %d\n", code);
  exit(code);
}
