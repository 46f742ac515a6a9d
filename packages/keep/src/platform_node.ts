/**
 * The real platform port on Node.js: node:fs and node:os only, no child
 * processes (probing must not run anything on the machine).
 */
import * as path from "node:path";
import { cpuFlagsFrom, type PlatformPort, userNamespacesFrom } from "./platform.ts";

// Not `import … from "node:fs"`: building that ESM namespace loads
// node:stream and fs/promises, which `donjon run` must not pay for once it
// probes backends (see packages/cli/src/startup.test.ts).
const fs = process.getBuiltinModule("node:fs");
const os = process.getBuiltinModule("node:os");

export interface NodePlatformPortOptions {
  /** The PATH searched by `which` (colon-separated). Default: none, then `which` finds nothing. */
  path?: string;
}

/** The platform port reading this machine. */
export function nodePlatformPort(options: NodePlatformPortOptions = {}): PlatformPort {
  const readFile = (p: string): string | null => {
    try {
      return fs.readFileSync(p, "utf8");
    } catch {
      return null;
    }
  };
  return {
    readFile,
    exists: (p) => fs.existsSync(p),
    listDir: (p) => {
      try {
        return fs.readdirSync(p).sort();
      } catch {
        return null;
      }
    },
    which: (cmd) => {
      for (const dir of (options.path ?? "").split(path.delimiter)) {
        if (dir === "") continue;
        const candidate = path.join(dir, cmd);
        try {
          if (!fs.statSync(candidate).isFile()) continue;
          fs.accessSync(candidate, fs.constants.X_OK);
          return candidate;
        } catch {}
      }
      return null;
    },
    kernelRelease: () => os.release(),
    cpuFlags: () => cpuFlagsFrom(readFile("/proc/cpuinfo")),
    userNamespaces: () => userNamespacesFrom(readFile),
  };
}
