/**
 * The one function that touches `process`: it turns argv, the environment's
 * working directory, stdio and the file system into a `CliContext`, runs the
 * command, and turns any failure into a message on stderr and an exit status.
 */
import { dispatch } from "./cli.ts";
import { CliError, EXIT_INTERNAL } from "./error.ts";

// Not `import … from "node:fs"`: building that ESM namespace loads
// node:stream and fs/promises for nothing (see @donjon/wasi's _nodefs.ts).
const fs = process.getBuiltinModule("node:fs");

/** Where Donjon keeps per-user state (XDG Base Directory: $XDG_STATE_HOME, else ~/.local/state). */
function stateDir(): string {
  const xdg = process.env.XDG_STATE_HOME;
  // XDG says a relative XDG_STATE_HOME is invalid and must be ignored.
  const base = xdg?.startsWith("/")
    ? xdg
    : `${process.env.HOME ?? process.getBuiltinModule("node:os").homedir()}/.local/state`;
  return `${base}/donjon`;
}

/** Write all of `bytes` to `fd`, waiting out EAGAIN on a non-blocking pipe. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += fs.writeSync(fd, bytes, at);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

const utf8 = new TextEncoder();

/** Run `donjon` with `argv` (`process.argv.slice(2)`); resolve to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // Straight to fd 2, not `process.stderr.write`: the first use of
  // `process.stderr` builds a stream (node:stream and, for a pipe, node:net
  // with its socket wrap) — ≈ 1.5–2 MiB of peak memory for `donjon run`'s one
  // note, which is written synchronously either way (stdio pipes, files and
  // terminals are synchronous in Node on Linux), as the guest's own stderr is.
  // A message that cannot be written (stderr closed: EPIPE, EBADF) is lost,
  // but the exit status still says what happened.
  const err = (text: string): void => {
    try {
      writeAll(2, utf8.encode(text));
    } catch {}
  };
  try {
    return await dispatch(argv, {
      cwd: process.cwd(),
      now: () => new Date(),
      fetch: globalThis.fetch,
      // Loaded when a command asks, so `donjon run` does not load it at start-up.
      platform: async () => {
        const { nodePlatformPort } = await import("@donjon/keep/platform-node");
        return nodePlatformPort({ path: process.env.PATH ?? "" });
      },
      out: (text) => void process.stdout.write(text),
      err,
      readFile: (path) => fs.readFileSync(path),
      writeOut: (bytes) => writeAll(1, bytes),
      writeErr: (bytes) => writeAll(2, bytes),
      makeDir: (path) => void fs.mkdirSync(path, { recursive: true, mode: 0o700 }),
      writeFile: (path, bytes) => fs.writeFileSync(path, bytes, { mode: 0o644 }),
      stateDir: stateDir(),
      nodePath: process.execPath,
      kindOf: (path) => {
        const st = fs.statSync(path, { throwIfNoEntry: false });
        return st === undefined ? "missing" : st.isDirectory() ? "directory" : "file";
      },
      openStdin: () => {
        const chunks = process.stdin[Symbol.asyncIterator]();
        return {
          next: async () => {
            const r = await chunks.next();
            return r.done ? null : (r.value as Uint8Array);
          },
          // destroy(), not chunks.return(): return() waits for a pending read.
          close: () => void process.stdin.destroy(),
        };
      },
    });
  } catch (e) {
    if (e instanceof CliError) {
      err(`donjon: ${e.message}\n`);
      for (const line of e.details) err(`${line}\n`);
      return e.exitStatus;
    }
    err(`donjon: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_INTERNAL;
  }
}
