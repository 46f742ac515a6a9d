#!/usr/bin/env bash
# Rebuilds the committed WebAssembly workloads from their sources:
#
#   examples/*.c   -> examples/*.wasm
#   test/wasm/*.c  -> test/wasm/*.wasm
#   bench/wasm/*.c -> bench/wasm/*.wasm
#   */*.wat        -> */*.wasm            (same three directories, with wat2wasm)
#
# With --native it also builds the benchmark programs natively
# (bench/wasm/<name>.c -> bench/out/native/<name>, gcc -O2), the baseline for
# `npm run bench`, and the example HTTP server the network benchmark compares
# against (examples/https-hello.c -> bench/out/native/https-hello).
# bench/out/ is git-ignored: native binaries are never committed.
#
# Output is deterministic for a given toolchain: -O2, no debug info, but the
# "name" section is kept (-Wl,--strip-debug, not -s) so that a trap's
# backtrace shows function names. Sources are built in sorted order and each
# output is written to a temporary file first, so a failed build never leaves
# a truncated .wasm behind.
#
# Usage: bash scripts/build-wasm.sh [--native] [--native-only] [--help]
#        (npm run build:wasm)
set -euo pipefail

usage() {
  # The header comment, up to the first line that is not a comment.
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
}

native=0
wasm=1
for arg in "$@"; do
  case "$arg" in
  --native) native=1 ;;
  --native-only)
    native=1
    wasm=0
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    echo "build-wasm: unknown argument '$arg' (try --help)" >&2
    exit 2
    ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LC_ALL=C

die() {
  echo "build-wasm: $*" >&2
  exit 1
}

# need COMMAND DEBIAN-PACKAGE
need() {
  command -v "$1" >/dev/null 2>&1 ||
    die "'$1' not found; install the Debian package '$2' (apt-get install $2)"
}

SYSROOT=${WASI_SYSROOT:-/usr}
CC_WASM=${CC_WASM:-clang}
CC_NATIVE=${CC_NATIVE:-gcc}
CFLAGS_WASM=(--target=wasm32-wasi "--sysroot=$SYSROOT" -O2 -Wall -Wextra -Wno-unused-parameter)
LDFLAGS_WASM=(-Wl,--strip-debug)
CFLAGS_NATIVE=(-O2 -Wall -Wextra -Wno-unused-parameter)

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

if [[ $wasm == 1 ]]; then
  need "$CC_WASM" clang
  need wasm-ld lld
  need wat2wasm wabt
  [[ -f $SYSROOT/include/wasm32-wasi/stdio.h || -f $SYSROOT/include/stdio.h ]] ||
    die "no wasm32-wasi C library under $SYSROOT; install the Debian package 'wasi-libc'"
  # A tiny program proves compiler, libc and compiler-rt builtins all link.
  printf 'int main(void){volatile long long a=3,b=7;return (int)(a*b%%2==0);}\n' >"$tmpdir/probe.c"
  if ! "$CC_WASM" "${CFLAGS_WASM[@]}" -o "$tmpdir/probe.wasm" "$tmpdir/probe.c" 2>"$tmpdir/probe.err"; then
    cat "$tmpdir/probe.err" >&2
    if grep -q "libclang_rt.builtins" "$tmpdir/probe.err"; then
      die "compiler-rt builtins for wasm32 missing; install the Debian package 'libclang-rt-dev-wasm32' (or libclang-rt-<version>-dev-wasm32)"
    fi
    die "cannot build a wasm32-wasi program; check the Debian packages 'clang', 'lld', 'wasi-libc', 'libclang-rt-dev-wasm32'"
  fi
fi
if [[ $native == 1 ]]; then
  need "$CC_NATIVE" gcc
fi

built=0

# size_of FILE
size_of() { wc -c <"$1" | tr -d ' '; }

# build_c SRC OUT [extra flags...]
build_c() {
  local src=$1 out=$2
  shift 2
  local tmp="$tmpdir/$(basename "$out")"
  "$CC_WASM" "${CFLAGS_WASM[@]}" "$@" -o "$tmp" "$src" "${LDFLAGS_WASM[@]}" -lm ||
    die "compiling $src failed"
  mv -f "$tmp" "$out"
  printf '  CC    %-32s -> %s (%s bytes)\n' "$src" "$out" "$(size_of "$out")"
  built=$((built + 1))
}

# build_wat SRC OUT
build_wat() {
  local src=$1 out=$2
  local tmp="$tmpdir/$(basename "$out")"
  # --debug-names keeps the $names as a name section, like the C builds.
  wat2wasm --debug-names -o "$tmp" "$src" || die "assembling $src failed"
  mv -f "$tmp" "$out"
  printf '  WAT   %-32s -> %s (%s bytes)\n' "$src" "$out" "$(size_of "$out")"
  built=$((built + 1))
}

if [[ $wasm == 1 ]]; then
  echo "build-wasm: $("$CC_WASM" --version | head -n1); $(wat2wasm --version 2>/dev/null | head -n1 | sed 's/^/wabt /')"
  for dir in examples test/wasm bench/wasm; do
    [[ -d $dir ]] || continue
    while IFS= read -r src; do
      extra=()
      # Test programs include their shared helper header.
      [[ $dir == test/wasm ]] && extra=(-I test/wasm)
      build_c "$src" "${src%.c}.wasm" "${extra[@]}"
    done < <(find "$dir" -maxdepth 1 -type f -name '*.c' | sort)
    while IFS= read -r src; do
      build_wat "$src" "${src%.wat}.wasm"
    done < <(find "$dir" -maxdepth 1 -type f -name '*.wat' | sort)
  done
fi

if [[ $native == 1 ]]; then
  echo "build-wasm: native baseline with $("$CC_NATIVE" --version | head -n1)"
  mkdir -p bench/out/native
  while IFS= read -r src; do
    name=$(basename "${src%.c}")
    out="bench/out/native/$name"
    "$CC_NATIVE" "${CFLAGS_NATIVE[@]}" -o "$tmpdir/$name" "$src" -lm || die "compiling $src natively failed"
    mv -f "$tmpdir/$name" "$out"
    printf '  GCC   %-32s -> %s (%s bytes)\n' "$src" "$out" "$(size_of "$out")"
    built=$((built + 1))
  done < <({
    find bench/wasm -maxdepth 1 -type f -name '*.c'
    echo examples/https-hello.c
  } | sort)
fi

echo "build-wasm: built $built file(s)"
