/**
 * The configfs-tsm port: the five filesystem operations evidence collection
 * needs, and nothing else. `report.ts` speaks only to this port; the real
 * implementation is `port_linux.ts` (node:fs on /sys/kernel/config/tsm), the
 * fake is `@donjon/testkit` `fakeTsm` (an in-memory report subsystem serving
 * fake-AMD-signed SNP reports).
 *
 * Mirrors google/go-configfs-tsm `configfs/configfsi.Client` (MkdirTemp,
 * ReadFile, WriteFile, RemoveAll, and ReadDir, which its fakes also serve),
 * with Promises: the kernel blocks a read of `outblob` while the firmware signs,
 * and the fake signs with WebCrypto.
 *
 * Paths are absolute POSIX paths. Implementations reject with the OS error (or
 * an `Error` carrying an errno-style `code`); `report.ts` wraps every failure in
 * a `KeepError` with the operation and the path.
 */
export interface TsmPort {
  /**
   * Create a new directory in `dir` whose name starts with `pattern` and ends
   * with random characters (os.MkdirTemp semantics), and return its path. In
   * configfs this creates a report entry with its attributes.
   */
  mkdirTemp(dir: string, pattern: string): Promise<string>;
  /** The whole content of file `path`. */
  readFile(path: string): Promise<Uint8Array>;
  /** Write `data` to file `path` in one write (configfs attributes take one write). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Remove directory `path` (a report entry) and what it holds. */
  removeAll(path: string): Promise<void>;
  /** The names in directory `path` (no `.`/`..`), sorted. */
  readDir(path: string): Promise<string[]>;
}

/** Where configfs-tsm report entries live (Documentation/ABI/testing/configfs-tsm). */
export const TSM_REPORT_DIR = "/sys/kernel/config/tsm/report";
