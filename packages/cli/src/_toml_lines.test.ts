import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "smol-toml";
import { type KeyPath, keyLines, lineOf } from "./_toml_lines.ts";

const DOC = `# a comment with key = "value"
steward = "https://example.com" # trailing
args = [
  "--flag",
  "x = 1",
]
"quoted key" = 1
limits.memory = "1MiB"
text = """
fake = 1
[not.a.table]
"""
lit = '''
also = 2
'''

[env]
HOME = "/"
'dotted.name' = "x"

[[files]]
kind = "stdin"

[[files]]
kind = "stdout"
name = "out"

  [ dirs . "sub" ]
  mode = "ro"

[[files]]
kind = "null"

[deep]
inline = { a = 1, b = 2 }
`;

test("the document is valid TOML (so the cases below are meaningful)", () => {
  assert.doesNotThrow(() => parse(DOC));
});

const cases: [KeyPath, number | null][] = [
  [["steward"], 2],
  [["args"], 3],
  [["args", 1], 3],
  [["quoted key"], 7],
  [["limits"], 8],
  [["limits", "memory"], 8],
  [["text"], 9],
  [["fake"], null],
  [["not"], null],
  [["lit"], 13],
  [["also"], null],
  [["env"], 17],
  [["env", "HOME"], 18],
  [["env", "dotted.name"], 19],
  [["files"], 21],
  [["files", 0], 21],
  [["files", 0, "kind"], 22],
  [["files", 1], 24],
  [["files", 1, "kind"], 25],
  [["files", 1, "name"], 26],
  [["dirs", "sub", "mode"], 29],
  [["files", 2, "kind"], 32],
  [["deep", "inline"], 35],
  [["deep", "inline", "a"], 35],
  [["nowhere"], null],
];

for (const [path, line] of cases) {
  test(`${JSON.stringify(path)} is on line ${line}`, () => {
    assert.equal(lineOf(keyLines(DOC), path), line);
  });
}

test("CRLF line endings count lines the same", () => {
  const lines = keyLines("a = 1\r\n[t]\r\nb = 2\r\n");
  assert.equal(lineOf(lines, ["t", "b"]), 3);
});

test("a multi-line basic string ending in extra quotes closes", () => {
  const lines = keyLines('s = """x""""\nk = 1\n');
  assert.equal(lineOf(lines, ["k"]), 2);
});

test("an escaped quote does not close a basic string", () => {
  const lines = keyLines('s = "a \\" [ b"\nk = 1\n');
  assert.equal(lineOf(lines, ["k"]), 2);
});
