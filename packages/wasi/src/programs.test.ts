/**
 * Real C programs (test/wasm/*.c, compiled with clang + wasi-libc) run under
 * this host against every filesystem. Each program checks its own results and
 * prints `ok NAME` / `FAIL NAME: …` lines, then `done P passed, F failed`.
 */
import assert from "node:assert/strict";
import * as nodefs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { streamHandle } from "./_streams.ts";
import type { Filesystem } from "./fs.ts";
import { HostFs } from "./hostfs.ts";
import { MemoryFs } from "./memfs.ts";
import { Wasi } from "./wasi.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const WASM = path.join(ROOT, "test/wasm");

const tmp: string[] = [];
after(() => {
  for (const d of tmp) nodefs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = nodefs.mkdtempSync(path.join(os.tmpdir(), "donjon-prog-"));
  tmp.push(d);
  return d;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  hostErrors: unknown[];
}

async function runProgram(
  name: string,
  args: string[],
  fs: Filesystem | null,
  readonly = false,
): Promise<Run> {
  const module = await WebAssembly.compile(nodefs.readFileSync(path.join(WASM, `${name}.wasm`)));
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const hostErrors: unknown[] = [];
  const capture = (into: Buffer[]) =>
    streamHandle({
      write: (b) => {
        into.push(Buffer.from(b));
        return b.length;
      },
    });
  const wasi = new Wasi({
    args: [`${name}.wasm`, ...args],
    env: { DONJON_TEST: "1" },
    preopens: fs ? [{ path: "/scratch", fs, readonly }] : [],
    stdout: capture(out),
    stderr: capture(err),
    onHostError: (e, syscall) => hostErrors.push([syscall, e]),
  });
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.imports });
  const code = wasi.start(instance);
  return {
    code,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
    hostErrors,
  };
}

function assertAllPassed(r: Run): void {
  const failed = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
  assert.deepEqual(failed, [], `failed checks:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^done \d+ passed, 0 failed$/m);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(r.hostErrors, []);
}

/** `dir` is the preopen; `parent` holds it and a sentinel file an escape would touch. */
const filesystems: [string, () => { fs: Filesystem; dir?: string; parent?: string }][] = [
  ["MemoryFs", () => ({ fs: new MemoryFs() })],
  [
    "HostFs",
    () => {
      const parent = tempDir();
      const dir = path.join(parent, "box");
      nodefs.mkdirSync(dir);
      nodefs.writeFileSync(path.join(parent, "sentinel"), "untouched");
      return { fs: new HostFs({ path: dir }), dir, parent };
    },
  ],
  [
    "HostFs with a stable root",
    () => {
      const parent = tempDir();
      const dir = path.join(parent, "box");
      nodefs.mkdirSync(dir);
      nodefs.writeFileSync(path.join(parent, "sentinel"), "untouched");
      return { fs: new HostFs({ path: dir, stableRoot: true }), dir, parent };
    },
  ],
];

const have = (name: string) => nodefs.existsSync(path.join(WASM, `${name}.wasm`));

for (const [fsName, make] of filesystems) {
  describe(`C programs on ${fsName}`, () => {
    for (const prog of ["fs_basic", "fs_paths"]) {
      it(prog, { skip: !have(prog) && "not built" }, async () => {
        assertAllPassed(await runProgram(prog, [], make().fs));
      });
    }

    it("fs_escape: every way out fails and nothing outside changes", {
      skip: !have("fs_escape") && "not built",
    }, async () => {
      const { fs, parent } = make();
      const before = parent ? listing(parent) : "";
      assertAllPassed(await runProgram("fs_escape", ["rw"], fs));
      if (parent) assert.equal(listing(parent), before, "nothing changed beside or in the preopen");
    });

    it("fs_escape on a read-only preopen: no change at all", {
      skip: !have("fs_escape") && "not built",
    }, async () => {
      const { fs, dir } = make();
      const seed = await runProgram("fs_escape", ["seed"], fs);
      assert.equal(seed.code, 0, seed.stdout + seed.stderr);
      const before = dir ? listing(dir) : "";
      assertAllPassed(await runProgram("fs_escape", ["ro"], fs, true));
      if (dir) assert.equal(listing(dir), before, "the read-only tree is unchanged");
    });
  });
}

describe("C programs without a filesystem", () => {
  it("clocks, random, args, poll, sockets", {
    skip: !have("clocks_random_args") && "not built",
  }, async () => {
    assertAllPassed(await runProgram("clocks_random_args", ["one", "two words"], null));
  });
});

/** A recursive listing with sizes and contents hashes, for before/after comparison. */
function listing(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of nodefs
      .readdirSync(d, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && !e.isSymbolicLink()) {
        out.push(`${p}/`);
        walk(p);
      } else if (e.isSymbolicLink()) {
        out.push(`${p} -> ${nodefs.readlinkSync(p)}`);
      } else {
        out.push(`${p} ${nodefs.readFileSync(p).toString("base64")}`);
      }
    }
  };
  walk(dir);
  return out.join("\n");
}
