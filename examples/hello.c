/*
 * hello: the smallest Donjon workload. Prints its arguments and, when the
 * host granted it, the environment variable NAME; exits 0.
 *
 *   $ donjon run --env NAME=Ada examples/hello.wasm a b
 *   Hello from Donjon! argv[0]=hello.wasm argv[1]=a argv[2]=b
 *   Hello, Ada!
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  printf("Hello from Donjon! argv[0]=%s", argc > 0 ? argv[0] : "(none)");
  for (int i = 1; i < argc; i++) printf(" argv[%d]=%s", i, argv[i]);
  printf("\n");
  const char *name = getenv("NAME");
  if (name)
    printf("Hello, %s!\n", name);
  else
    printf("NAME is not set\n");
  return 0;
}
