/**
 * A fake platform port built from a plain description of a machine, for
 * tests: the files it has, the directories, the commands on PATH, the
 * kernel and the CPU flags. Nothing else exists on it.
 */
import { type PlatformPort, userNamespacesFrom } from "./platform.ts";

/** A machine for `fakePlatformPort`. Every field is optional except the kernel. */
export interface FakeMachine {
  /** `uname -r`. */
  kernel: string;
  /** /proc/cpuinfo flags of the first processor. Default: none. */
  cpuFlags?: readonly string[];
  /** File path → content. Their parent directories exist too. */
  files?: Readonly<Record<string, string>>;
  /** Directories (and device nodes, which the probes only test for existence). */
  dirs?: readonly string[];
  /** Command → the path `which` returns. */
  commands?: Readonly<Record<string, string>>;
}

/** The port answering from `machine`. */
export function fakePlatformPort(machine: FakeMachine): PlatformPort {
  const files = machine.files ?? {};
  const entries = new Set<string>(machine.dirs ?? []);
  for (const p of [...Object.keys(files), ...(machine.dirs ?? [])]) {
    for (let d = parent(p); d !== null; d = parent(d)) entries.add(d);
  }
  for (const f of Object.keys(files)) entries.add(f);
  const readFile = (p: string): string | null => files[p] ?? null;
  return {
    readFile,
    exists: (p) => entries.has(p),
    listDir: (p) => {
      if (!entries.has(p) || p in files) return null;
      const prefix = p === "/" ? "/" : `${p}/`;
      const names = new Set<string>();
      for (const e of entries) {
        if (e.startsWith(prefix) && e !== p) names.add(e.slice(prefix.length).split("/")[0]!);
      }
      return [...names].sort();
    },
    which: (cmd) => machine.commands?.[cmd] ?? null,
    kernelRelease: () => machine.kernel,
    cpuFlags: () => [...(machine.cpuFlags ?? [])],
    userNamespaces: () => userNamespacesFrom(readFile),
  };
}

function parent(p: string): string | null {
  if (p === "/") return null;
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}
