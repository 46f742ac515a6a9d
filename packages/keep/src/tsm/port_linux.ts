/**
 * The real configfs-tsm port: node:fs on Linux configfs (like go-configfs-tsm
 * `linuxtsm`). It only moves bytes; what the kernel does with them (generation,
 * outblob from the firmware) is exercised against `@donjon/testkit` `fakeTsm`.
 *
 * configfs rules this follows: a report entry is made with mkdir and removed with
 * rmdir — its attribute files cannot be unlinked, and rmdir succeeds while they
 * are there; an attribute is written with one write().
 */
import * as path from "node:path";
import { readWholeFile, writeOnce } from "../_io.ts";
import type { TsmPort } from "./port.ts";

// Not `import … from "node:fs"`: see platform_node.ts (startup cost of the ESM namespace).
const fs = process.getBuiltinModule("node:fs");

/** Options of `linuxTsmPort`. */
export interface LinuxTsmPortOptions {
  /**
   * The only directory whose children `removeAll` may remove. Default
   * `/sys/kernel/config/tsm/report`. Tests point it at a temporary directory.
   */
  reportDir?: string;
}

/** How many random names `mkdirTemp` tries before giving up on EEXIST. */
const MKDIR_ATTEMPTS = 8;

/** The configfs-tsm port over node:fs. */
export function linuxTsmPort(options: LinuxTsmPortOptions = {}): TsmPort {
  const reportDir = path.resolve(options.reportDir ?? "/sys/kernel/config/tsm/report");
  return {
    async mkdirTemp(dir, pattern) {
      if (pattern.includes("/"))
        throw new Error(`mkdirTemp: pattern ${JSON.stringify(pattern)} contains /`);
      let last: unknown;
      for (let i = 0; i < MKDIR_ATTEMPTS; i++) {
        const random = new Uint8Array(8);
        crypto.getRandomValues(random);
        const name = pattern + Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
        const p = path.join(dir, name);
        try {
          await fs.promises.mkdir(p, { mode: 0o700 });
          return p;
        } catch (e) {
          if ((e as { code?: unknown }).code !== "EEXIST") throw e;
          last = e;
        }
      }
      throw last;
    },
    readFile: readWholeFile,
    // One open, one write: configfs hands each write() to the attribute's store.
    writeFile: writeOnce,
    async removeAll(p) {
      const resolved = path.resolve(p);
      // Remove report entries only, never anything else a bad path could name.
      if (path.dirname(resolved) !== reportDir) {
        throw new Error(`removeAll: ${p} is not an entry of ${reportDir}`);
      }
      try {
        await fs.promises.rmdir(resolved);
      } catch (e) {
        // configfs removes an entry with its attributes; a plain directory
        // imitating the tree (tests) needs its files unlinked first.
        if ((e as { code?: unknown }).code !== "ENOTEMPTY") throw e;
        for (const name of await fs.promises.readdir(resolved)) {
          await fs.promises.unlink(path.join(resolved, name));
        }
        await fs.promises.rmdir(resolved);
      }
    },
    async readDir(p) {
      return (await fs.promises.readdir(p)).sort();
    },
  };
}
