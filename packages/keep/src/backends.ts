/**
 * The one table of Keep backends (DESIGN.md, "The Keep"). Each entry says
 * what it is and how to tell whether this machine can run it: probes for
 * "hardware present" and "machine configured", each with the fix when it
 * fails. A backend that cannot run here is not hidden: its failing probes
 * say why. Probes read the machine only through a `PlatformPort`.
 *
 * Like enarx `src/backend/mod.rs`.
 */
import { KeepError } from "./error.ts";
import type { PlatformPort } from "./platform.ts";

/** One fact about the machine, and what to do when it is not as needed. */
export interface Probe {
  /** What is probed: `/dev/sev-guest`, `kernel`, `bwrap`… */
  name: string;
  /** True when the machine is as the backend needs. */
  pass: boolean;
  /** What was found, in words (`6.1.0-18-amd64, configfs-tsm needs ≥ 6.7`). */
  info: string;
  /** The command or step that fixes a failed probe; null when it passed. */
  remedy: string | null;
}

export type BackendName = "nil" | "sandbox" | "snp" | "tdx" | "sgx";

/** A backend as probed on one machine. */
export interface BackendReport {
  name: BackendName;
  /** One line: what the backend is. */
  description: string;
  /** True when `auto` may choose it (never `nil`). */
  autoPick: boolean;
  /** Probes that must all pass for the backend to run. */
  probes: Probe[];
  /**
   * Protections the backend adds where the machine allows (the sandbox's
   * bubblewrap). A failed one does not stop the backend; it is reported.
   */
  hardening: Probe[];
  /** True when every probe in `probes` passed. */
  available: boolean;
}

interface BackendEntry {
  name: BackendName;
  description: string;
  autoPick: boolean;
  probes: (p: PlatformPort) => Probe[];
  hardening: (p: PlatformPort) => Probe[];
}

/** The first kernel with configfs-tsm (`/sys/kernel/config/tsm/report`). */
export const TSM_MIN_KERNEL: readonly [number, number] = [6, 7];

const TSM_REPORT = "/sys/kernel/config/tsm/report";
const ATTESTATION = "/dev/attestation";

const SNP_VM =
  "run inside an SEV-SNP confidential VM (e.g. Azure DCasv5/ECasv5, GCP N2D with --confidential-compute-type=SEV_SNP, AWS M6a/C6a/R6a with --cpu-options AmdSevSnp=enabled)";
const TDX_VM =
  "run inside an Intel TDX confidential VM (e.g. Azure DCesv5/ECesv5, GCP C3 with --confidential-compute-type=TDX)";
const GRAMINE =
  'run donjon under Gramine-SGX (gramine-sgx) with sgx.remote_attestation = "dcap" in its manifest';

/** The table, in display order. `auto` tries `AUTO_ORDER`. */
const BACKENDS: readonly BackendEntry[] = [
  {
    name: "nil",
    description: "in process, no isolation, no evidence (debugging only)",
    autoPick: false,
    probes: () => [],
    hardening: () => [],
  },
  {
    name: "sandbox",
    description:
      "separate Node process under the permission model (bubblewrap where present); software evidence, not confidential",
    autoPick: true,
    probes: () => [],
    hardening: (p) => [bwrapProbe(p), userNamespaceProbe(p)],
  },
  {
    name: "snp",
    description: "AMD SEV-SNP confidential VM; evidence from configfs-tsm",
    autoPick: true,
    probes: (p) => [
      cpuFlagProbe(p, "sev_snp", SNP_VM),
      deviceProbe(p, "/dev/sev-guest", "load the sev-guest module: modprobe sev-guest"),
      kernelProbe(p),
      tsmProbe(p, "sev_guest", "modprobe sev-guest"),
    ],
    hardening: () => [],
  },
  {
    name: "tdx",
    description: "Intel TDX confidential VM; evidence from configfs-tsm",
    autoPick: true,
    probes: (p) => [
      cpuFlagProbe(p, "tdx_guest", TDX_VM),
      deviceProbe(p, "/dev/tdx_guest", "load the tdx-guest module: modprobe tdx-guest"),
      kernelProbe(p),
      tsmProbe(p, "tdx_guest", "modprobe tdx-guest"),
    ],
    hardening: () => [],
  },
  {
    name: "sgx",
    description: "Intel SGX enclave under Gramine; evidence from /dev/attestation",
    autoPick: true,
    probes: (p) => [
      cpuFlagProbe(
        p,
        "sgx",
        "run on an Intel CPU with SGX enabled in the firmware (e.g. Azure DCsv3)",
      ),
      attestationProbe(p),
      deviceProbe(p, `${ATTESTATION}/quote`, GRAMINE),
      deviceProbe(p, `${ATTESTATION}/user_report_data`, GRAMINE),
    ],
    hardening: () => [],
  },
];

/** The order in which `auto` tries backends; `nil` is never chosen automatically. */
export const AUTO_ORDER: readonly BackendName[] = ["snp", "tdx", "sgx", "sandbox"];

/** Every backend name, in table order. */
export const BACKEND_NAMES: readonly BackendName[] = BACKENDS.map((b) => b.name);

/** Probe every backend of the table on the machine behind `port`. */
export function probeBackends(port: PlatformPort): BackendReport[] {
  return BACKENDS.map((b) => {
    const probes = b.probes(port);
    return {
      name: b.name,
      description: b.description,
      autoPick: b.autoPick,
      probes,
      hardening: b.hardening(port),
      available: probes.every((x) => x.pass),
    };
  });
}

/**
 * The backend to run: for `auto`, the first of `AUTO_ORDER` whose probes all
 * pass; for a name, that backend if its probes all pass.
 *
 * @throws KeepError `keep.backend.unknown` for a name not in the table,
 *   `keep.backend.unavailable` (with the failed probes) for a named backend
 *   that cannot run here, `keep.backend.none` when `auto` finds nothing.
 */
export function pickBackend(choice: string, reports: readonly BackendReport[]): BackendReport {
  if (choice === "auto") {
    for (const name of AUTO_ORDER) {
      const r = reports.find((x) => x.name === name);
      if (r?.autoPick && r.available) return r;
    }
    const failed = reports
      .filter((r) => r.autoPick)
      .flatMap((r) => r.probes.filter((x) => !x.pass));
    throw new KeepError(
      "keep.backend.none",
      `no backend can run here (tried ${AUTO_ORDER.join(", ")})`,
      { failed },
    );
  }
  const r = reports.find((x) => x.name === choice);
  if (!r) {
    throw new KeepError(
      "keep.backend.unknown",
      `unknown backend ${JSON.stringify(choice)} (expected auto, ${BACKEND_NAMES.join(", ")})`,
    );
  }
  if (!r.available) {
    const failed = r.probes.filter((x) => !x.pass);
    throw new KeepError(
      "keep.backend.unavailable",
      `backend ${r.name} cannot run here: ${failed.map((x) => x.name).join(", ")} failed`,
      { failed },
    );
  }
  return r;
}

function ok(name: string, info: string): Probe {
  return { name, pass: true, info, remedy: null };
}

function fail(name: string, info: string, remedy: string): Probe {
  return { name, pass: false, info, remedy };
}

/** A CPU flag in /proc/cpuinfo: what the (guest) kernel sees of the hardware. */
function cpuFlagProbe(p: PlatformPort, flag: string, remedy: string): Probe {
  const name = `cpu flag ${flag}`;
  return p.cpuFlags().includes(flag)
    ? ok(name, `${flag} in /proc/cpuinfo flags`)
    : fail(name, `no ${flag} in /proc/cpuinfo flags`, remedy);
}

function deviceProbe(p: PlatformPort, path: string, remedy: string): Probe {
  return p.exists(path) ? ok(path, "present") : fail(path, "missing", remedy);
}

/** The kernel release's major.minor, or null when it does not start with them. */
export function kernelVersion(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function kernelProbe(p: PlatformPort): Probe {
  const release = p.kernelRelease();
  const v = kernelVersion(release);
  const [major, minor] = TSM_MIN_KERNEL;
  const need = `configfs-tsm needs ≥ ${major}.${minor}`;
  const remedy = `boot a kernel ≥ ${major}.${minor} (e.g. Ubuntu 24.04, Debian bookworm-backports linux-image-amd64)`;
  if (v === null)
    return fail("kernel", `cannot read a version from ${JSON.stringify(release)}; ${need}`, remedy);
  const good = v[0] > major || (v[0] === major && v[1] >= minor);
  return good
    ? ok("kernel", `${release} (${need})`)
    : fail("kernel", `${release}; ${need}`, remedy);
}

/**
 * configfs-tsm and its provider. Probing creates nothing: the `provider`
 * attribute lives in each report entry, so with no entry yet the provider is
 * unknown, and the probe says so.
 */
function tsmProbe(p: PlatformPort, provider: string, load: string): Probe {
  const name = "configfs-tsm";
  if (!p.exists(TSM_REPORT)) {
    if (!p.exists("/sys/kernel/config")) {
      return fail(
        name,
        "/sys/kernel/config is not mounted",
        "mount configfs: mount -t configfs none /sys/kernel/config",
      );
    }
    return fail(
      name,
      `${TSM_REPORT} is missing (kernel without CONFIG_TSM_REPORTS, or no provider loaded)`,
      `use a kernel ≥ 6.7 with CONFIG_TSM_REPORTS and load the provider: ${load}`,
    );
  }
  const entries = p.listDir(TSM_REPORT) ?? [];
  if (entries.length === 0) return ok(name, "configfs-tsm present (no report entry yet)");
  const found = entries.map((e) => ({
    entry: e,
    provider: p.readFile(`${TSM_REPORT}/${e}/provider`)?.trim() ?? "unreadable",
  }));
  const list = found.map((f) => `${f.entry}: provider ${f.provider}`).join(", ");
  return found.some((f) => f.provider === provider)
    ? ok(name, `configfs-tsm present (${list})`)
    : fail(
        name,
        `configfs-tsm present but no entry has provider ${provider} (${list})`,
        `this machine's TSM is not ${provider}: run donjon platform info to see which backend fits`,
      );
}

/** Gramine's attestation pseudo-filesystem, and whether remote attestation is on. */
function attestationProbe(p: PlatformPort): Probe {
  const name = `gramine ${ATTESTATION}`;
  if (!p.exists(ATTESTATION)) return fail(name, "missing (not running under Gramine)", GRAMINE);
  const type = p.readFile(`${ATTESTATION}/attestation_type`)?.trim();
  if (type === undefined) return ok(name, "present (attestation_type not reported)");
  return type === "dcap"
    ? ok(name, "present, attestation_type dcap")
    : fail(
        name,
        `present, attestation_type ${JSON.stringify(type)}`,
        'set sgx.remote_attestation = "dcap" in the Gramine manifest',
      );
}

function bwrapProbe(p: PlatformPort): Probe {
  const at = p.which("bwrap");
  return at !== null
    ? ok("bwrap", at)
    : fail(
        "bwrap",
        "not on PATH: the sandbox runs without a network namespace, read-only root or private /tmp",
        "apt-get install bubblewrap",
      );
}

function userNamespaceProbe(p: PlatformPort): Probe {
  return p.userNamespaces()
    ? ok("user namespaces", "unprivileged user namespaces allowed")
    : fail(
        "user namespaces",
        "unprivileged user namespaces are off (bwrap cannot create its namespaces)",
        "sysctl -w kernel.unprivileged_userns_clone=1 (Debian) or sysctl -w user.max_user_namespaces=15000",
      );
}
