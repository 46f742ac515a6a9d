/** Which host preopens may have their names looked up by path. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GuestPlan } from "./guest.ts";
import { stableRoot } from "./node_platform.ts";

describe("stableRoot", () => {
  const plan = (...hosts: (string | null)[]): GuestPlan => ({
    args: [],
    env: {},
    stdio: ["null", "null", "null"],
    dirs: hosts.map((host, i) => ({ guest: `/d${i}`, host, readonly: false })),
  });
  const real = (p: string) => (p.startsWith("/missing") ? null : p);
  const table: [string, string, GuestPlan, boolean][] = [
    ["alone", "/a", plan("/a"), true],
    ["beside another", "/a", plan("/a", "/b", null), true],
    ["the same directory twice", "/a", plan("/a", "/a"), true],
    ["inside another preopen", "/a/b", plan("/a", "/a/b"), false],
    ["containing another preopen", "/a", plan("/a", "/a/b"), true],
    ["a name prefix is not a parent", "/ab", plan("/a", "/ab"), true],
    ["under a preopened /", "/a", plan("/", "/a"), false],
    ["unresolvable", "/missing", plan("/missing"), false],
  ];
  for (const [name, path, p, expected] of table) {
    it(name, () => assert.equal(stableRoot(path, p, real), expected));
  }
});
