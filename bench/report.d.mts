/** Types of report.mjs, for the TypeScript runner and bench/run.ts. */
export interface Dir {
  host: string;
  guest: string;
}
export function parseArgs(
  argv: string[],
  name: string,
  booleans?: string[],
): { dirs: Dir[]; flags: Set<string>; module: string; args: string[] };
export function report(
  engine: string,
  exitCode: number,
  t0: number,
  t1: number,
  t2: number,
  t3: number,
  cpu: { user: number; system: number },
): void;
export interface Report {
  engine: string;
  exitCode: number;
  bootMs: number;
  compileMs: number;
  instantiateMs: number;
  runMs: number;
  runCpuMs: number;
  totalMs: number;
  maxRssKiB: number;
}
export function peakRssKiB(): number;
