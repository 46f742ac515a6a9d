/**
 * `node:fs` without its ESM namespace. `import … from "node:fs"` builds the
 * module namespace by reading every export, and that wakes the lazy
 * `ReadStream`/`promises` getters: node:stream and fs/promises load for
 * nothing, some 8 ms of a 50 ms cold start. `getBuiltinModule` hands over
 * the plain object, whose getters stay asleep.
 */
export const nodeFs: typeof import("node:fs") = process.getBuiltinModule("node:fs");
