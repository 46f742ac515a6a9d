/**
 * gramineManifest: the keys Gramine needs for the Keep runtime, each with its
 * comment, and a refusal for every option it cannot write. (The CLI test
 * parses the same text with a TOML parser.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeepError } from "../error.ts";
import { type GramineManifestOptions, gramineManifest } from "./manifest.ts";

const BASE: GramineManifestOptions = {
  nodePath: "/opt/node/bin/node",
  runtimeDir: "/opt/donjon",
  entry: "/opt/donjon/packages/keep/bin/keep.js",
};

/** The value line of `key` and the comment block right above it. */
function entry(text: string, key: string): { value: string; comment: string } {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => l.startsWith(`${key} = `));
  assert.ok(i >= 0, `${key} is set`);
  let j = i;
  while (j > 0 && lines[j - 1]!.startsWith("#")) j--;
  return { value: lines[i]!.slice(key.length + 3), comment: lines.slice(j, i).join("\n") };
}

describe("gramineManifest", () => {
  const text = gramineManifest(BASE);

  it("sets every key the Keep runtime needs, each under a comment", () => {
    const expected: [string, string | RegExp][] = [
      ["loader.entrypoint", '"file:{{ gramine.libos }}"'],
      ["libos.entrypoint", '"/opt/node/bin/node"'],
      ["loader.log_level", '"error"'],
      ["loader.argv", "["],
      ["loader.env.LD_LIBRARY_PATH", '"/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu"'],
      ["fs.mounts", "["],
      ["sys.insecure__allow_eventfd", "true"],
      ["sys.disallow_subprocesses", "true"],
      ["sys.stack.size", '"2M"'],
      ["sgx.remote_attestation", '"dcap"'],
      ["sgx.debug", "false"],
      ["sgx.enclave_size", '"4G"'],
      ["sgx.max_threads", "32"],
      ["sgx.trusted_files", "["],
    ];
    for (const [key, value] of expected) {
      const e = entry(text, key);
      assert.equal(e.value, value, key);
      assert.ok(e.comment.length > 20, `${key} has a comment saying why`);
    }
  });

  it("fixes the command line: permission model, the runtime and /dev/attestation only, then the entry", () => {
    const argv = text.slice(
      text.indexOf("loader.argv = ["),
      text.indexOf("]", text.indexOf("loader.argv")),
    );
    const items = [...argv.matchAll(/^ {2}("[^"]*"),$/gm)].map((m) => JSON.parse(m[1]!) as string);
    assert.deepEqual(items, [
      "/opt/node/bin/node",
      "--permission",
      "--allow-worker",
      "--disable-warning=SecurityWarning",
      "--allow-fs-read=/opt/donjon/packages",
      "--allow-fs-read=/opt/donjon/node_modules",
      "--allow-fs-read=/dev/attestation",
      "--allow-fs-write=/dev/attestation/user_report_data",
      "/opt/donjon/packages/keep/bin/keep.js",
      "--backend",
      "sgx",
    ]);
    const settings = text.split("\n").filter((l) => !l.startsWith("#"));
    assert.ok(settings.every((l) => !/insecure__use_cmdline_argv|insecure__use_host_env/.test(l)));
  });

  it("mounts and trusts the runtime, Node and the libraries", () => {
    for (const uri of [
      "file:{{ gramine.runtimedir() }}/",
      "file:/opt/node/bin/node",
      "file:/opt/donjon/packages/",
      "file:/opt/donjon/node_modules/",
      "file:/lib/x86_64-linux-gnu/",
    ]) {
      assert.ok(text.includes(`  ${JSON.stringify(uri)},`), uri);
    }
    assert.ok(
      text.includes('{ path = "/opt/donjon/packages", uri = "file:/opt/donjon/packages" }'),
    );
    assert.ok(text.includes('{ path = "/lib", uri = "file:{{ gramine.runtimedir() }}" }'));
  });

  it("takes the enclave size, thread count, debug flag, arguments and library directory", () => {
    const t = gramineManifest({
      ...BASE,
      enclaveSize: "8G",
      maxThreads: 64,
      debug: true,
      args: ["--backend", "sgx", "--x"],
      archLibDir: "/lib/aarch64-linux-gnu/",
    });
    assert.equal(entry(t, "sgx.enclave_size").value, '"8G"');
    assert.equal(entry(t, "sgx.max_threads").value, "64");
    assert.equal(entry(t, "sgx.debug").value, "true");
    assert.match(entry(t, "sgx.debug").comment, /DEBUG enclave/);
    assert.ok(t.includes('  "--x",\n]'));
    assert.equal(
      entry(t, "loader.env.LD_LIBRARY_PATH").value,
      '"/lib:/lib/aarch64-linux-gnu:/usr/lib/aarch64-linux-gnu"',
    );
  });

  it("escapes a path with a quote", () => {
    const t = gramineManifest({ ...BASE, nodePath: '/opt/a"b/node' });
    assert.equal(entry(t, "libos.entrypoint").value, '"/opt/a\\"b/node"');
  });

  const bad: [string, Partial<GramineManifestOptions>, RegExp][] = [
    [
      "a relative node path",
      { nodePath: "node" },
      /nodePath: expected an absolute path, got "node"/,
    ],
    ["an empty runtime dir", { runtimeDir: "" }, /runtimeDir: expected a non-empty string/],
    [
      "an entry outside the runtime",
      { entry: "/tmp/evil.js" },
      /entry: expected a file inside runtimeDir \/opt\/donjon, got \/tmp\/evil\.js/,
    ],
    ["a Jinja delimiter", { nodePath: "/opt/{{ x }}/node" }, /contains a template delimiter/],
    ["a newline in an argument", { args: ["a\nb"] }, /args: .* control character/],
    [
      "an enclave size without unit",
      { enclaveSize: "4096" },
      /enclaveSize: expected a number with unit K, M or G/,
    ],
    ["a zero enclave size", { enclaveSize: "0G" }, /enclaveSize/],
    ["0 threads", { maxThreads: 0 }, /maxThreads: expected an integer 1–1024, got 0/],
    ["1.5 threads", { maxThreads: 1.5 }, /got 1\.5/],
  ];
  for (const [name, opts, message] of bad) {
    it(`${name}: keep.gramine.options`, () => {
      assert.throws(
        () => gramineManifest({ ...BASE, ...opts }),
        (e: unknown) =>
          e instanceof KeepError && e.code === "keep.gramine.options" && message.test(e.message),
      );
    });
  }
});
