/**
 * What the benchmark scripts share: the median they judge ratios on, and
 * their positive-integer command-line options.
 */

/** The median of `xs` (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `name N` from `argv`, a positive integer, or `fallback`; anything else exits 2 naming `program`. */
export function intOption(argv: string[], name: string, fallback: number, program: string): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`${program}: ${name} takes a positive integer\n`);
    process.exit(2);
  }
  return n;
}
