/**
 * Where a key is in a TOML document. smol-toml gives values but no positions,
 * and config errors must name the line, so this scans the source the way TOML
 * (v1.0.0) lays it out: table headers `[a.b]`, array-of-tables headers
 * `[[files]]` (the n-th one is element n), and `key = value` lines with bare,
 * quoted and dotted keys. Strings, multi-line strings and multi-line arrays
 * are stepped over so their contents are never taken for keys. It never judges
 * the document: smol-toml has already accepted it.
 */

/** A path into the parsed document: table keys and array indexes. */
export type KeyPath = readonly (string | number)[];

type Mode = "normal" | "basic" | "literal" | "ml-basic" | "ml-literal";

const BARE = /^[A-Za-z0-9_-]+/;
const BASIC = /^"(?:[^"\\]|\\.)*"/;
const LITERAL = /^'[^']*'/;

/** Parse dotted keys at the start of `s`; return them and the length consumed, or null. */
function readKeys(s: string): { keys: string[]; length: number } | null {
  const keys: string[] = [];
  let i = 0;
  for (;;) {
    while (s[i] === " " || s[i] === "\t") i++;
    const rest = s.slice(i);
    const bare = BARE.exec(rest);
    const basic = bare ? null : BASIC.exec(rest);
    const literal = bare || basic ? null : LITERAL.exec(rest);
    const m = bare ?? basic ?? literal;
    if (!m) return null;
    if (bare) keys.push(m[0]);
    else if (literal) keys.push(m[0].slice(1, -1));
    else {
      try {
        keys.push(JSON.parse(m[0]) as string);
      } catch {
        keys.push(m[0].slice(1, -1));
      }
    }
    i += m[0].length;
    while (s[i] === " " || s[i] === "\t") i++;
    if (s[i] !== ".") return { keys, length: i };
    i++;
  }
}

const key = (p: KeyPath): string => JSON.stringify(p);

/** Map every key path the document writes to the 1-based line where it first appears. */
export function keyLines(source: string): Map<string, number> {
  const lines = new Map<string, number>();
  const arrays = new Map<string, number>(); // array-of-tables name → current index
  let table: (string | number)[] = [];
  let mode: Mode = "normal";
  let depth = 0;

  const record = (path: (string | number)[], line: number): void => {
    for (let n = 1; n <= path.length; n++) {
      const k = key(path.slice(0, n));
      if (!lines.has(k)) lines.set(k, line);
    }
  };

  /** Header keys → path, inserting the current index after each array-of-tables prefix. */
  const headerPath = (keys: string[], isArray: boolean): (string | number)[] => {
    const path: (string | number)[] = [];
    for (let n = 0; n < keys.length; n++) {
      path.push(keys[n]!);
      const name = key(keys.slice(0, n + 1));
      const last = n === keys.length - 1;
      if (last && isArray) {
        const index = (arrays.get(name) ?? -1) + 1;
        arrays.set(name, index);
        path.push(index);
      } else if (arrays.has(name)) {
        path.push(arrays.get(name)!);
      }
    }
    return path;
  };

  /** Follow strings and brackets through `s` so that the next line starts in the right state. */
  const scan = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (mode === "normal") {
        if (c === "#") return;
        if (s.startsWith('"""', i)) {
          mode = "ml-basic";
          i += 2;
        } else if (s.startsWith("'''", i)) {
          mode = "ml-literal";
          i += 2;
        } else if (c === '"') mode = "basic";
        else if (c === "'") mode = "literal";
        else if (c === "[" || c === "{") depth++;
        else if (c === "]" || c === "}") depth--;
      } else if (mode === "basic" || mode === "ml-basic") {
        if (c === "\\") i++;
        else if (mode === "basic" && c === '"') mode = "normal";
        else if (mode === "ml-basic" && s.startsWith('"""', i)) {
          // A closing run may be up to five quotes long; the last three close.
          while (s[i + 3] === '"') i++;
          mode = "normal";
          i += 2;
        }
      } else if (mode === "literal") {
        if (c === "'") mode = "normal";
      } else if (s.startsWith("'''", i)) {
        while (s[i + 3] === "'") i++;
        mode = "normal";
        i += 2;
      }
    }
    // Single-line strings cannot span lines.
    if (mode === "basic" || mode === "literal") mode = "normal";
  };

  const src = source.split(/\r?\n/);
  for (let n = 0; n < src.length; n++) {
    const text = src[n]!;
    const line = n + 1;
    if (mode !== "normal" || depth > 0) {
      scan(text);
      continue;
    }
    const trimmed = text.trimStart();
    const header = /^\[(\[?)/.exec(trimmed);
    if (header) {
      const isArray = header[1] === "[";
      const k = readKeys(trimmed.slice(isArray ? 2 : 1));
      if (k) {
        table = headerPath(k.keys, isArray);
        record(table, line);
      }
      continue;
    }
    const k = readKeys(trimmed);
    if (!k || trimmed[k.length] !== "=") continue;
    record([...table, ...k.keys], line);
    scan(trimmed.slice(k.length + 1));
  }
  return lines;
}

/**
 * The line of `path` in `lines`, or of its nearest ancestor that the source
 * writes (an array element's line is its array's line), or null.
 */
export function lineOf(lines: Map<string, number>, path: KeyPath): number | null {
  for (let n = path.length; n > 0; n--) {
    const line = lines.get(key(path.slice(0, n)));
    if (line !== undefined) return line;
  }
  return null;
}
