/**
 * The platform port: everything the backend probes may learn about the
 * machine, in seven read-only questions. Probes never import `node:fs`; they
 * ask this port, so a table of fake machines (`platform_fake.ts`) tests every
 * backend here. The real implementation is `platform_node.ts`.
 *
 * Like google/go-configfs-tsm `configfsi` with `linuxtsm/` and `faketsm/`.
 */
export interface PlatformPort {
  /** The whole file as UTF-8 text, or null when it is missing or unreadable. */
  readFile(path: string): string | null;
  /** True when something (file, directory, device) exists at `path`. */
  exists(path: string): boolean;
  /** The names in directory `path` (no `.`/`..`), sorted; null when it is not a readable directory. */
  listDir(path: string): string[] | null;
  /** The absolute path of executable `cmd` found on PATH, or null. */
  which(cmd: string): string | null;
  /** The kernel release, as `uname -r` prints it (`6.8.0-45-generic`). */
  kernelRelease(): string;
  /** The `flags` of the first processor in /proc/cpuinfo; empty when there is none. */
  cpuFlags(): string[];
  /**
   * True when unprivileged user namespaces are allowed: neither
   * /proc/sys/kernel/unprivileged_userns_clone (Debian's switch) nor
   * /proc/sys/user/max_user_namespaces is 0.
   */
  userNamespaces(): boolean;
}

/**
 * The user-namespace answer from the two sysctl files, read through
 * `readFile`. Shared by the real port and the fake, so both judge alike.
 */
export function userNamespacesFrom(readFile: (path: string) => string | null): boolean {
  const clone = readFile("/proc/sys/kernel/unprivileged_userns_clone");
  if (clone !== null && clone.trim() === "0") return false;
  const max = readFile("/proc/sys/user/max_user_namespaces");
  if (max !== null && max.trim() === "0") return false;
  return true;
}

/** The `flags` line of the first processor in /proc/cpuinfo text. */
export function cpuFlagsFrom(cpuinfo: string | null): string[] {
  if (cpuinfo === null) return [];
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  return line ? line[1]!.trim().split(/\s+/).filter(Boolean) : [];
}
