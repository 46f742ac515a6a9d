/**
 * Path resolution beneath a directory handle: the one piece of code that keeps
 * a guest inside its preopen. It is the manual algorithm of
 * shared/specs/wasi-preview1/path-resolution.md ("Implementing path resolution
 * manually"): split the path, open one component at a time without following
 * symlinks, expand symlinks ourselves, pop on "..", and refuse absolute paths
 * and any step above the base. Because every step is taken relative to a
 * handle we already hold, a symlink or directory swapped in by someone else
 * between two steps can redirect us only to places we would have been allowed
 * to reach anyway.
 */
import {
  EINVAL,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  EPERM,
  FILETYPE_SYMBOLIC_LINK,
} from "./_constants.ts";
import { errnoOf, fail } from "./_errno.ts";
import type { DirHandle, Stat } from "./fs.ts";

/** Symlink expansions allowed in one resolution (Linux's MAXSYMLINKS is 40). */
export const MAX_SYMLINK_EXPANSIONS = 40;
/** Longest path accepted, in bytes (Linux PATH_MAX). */
export const MAX_PATH = 4096;

/** Thrown by an operation to ask the walker to expand the final component as a symlink. */
export const FOLLOW: unique symbol = Symbol("follow");

/**
 * What an operation receives: the directory holding the final component and
 * its name. `name` is "." when the path names the directory itself.
 * `slash` is true when the path ended in "/" (the final component must then be
 * a directory, and a symlink there is followed).
 */
export type PathOp<T> = (dir: DirHandle, name: string, slash: boolean) => T;

/**
 * Walk `path` beneath `base` and run `op` on its final component. When `follow`
 * is true (or the path ends in "/") and `op` throws `FOLLOW`, the final
 * component is read as a symlink and the walk goes on with its target.
 * Intermediate handles are closed before this returns.
 */
export function walk<T>(base: DirHandle, path: string, follow: boolean, op: PathOp<T>): T {
  if (path.length === 0) fail(ENOENT, "empty path");
  if (path.length > MAX_PATH) fail(ENAMETOOLONG);
  if (path.includes("\0")) fail(EINVAL, "NUL byte in path");
  if (path.charCodeAt(0) === 47) fail(EPERM, "absolute path");

  const stack: DirHandle[] = [base];
  // Components still to walk, in reverse order so that pop() is next.
  const todo = split(path);
  let slash = path.endsWith("/");
  let expansions = 0;
  try {
    for (;;) {
      const name = todo.pop();
      const dir = stack[stack.length - 1]!;
      if (name === undefined) return op(dir, ".", slash);
      if (name === "..") {
        if (stack.length === 1) fail(EPERM, "path leads outside its preopen");
        stack.pop()!.close();
        continue;
      }
      if (todo.length === 0) {
        // Final component.
        try {
          return op(dir, name, slash);
        } catch (e) {
          if (e !== FOLLOW || !(follow || slash)) throw e;
        }
        expand(dir, name);
        continue;
      }
      // Intermediate component: must be a directory, symlinks are followed.
      let child: DirHandle;
      try {
        child = dir.openAt(name, DIR_FLAGS) as DirHandle;
      } catch (e) {
        const errno = errnoOf(e);
        // O_NOFOLLOW|O_DIRECTORY on a symlink gives ELOOP or ENOTDIR depending
        // on the kernel path taken: ask whether it is a link.
        if ((errno === ELOOP || errno === ENOTDIR) && isSymlink(dir, name)) {
          expand(dir, name);
          continue;
        }
        throw e;
      }
      stack.push(child);
    }
  } finally {
    for (let i = stack.length - 1; i > 0; i--) stack[i]!.close();
  }

  function expand(dir: DirHandle, name: string): void {
    if (++expansions > MAX_SYMLINK_EXPANSIONS) fail(ELOOP, "too many symlinks");
    const target = dir.readlinkAt(name);
    if (target.length === 0) fail(ENOENT, "empty symlink");
    if (target.charCodeAt(0) === 47) fail(EPERM, "symlink to an absolute path");
    // A link that is the final component and ends in "/" must name a directory.
    if (todo.length === 0 && target.endsWith("/")) slash = true;
    // split() returns reverse order, so the target's first component pops next.
    for (const c of split(target)) todo.push(c);
  }
}

const DIR_FLAGS = {
  read: true,
  write: false,
  create: false,
  exclusive: false,
  truncate: false,
  directory: true,
  append: false,
};

/** Path components, without empty and "." ones, in reverse order. */
function split(path: string): string[] {
  const out: string[] = [];
  for (const c of path.split("/")) if (c !== "" && c !== ".") out.push(c);
  return out.reverse();
}

/** lstat `name` in `dir`, or null when it cannot be (gone, or not reachable). */
export function statOrNull(dir: DirHandle, name: string): Stat | null {
  try {
    return dir.statAt(name);
  } catch {
    return null;
  }
}

/** True when `name` in `dir` is a symlink; false when it is anything else or gone. */
export function isSymlink(dir: DirHandle, name: string): boolean {
  return statOrNull(dir, name)?.filetype === FILETYPE_SYMBOLIC_LINK;
}
