/**
 * `donjon verify https://HOST:PORT`: is the TLS peer at HOST:PORT a genuine
 * Keep certified by our Steward, running the expected workload? Connects,
 * completes the TLS handshake, takes the peer's certificate chain and closes
 * — no application data is sent — then judges the chain with
 * @donjon/client's `verifyKeepCertificate` and prints what was proved and
 * what was not, or every failed check.
 *
 * The handshake trusts nothing (`fetchPeerChain`), so that a chain OpenSSL
 * would refuse still gets a full verdict; the verifier is what judges it.
 *
 * With --crl (a file, or the Steward's /api/v1/crl fetched with
 * `fetchStewardCrl`, trusting the --steward-ca for an https:// Steward), the
 * verdict also checks that the Steward has not revoked the Keep's certificate.
 *
 * Exit 0 when the peer is a Keep meeting the policy, 1 when it is refused
 * (a revoked certificate, or a CRL that cannot be used, included), 2 for a
 * usage error (including an unreadable --steward-ca, --policy or --crl file),
 * or when no TLS peer, or no CRL at a --crl URL, could be reached.
 */
import * as path from "node:path";
import {
  ClientError,
  fetchPeerChain,
  fetchStewardCrl,
  type KeepVerdict,
  parseTarget,
  stewardTrust,
  verifyKeepCertificate,
} from "@donjon/client";
import { DURATION_HINT, formatDuration, parseDuration } from "../_units.ts";
import { CliError } from "../error.ts";
import { parseArgs } from "./attest/_args.ts";
import { columns } from "./attest/_io.ts";
import { parseVerifyPolicy, type VerifyPolicy } from "./verify_policy.ts";

/** What `donjon verify` needs from the process; `main` makes the real one. */
export interface VerifyContext {
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** stdout: the verdict. */
  out(text: string): void;
  /** stderr: the one-line refusal summary, and why a peer could not be reached. */
  err(text: string): void;
  /** Read a whole file. Throws a Node-style error with `code` (ENOENT…). */
  readFile(path: string): Uint8Array;
  /** The verification time. Default: the system clock. */
  now?: () => Date;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export const VERIFY_HELP = `Usage: donjon verify [OPTIONS] https://HOST:PORT

Check that the TLS peer at HOST:PORT is a genuine Keep certified by your
Steward, running the expected workload: the certificate chain to the Steward
CA, its validity now, the Keep claims it carries (TEE, trust tier,
measurement, workload identity, TCB status) and the policy. Connects,
completes the TLS handshake and closes: no application data is sent.

Options:
  --steward-ca FILE       The Steward's CA certificate (PEM, its ca.pem).
                          Required unless the policy file names steward_ca.
  --workload ID           The workload identity expected (64 hex digits, as
                          donjon run prints it). Default: not compared.
  --policy FILE           A TOML policy: tees, allow_software, measurements,
                          workloads, tcb_statuses, steward_ca, ignore_hostname
                          (see packages/client/README.md).
  --allow-software-tier   Accept a sandbox Keep: software tier, NO hardware
                          confidentiality (its host can read and change it).
                          Default: refused.
  --ignore-hostname       Do not check HOST against the names the certificate
                          lists. (A certificate that lists none is never
                          checked: the Keep is identified by its claims.)
  --crl FILE|URL          Check revocation against the Steward's CRL: a file
                          (DER or PEM), or a URL fetched first — the
                          Steward's base URL or its /api/v1/crl (an https://
                          Steward is trusted through --steward-ca; plain
                          http:// is fine, the CRL is signed). It must be
                          signed by the Steward CA and current (the Steward's
                          is valid one hour). Default: revocation not checked.
  --timeout DURATION      Time to connect and complete the handshake, and to
                          fetch a --crl URL (default ${formatDuration(DEFAULT_TIMEOUT_MS)}).
  --json                  Print the verdict as JSON.
  -h, --help              Show this help.

Exit status: 0 when the peer is a Keep meeting the policy; 1 when it is
refused (every failed check is printed: a revoked certificate is
client.revoked, a CRL that cannot be used client.crl); 2 for a usage error,
an unreadable --steward-ca, --policy or --crl file, or a peer or --crl URL
that cannot be reached.
`;

const SPEC = {
  values: {
    "--steward-ca": {},
    "--workload": {},
    "--policy": {},
    "--timeout": {},
    "--crl": {},
  },
  booleans: ["--allow-software-tier", "--ignore-hostname", "--json"],
};

/** Run `donjon verify` with `argv` (what follows `verify`); resolve to the exit status. */
export async function verify(argv: readonly string[], ctx: VerifyContext): Promise<number> {
  const a = parseArgs(argv, SPEC, "verify");
  if (a.help) {
    ctx.out(VERIFY_HELP);
    return 0;
  }
  const usage = (m: string, cause?: unknown) =>
    new CliError("USAGE", `${m} (see donjon verify --help)`, cause === undefined ? {} : { cause });
  if (a.positionals.length !== 1) {
    throw usage(
      a.positionals.length === 0
        ? "missing https://HOST:PORT (the Keep to verify)"
        : `one URL expected, got ${a.positionals.length}`,
    );
  }
  const url = a.positionals[0]!;
  try {
    parseTarget(url);
  } catch (e) {
    if (e instanceof ClientError) throw usage(e.message.replace(/^url: /, ""), e);
    throw e;
  }
  const workload = a.values.get("--workload")?.[0];
  if (workload !== undefined && !/^[0-9a-fA-F]{64}$/.test(workload)) {
    throw usage(
      `--workload must be 64 hex digits (a workload identity), got ${JSON.stringify(workload)}`,
    );
  }
  const timeoutText = a.values.get("--timeout")?.[0];
  const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeoutText);
  if (timeoutMs === null || timeoutMs <= 0) {
    throw usage(`--timeout must be ${DURATION_HINT}, got ${JSON.stringify(timeoutText)}`);
  }

  // Files first, before any connection: a mistake is named without touching the network.
  const policyFile = a.values.get("--policy")?.[0];
  let file: VerifyPolicy = { policy: {}, ignoreHostname: false };
  if (policyFile !== undefined) {
    const text = new TextDecoder().decode(read(ctx, policyFile, "--policy file", usage));
    try {
      file = parseVerifyPolicy(text, policyFile, ctx.cwd);
    } catch (e) {
      if (e instanceof CliError) throw usage(e.message, e);
      throw e;
    }
  }
  const caFile = a.values.get("--steward-ca")?.[0] ?? file.stewardCa;
  if (caFile === undefined) {
    throw usage("pass --steward-ca FILE, the Steward's CA certificate (ca.pem in its directory)");
  }
  const caPem = new TextDecoder().decode(read(ctx, caFile, "--steward-ca file", usage));
  try {
    stewardTrust(caPem);
  } catch (e) {
    if (e instanceof ClientError)
      throw usage(`${caFile}: ${e.message.replace(/^stewardCa: /, "")}`, e);
    throw e;
  }
  // The CRL: a file now (a usage error when unreadable); a URL fetched before the Keep is dialled.
  const crlArg = a.values.get("--crl")?.[0];
  let crl: Uint8Array | undefined;
  const crlUrl = crlArg !== undefined && /^https?:\/\//i.test(crlArg);
  if (crlArg !== undefined && !crlUrl) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(crlArg)) {
      throw usage(`--crl must be a file or an http(s):// URL, got ${JSON.stringify(crlArg)}`);
    }
    crl = read(ctx, crlArg, "--crl file", usage);
  }
  const policy = {
    ...file.policy,
    ...(a.booleans.has("--allow-software-tier") ? { allowSoftware: true } : {}),
  };

  if (crlUrl) {
    try {
      crl = await fetchStewardCrl(crlArg!, { ca: caPem, timeoutMs });
    } catch (e) {
      if (e instanceof ClientError) {
        if (e.code === "client.options") throw usage(`--crl ${e.message.replace(/^url: /, "")}`, e);
        ctx.err(`donjon: --crl ${crlArg}: unreachable: ${e.message} [${e.code}]\n`);
        return 2;
      }
      throw e;
    }
  }

  let peer: Awaited<ReturnType<typeof fetchPeerChain>>;
  try {
    peer = await fetchPeerChain(url, { timeoutMs });
  } catch (e) {
    if (e instanceof ClientError) {
      const what = e.code === "client.tls" ? "no TLS peer" : "unreachable";
      ctx.err(`donjon: ${url}: ${what}: ${e.message} [${e.code}]\n`);
      return 2;
    }
    throw e;
  }
  const verdict = verifyKeepCertificate(peer.chain, {
    stewardCa: caPem,
    policy,
    host: peer.host,
    ignoreHostname: a.booleans.has("--ignore-hostname") || file.ignoreHostname,
    ...(workload === undefined ? {} : { workload }),
    ...(ctx.now ? { now: ctx.now } : {}),
    ...(crl === undefined ? {} : { crl }),
  });
  if (a.booleans.has("--json")) ctx.out(`${JSON.stringify({ url, ...verdict }, null, 2)}\n`);
  else ctx.out(formatKeepVerdict(url, verdict, workload !== undefined || !!policy.workloads));
  if (verdict.ok) return 0;
  const failed = verdict.checks.filter((c) => !c.ok && c.severity !== "warning");
  const codes = [...new Set(failed.map((c) => c.code ?? c.id))].join(", ");
  ctx.err(
    `donjon: ${url}: refused: ${failed.length} check${failed.length === 1 ? "" : "s"} failed (${codes})\n`,
  );
  return 1;
}

function read(
  ctx: VerifyContext,
  given: string,
  what: string,
  usage: (m: string, cause?: unknown) => CliError,
): Uint8Array {
  try {
    return ctx.readFile(path.resolve(ctx.cwd, given));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT") throw usage(`${what} ${given} not found`, e);
    if (code === "EISDIR") throw usage(`${what} ${given} is a directory`, e);
    if (code === "EACCES") throw usage(`${what} ${given}: permission denied`, e);
    throw e;
  }
}

const SOFTWARE =
  "SOFTWARE TIER: NO HARDWARE CONFIDENTIALITY — a sandbox Keep; its host can read and change it";

/** The human-readable verdict: what was proved and what was not, or every failed check. */
export function formatKeepVerdict(url: string, v: KeepVerdict, workloadExpected: boolean): string {
  const c = v.claims;
  const failed = v.checks.filter((x) => !x.ok && x.severity !== "warning");
  const passed = v.checks.filter((x) => x.ok).length;
  const software = c?.tier === "software";
  const what = !c
    ? "no Keep claims"
    : software
      ? `a sandbox Keep (${SOFTWARE.split(" — ")[0]})`
      : `a ${c.tee} Keep (hardware tier)`;
  const by = v.steward
    ? `certified by the Steward ${v.steward.subject}`
    : "not certified by the Steward given";
  let s = `${url}: ${v.ok ? "VERIFIED" : "REFUSED"} — ${what}, ${by}, as of ${v.at}\n`;
  const rows: [string, string][] = [];
  if (c) {
    rows.push(["tee", c.tee]);
    rows.push(["tier", software ? `software — ${SOFTWARE}` : "hardware"]);
    rows.push(["measurement", c.measurement]);
    rows.push([
      "workload identity",
      `${c.workload ?? "none (the evidence names no workload)"}${workloadExpected ? "" : " (not compared: pass --workload ID)"}`,
    ]);
    rows.push(["tcb status", `${c.tcbStatus}${c.tcb ? ` (reported tcb ${c.tcb})` : ""}`]);
    rows.push(["evidence sha256", c.evidenceSha256]);
  }
  const cert = v.certificate;
  if (cert) {
    rows.push([
      "certificate",
      `serial ${cert.serial}, valid ${cert.notBefore} to ${cert.notAfter}`,
    ]);
    rows.push(["subject", cert.subject]);
    rows.push(["names", cert.san.length > 0 ? cert.san.join(", ") : "none"]);
  }
  if (v.steward) rows.push(["steward", `${v.steward.subject} (sha256 ${v.steward.sha256})`]);
  s += columns(rows, "  ");
  s += `  checks: ${passed} passed, ${failed.length} failed, ${v.warnings.length} warning${v.warnings.length === 1 ? "" : "s"}\n`;
  if (software) s += `\n  !! ${SOFTWARE}\n`;
  if (!v.ok) {
    for (const f of failed) {
      s += `FAIL ${f.code ?? f.id} (${f.id})\n`;
      if (f.expected !== undefined) s += `     expected: ${f.expected}\n`;
      if (f.actual !== undefined) s += `     actual:   ${f.actual}\n`;
      if (f.remedy !== undefined) s += `     remedy:   ${f.remedy}\n`;
    }
    return s;
  }
  s += "Proved:\n";
  s += `  - the peer holds the key of a certificate the Steward CA issued, valid at ${v.at}\n`;
  s += `  - the Steward verified ${c!.tee} evidence for this key (${software ? "software tier: a host key vouches, not hardware" : "hardware tier: the TEE vouches"}), measurement ${c!.measurement.slice(0, 16)}…\n`;
  if (workloadExpected) s += `  - the Keep runs the expected workload (${c!.workload})\n`;
  for (const check of v.checks.filter((x) => x.ok && x.id === "client.hostname")) {
    s += `  - the certificate names the host dialled (${check.actual})\n`;
  }
  const crl = v.checks.find((x) => x.ok && x.id === "client.revocation.crl");
  if (crl && v.checks.some((x) => x.ok && x.id === "client.revocation")) {
    s += `  - the Steward has not revoked the certificate: not on its CRL (${crl.actual!.replace(/^signed by [^;]*; /, "")})\n`;
  }
  s += "Not proved:\n";
  if (software) s += `  - confidentiality from the host: ${SOFTWARE.split(" — ")[1]}\n`;
  for (const n of v.notChecked) s += `  - ${n}\n`;
  return s;
}
