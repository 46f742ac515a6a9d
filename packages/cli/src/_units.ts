/**
 * Sizes and durations as people write them on a command line or in
 * Donjon.toml: `256MiB`, `1GiB`, `65536`; `500ms`, `10s`, `2m`. Parsers
 * return null for anything they do not accept, and the caller names the flag
 * or key in its error.
 */

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};

/** The units a size may carry, for error messages. */
export const SIZE_HINT = "a byte count with an optional unit B, KiB, MiB, GiB, KB, MB or GB";

/** Bytes in `s` (`256MiB`, `1.5GiB`, `65536`), or null. The result is a whole number of bytes. */
export function parseSize(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(s.trim());
  if (!m) return null;
  const unit = SIZE_UNITS[m[2]!];
  if (unit === undefined) return null;
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(Math.floor(n))) return null;
  return Math.floor(n);
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** The units a duration must carry, for error messages. */
export const DURATION_HINT = "a number with a unit ms, s, m or h (for example 500ms, 10s, 2m)";

/** Milliseconds in `s` (`500ms`, `1.5s`, `2m`, `1h`), or null. A unit is required. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(s.trim());
  if (!m) return null;
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** `268435456` → `256 MiB`; fractions keep up to two decimals (`0.06 MiB`). */
export function formatMiB(bytes: number): string {
  const mib = bytes / 1024 ** 2;
  return `${Number.isInteger(mib) ? mib : Number(mib.toFixed(2))} MiB`;
}

/** Milliseconds in the largest unit that divides them: `10000` → `10s`, `1500` → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The largest memory limit: 4 GiB, all that a 32-bit memory can address. */
export const MAX_MEMORY_LIMIT = 4 * 1024 ** 3;

/** The largest time limit: what a Node.js timer can wait (2^31-1 ms, about 24.8 days). */
export const MAX_TIME_LIMIT_MS = 2 ** 31 - 1;

/** How the time maximum reads in a message. */
export const MAX_TIME_LIMIT_TEXT = "2147483647ms (about 24.8 days)";
