/**
 * The Keep agent: the code inside a Keep that speaks sallyport with the host,
 * proves what it runs and runs it. It trusts nothing the host sends: every
 * frame is checked by the decoder (bounds, types), every payload by the
 * parsers here (fields, sizes), and every frame against the state it arrives
 * in. A violation ends the Keep with an EXIT naming the frame.
 *
 * Order: HELLO → START → MODULE… → CONFIG… → (key, identity, evidence) →
 * EVIDENCE → [with a Steward: CONNECT ↔ CONNECTED, TLS over SOCKET_SEND /
 * SOCKET_RECV, the CSR, the answer → CERTIFICATE, or EXIT refused] → run in a
 * worker (STDOUT/STDERR out, STDIN_READ ↔ STDIN_DATA / STDIN_EOF) → EXIT. The package README's "The sallyport channel" is the
 * specification.
 */

import type { Duplex } from "node:stream";
import { Worker } from "node:worker_threads";
import { CERT_DIR } from "./_cert.ts";
// The main-thread half only: the worker's half loads WASI modules.
import { STDIN_CHUNK, StdinServer, stdinChannel } from "./_stdin_server.ts";
import { KeepError } from "./error.ts";
import type { GuestPlan, Outcome, StdioKind } from "./guest.ts";
import { generateKeepKey, type KeepKey, reportData, workloadIdentity } from "./identity.ts";
import { prepareModule } from "./module.ts";
import type { KeepNet, KeepTlsIdentity } from "./net.ts";
import type { NetChannel, NetFdPlan, NetRequest } from "./net_bridge.ts";
import { type ConnectEntry, type NetPlan, netPlanOf } from "./net_config.ts";
import { KeepSockets } from "./relay.ts";
import { RingReader, ringChannel } from "./ring.ts";
import {
  DATA_CHUNK,
  decodeJsonPayload,
  encodeFrame,
  encodeJsonFrame,
  encodeStdinRead,
  FRAME,
  type Frame,
  FrameDecoder,
  frameName,
  HEADER_SIZE,
  STEWARD_TIMEOUT_MS,
  writeHeader,
} from "./sallyport.ts";
import type { StewardCheck, StewardTarget } from "./steward_client.ts";
import { MAX_PAGES_32 } from "./wasm.ts";

/** Largest module a Keep loads. */
export const MODULE_MAX = 512 * 1024 * 1024;
/** Notes the Keep itself writes to stderr (refused clients), at most. */
export const NOTES_MAX = 100;
/** Largest config file a Keep loads. */
export const CONFIG_MAX = 1024 * 1024;
/** Longest Steward URL START may name. */
export const STEWARD_URL_MAX = 2048;
/** Largest Steward CA (PEM) START may carry. */
export const STEWARD_CA_MAX = 32 * 1024;

/** The evidence of one backend, for the report data the Keep computed. */
export interface EvidenceSource {
  tee: "sandbox" | "snp" | "tdx" | "sgx";
  collect(binding: {
    reportData: Uint8Array;
    workloadIdentity: Uint8Array;
  }): Promise<{ evidence: Uint8Array; certs: Uint8Array[] }>;
}

/** What the Keep proved, before it wraps it for the host. */
export interface KeepEvidenceParts {
  tee: EvidenceSource["tee"];
  evidence: Uint8Array;
  certs: Uint8Array[];
  keepKey: Uint8Array;
  wasmDigest: Uint8Array;
  configDigest: Uint8Array;
}

/** The Keep's end of the channel: bytes out, bytes in, end. */
export interface KeepChannel {
  /** Queue bytes for the host; false when the queue is full (wait for `onDrain` before more output). */
  write(bytes: Uint8Array): boolean | undefined;
  /** Called when a full queue has emptied. */
  onDrain?(listener: () => void): void;
  onData(listener: (chunk: Uint8Array) => void): void;
  onEnd(listener: () => void): void;
  end(): void;
}

export interface AgentOptions {
  backend: string;
  /**
   * The backend's evidence source, or a promise of it: the Keep process sets
   * it up (modules, keys) while the workload's worker boots and the host
   * sends the module. A rejection ends the Keep with an EXIT error.
   */
  evidence: EvidenceSource | Promise<EvidenceSource>;
  /** Wrap the evidence for the EVIDENCE frame (attest's CMW encoder). */
  wrapEvidence(parts: KeepEvidenceParts): Uint8Array;
  /** Start the workload's worker; default: `keep_worker.ts` in a real worker thread. */
  startWorker?: (data: unknown) => Worker;
  /** The clock the Steward's certificate is checked at. Default: the system clock. */
  now?: () => Date;
  /** How long the Keep waits for its Steward (connect, TLS, answer), in ms. Default 30 s. */
  stewardTimeoutMs?: number;
  /** How long the Keep waits for a `connect` socket (connect and TLS), in ms. Default 30 s. */
  connectTimeoutMs?: number;
}

/** How the run ended, as the EXIT frame says it. */
export type ExitReport =
  | Outcome
  | { kind: "limit"; limit: "time" | "output"; message: string }
  | { kind: "error"; code: string; message: string }
  /** The Steward refused the Keep: every failed check, as it stated them. The workload never ran. */
  | { kind: "refused"; message: string; checks: StewardCheck[] };

/** What START carries, after checking. */
export interface StartRequest {
  plan: GuestPlan;
  limits: { memoryPages: number; timeoutMs: number | null; outputBytes: number | null };
  moduleSize: number;
  configSize: number;
  /** The Steward to attest to before the workload starts, or null. */
  steward: StewardTarget | null;
}

const BOOT = `require("node:module").enableCompileCache?.();
import(${JSON.stringify(new URL("./keep_worker.ts", import.meta.url).href)});`;

const STDIO_KINDS: readonly StdioKind[] = ["null", "stdin", "stdout", "stderr"];

/** Run one Keep over `channel`; resolves with the report also sent in EXIT (null if the host went away). */
export function runAgent(channel: KeepChannel, options: AgentOptions): Promise<ExitReport | null> {
  return new Promise((resolve) => {
    const decoder = new FrameDecoder("keep");
    let state: "start" | "module" | "config" | "proving" | "attesting" | "running" | "done" =
      "start";
    let start: StartRequest | null = null;
    let module = new Uint8Array(0);
    let config = new Uint8Array(0);
    let filled = 0;
    let worker: Worker | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stdinWaiter: { max: number; resolve: (chunk: Uint8Array | null) => void } | null = null;
    let stdinServer: StdinServer | null = null;
    let reader: RingReader | null = null;
    let written = 0;
    let netCh: NetChannel | null = null;
    let netPlan: NetPlan | null = null;
    let net: KeepNet | null = null;
    /** ACCEPTED before the Keep has read its config (host ids, checked once it has). */
    let early: { fd: number; stream: Duplex }[] = [];
    /** The Keep key and, with a Steward, the chain it issued: the TLS identity. */
    let keyOf: KeepKey | null = null;
    let identityOf: Uint8Array | null = null;
    let chainPem: string | null = null;

    // A function, because callbacks change `state` behind TypeScript's narrowing.
    const done = (): boolean => state === "done";
    // Awaited only once the module is in; a failure before then must not be
    // an unhandled rejection (which ends the process) but the EXIT it becomes.
    const evidenceReady = Promise.resolve(options.evidence);
    evidenceReady.catch(() => {});
    const finish = (report: ExitReport | null): void => {
      if (state === "done") return;
      // What the worker wrote before it ended may breach the output limit (its
      // "done" can overtake the ring's wake-up): then pumpOutput ends the run itself.
      if (report) pumpOutput();
      if (done()) return;
      state = "done";
      clearTimeout(timer);
      sockets.end();
      net?.end();
      stdinServer?.close();
      if (worker) void worker.terminate();
      if (report) channel.write(encodeJsonFrame(FRAME.EXIT, report));
      channel.end();
      resolve(report);
    };
    const fail = (e: unknown): void => {
      if (e instanceof KeepError) finish({ kind: "error", code: e.code, message: e.message });
      else finish({ kind: "error", code: "keep.internal", message: String(e) });
    };

    /**
     * Relay what the worker wrote; enforce the output limit. Consecutive
     * records of one stream are merged into frames of up to DATA_CHUNK bytes:
     * a guest that writes 16 bytes at a time must not cost a frame, a
     * socket write and a host write(2) each (nor queue millions of them).
     */
    const pumpOutput = (): void => {
      if (!reader) return;
      const limit = start?.limits.outputBytes ?? null;
      // The frame being filled: header and payload in one buffer, so each
      // output byte is copied once in the Keep, from the ring into it.
      let frame: { stream: 1 | 2; buf: Uint8Array; size: number } | null = null;
      const flush = (): void => {
        if (frame === null) return;
        const type = frame.stream === 1 ? FRAME.STDOUT : FRAME.STDERR;
        writeHeader(frame.buf, type, frame.size);
        if (channel.write(frame.buf.subarray(0, HEADER_SIZE + frame.size)) === false)
          blocked = true;
        frame = null;
      };
      let over = false;
      reader.drainInto((stream, bytes) => {
        if (over) return; // past the limit: the rest is dropped (and its space freed)
        let out = bytes;
        if (limit !== null && written + out.length > limit) {
          out = out.subarray(0, limit - written);
          over = true;
        }
        written += out.length;
        for (let at = 0; at < out.length; ) {
          if (frame !== null && (frame.stream !== stream || frame.size === DATA_CHUNK)) flush();
          frame ??= { stream, buf: new Uint8Array(HEADER_SIZE + DATA_CHUNK), size: 0 };
          const take = Math.min(DATA_CHUNK - frame.size, out.length - at);
          frame.buf.set(out.subarray(at, at + take), HEADER_SIZE + frame.size);
          frame.size += take;
          at += take;
        }
      });
      flush();
      if (over && !done()) {
        finish({
          kind: "limit",
          limit: "output",
          message: `output limit of ${limit} bytes reached; the workload was stopped`,
        });
      }
    };

    /**
     * Backpressure: while the host does not keep up, stop draining the ring,
     * so the worker blocks on a full ring instead of the Keep queueing output
     * without bound.
     */
    let blocked = false;
    let unblock: (() => void) | null = null;
    let drainWaiters: (() => void)[] = [];
    channel.onDrain?.(() => {
      blocked = false;
      unblock?.();
      unblock = null;
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const w of waiters) w();
    });
    /** Connections the host relays (the Steward now; workload sockets later). */
    const sockets = new KeepSockets({
      send: (frame) => (done() ? true : channel.write(frame)),
      waitDrain: () =>
        channel.onDrain
          ? new Promise<void>((resolve) => drainWaiters.push(resolve))
          : Promise.resolve(),
      onAccepted: (fd, stream) => {
        // Not read yet: checked once it is. Read with no sockets: net is null, a violation.
        if (netPlan === null) {
          early.push({ fd, stream });
          return true;
        }
        if (net === null || !net.isListener(fd)) return false;
        net.accepted(fd, stream);
        return true;
      },
    });
    /** A note from the Keep for the user (a refused client): on the workload's stderr stream. */
    // Remote clients cause notes (a refused handshake each): bounded, so a
    // client cannot fill the user's stderr through them.
    let notes = 0;
    const note = (message: string): void => {
      if (done() || notes > NOTES_MAX) return;
      notes++;
      const text =
        notes > NOTES_MAX
          ? `donjon keep: ${NOTES_MAX} notes shown; further ones are left out\n`
          : `donjon keep: ${message}\n`;
      const bytes = new TextEncoder().encode(text);
      channel.write(encodeFrame(FRAME.STDERR, bytes.subarray(0, DATA_CHUNK)));
    };

    /**
     * The Keep reads the network settings from the config bytes it measured
     * (never from the host), then checks the connections the host accepted
     * meanwhile against them.
     */
    const readNet = async (): Promise<void> => {
      // netPlan is set only once net is: onAccepted tells "not read yet" by it.
      const plan = await netPlanOf(config);
      if (plan.entries.length === 0) {
        net = null;
      } else {
        const pins = plan.entries.some((e) => e.kind === "listen" && e.clientWorkload !== null);
        const pin = pins ? (await import("./peer_pin.ts")).pinRefusal : null;
        // Loaded only by Keeps with sockets, like TLS itself; so are the
        // bridge's shared buffers, which reach the worker with its module.
        const [{ KeepNet }, { netChannel }] = await Promise.all([
          import("./net.ts"),
          import("./net_bridge.ts"),
        ]);
        netCh = netChannel();
        net = new KeepNet({
          plan,
          channel: netCh!,
          note,
          peerCheck: (s, e) =>
            e.clientWorkload === null || pin === null
              ? null
              : pin(s.getPeerX509Certificate()?.raw, e.clientWorkload),
        });
      }
      netPlan = plan;
      const waiting = early;
      early = [];
      for (const a of waiting) {
        if (net === null || !net.isListener(a.fd)) {
          throw new KeepError(
            "keep.sallyport.order",
            `sallyport: ACCEPTED on fd ${a.fd}, which is not a listen socket of the config the Keep measured`,
          );
        }
        net.accepted(a.fd, a.stream);
      }
    };

    const onFrame = (frame: Frame): void => {
      switch (state) {
        case "start": {
          if (frame.type !== FRAME.START) throw order(frame, "START");
          start = parseStart(decodeJsonPayload(frame));
          module = new Uint8Array(start.moduleSize);
          config = new Uint8Array(start.configSize);
          state = "module";
          return;
        }
        case "module":
        case "config": {
          const type = state === "module" ? FRAME.MODULE : FRAME.CONFIG;
          if (frame.type !== type) throw order(frame, frameName(type));
          const target = state === "module" ? module : config;
          if (filled + frame.payload.length > target.length) {
            throw new KeepError(
              "keep.sallyport.length",
              `sallyport: ${frameName(type)} carries ${filled + frame.payload.length - target.length} bytes past the ${target.length} START declared`,
            );
          }
          target.set(frame.payload, filled);
          filled += frame.payload.length;
          if (filled === target.length) advance();
          return;
        }
        case "proving":
        case "attesting":
        case "running": {
          // Connection frames are checked against the table of connections:
          // before the Keep opened one, every one is out of order.
          if (KeepSockets.handles(frame.type)) {
            sockets.handle(frame);
            return;
          }
          if (state === "attesting") throw order(frame, "CONNECTED, SOCKET_RECV or SOCKET_CLOSED");
          if (state === "proving") throw order(frame, "nothing (the Keep is proving or has ended)");
          if (frame.type !== FRAME.STDIN_DATA && frame.type !== FRAME.STDIN_EOF) {
            throw order(frame, "STDIN_DATA or STDIN_EOF");
          }
          if (stdinWaiter === null) {
            throw new KeepError(
              "keep.sallyport.order",
              `sallyport: ${frameName(frame.type)} arrived, but the Keep asked for no stdin`,
            );
          }
          if (frame.payload.length > stdinWaiter.max) {
            throw new KeepError(
              "keep.sallyport.length",
              `sallyport: ${frameName(frame.type)} carries ${frame.payload.length} bytes; the Keep asked for at most ${stdinWaiter.max}`,
            );
          }
          const w = stdinWaiter;
          stdinWaiter = null;
          w.resolve(frame.type === FRAME.STDIN_EOF ? null : frame.payload);
          return;
        }
        default:
          throw order(frame, "nothing (the Keep is proving or has ended)");
      }
    };

    /** MODULE complete → CONFIG; CONFIG complete → prove and run. */
    const advance = (): void => {
      filled = 0;
      if (state === "module" && config.length > 0) {
        state = "config";
        return;
      }
      state = "proving";
      readNet()
        .then(prove)
        .then(attest)
        .then((go) => (go ? launch() : undefined))
        .catch(fail);
    };

    const prove = async (): Promise<{ key: KeepKey; wrapper: Uint8Array } | null> => {
      const wasmDigest = await sha256(module);
      const configDigest = await sha256(config);
      const identity = await workloadIdentity(wasmDigest, configDigest);
      const key = await generateKeepKey();
      keyOf = key;
      identityOf = identity;
      const rd = await reportData(key.spki, identity);
      const source = await evidenceReady;
      if (done()) return null;
      const { evidence, certs } = await source.collect({
        reportData: rd,
        workloadIdentity: identity,
      });
      if (done()) return null; // the host broke the protocol meanwhile: the Keep has ended
      const wrapper = options.wrapEvidence({
        tee: source.tee,
        evidence,
        certs,
        keepKey: key.spki,
        wasmDigest,
        configDigest,
      });
      channel.write(encodeFrame(FRAME.EVIDENCE, wrapper));
      return { key, wrapper };
    };

    /**
     * With a Steward: the CSR over the Keep key and the evidence, TLS inside
     * the Keep through a relayed connection, and the Steward's decision.
     * Resolves true when the workload may start.
     */
    const attest = async (
      proved: { key: KeepKey; wrapper: Uint8Array } | null,
    ): Promise<boolean> => {
      if (proved === null || state !== "proving") return false;
      const steward = start!.steward;
      if (steward === null) return true;
      state = "attesting";
      // Loaded only here: Keeps without a Steward do not pay for X.509, TLS or HTTP.
      const [{ buildKeepCsr }, { requestCertificate }] = await Promise.all([
        import("./csr.ts"),
        import("./steward_client.ts"),
      ]);
      const csr = await buildKeepCsr({ key: proved.key, wrapper: proved.wrapper });
      if (done()) return false;
      const answer = await requestCertificate({
        steward,
        csr,
        keepSpki: proved.key.spki,
        connect: () => sockets.connect("steward"),
        timeoutMs: options.stewardTimeoutMs ?? STEWARD_TIMEOUT_MS,
        now: options.now ?? (() => new Date()),
      });
      if (done()) return false;
      if (answer.kind === "refused") {
        finish(
          fitRefusal(
            `the Steward at ${new URL(steward.url).host} refused the Keep: ${answer.detail || `${answer.checks.length} checks failed`}`,
            answer.checks,
          ),
        );
        return false;
      }
      channel.write(encodeFrame(FRAME.CERTIFICATE, new TextEncoder().encode(answer.pem)));
      chainPem = answer.pem;
      state = "proving";
      return true;
    };

    const launch = async (): Promise<void> => {
      if (state !== "proving") return;
      const s = start!;
      let prepared: Awaited<ReturnType<typeof prepareModule>>;
      try {
        prepared = await prepareModule(module as Uint8Array<ArrayBuffer>, {
          maxPages: s.limits.memoryPages,
          limitBytes: s.limits.memoryPages * 65536,
          name: "the module",
          limitSource: "the Keep's memory limit",
        });
      } catch (e) {
        fail(e);
        return;
      }
      // Measured, read and compiled: the bytes are not needed again, and the
      // I/O thread should not hold a large module for the whole run.
      module = new Uint8Array(0);
      config = new Uint8Array(0);
      if (state !== "proving") return;
      let fds: NetFdPlan;
      let cert: string | null;
      try {
        ({ fds, cert } = await openNet(s));
      } catch (e) {
        fail(e);
        return;
      }
      if (state !== "proving") return;
      state = "running";
      worker!.postMessage({
        type: "module",
        module: prepared.module,
        plan: s.plan,
        net: fds,
        netChannel: netCh,
        cert,
      });
      void (async () => {
        while (state === "running") {
          if (blocked) {
            await new Promise<void>((resolve) => {
              unblock = resolve;
            });
            continue;
          }
          await reader!.written();
          pumpOutput();
        }
      })();
    };

    /**
     * The workload's sockets and certificate, from the Keep's own reading of
     * its config: the TLS identity for listen sockets (the Steward's chain,
     * or self-signed without a Steward), `connect` sockets opened (and their
     * peers checked) before the workload starts, FD_COUNT and FD_NAMES.
     */
    const openNet = async (s: StartRequest): Promise<{ fds: NetFdPlan; cert: string | null }> => {
      const plan = netPlan!;
      if (s.plan.dirs.some((d) => d.guest === CERT_DIR || d.guest.startsWith(`${CERT_DIR}/`))) {
        throw new KeepError(
          "keep.config",
          `${CERT_DIR} is where the Keep puts its certificate; a [[dirs]] entry cannot use it`,
        );
      }
      let identity: KeepTlsIdentity | null = null;
      if (chainPem !== null || net?.needsTls) {
        const { keepTlsIdentity } = await import("./tls_identity.ts");
        identity = await keepTlsIdentity(keyOf!, chainPem, {
          workload: identityOf!,
          now: options.now ?? (() => new Date()),
        });
        if (net?.needsTls) await net.setIdentity(identity);
      }
      const fds: NetFdPlan = [];
      for (const e of plan.entries) {
        if (e.kind === "listen") fds.push({ kind: "listener", fd: e.fd });
        else fds.push({ kind: "connection", h: net!.connection(await openConnect(e, plan)) });
      }
      if (plan.names !== null) {
        s.plan.env.FD_COUNT = String(plan.names.length);
        s.plan.env.FD_NAMES = plan.names.join(":");
      }
      return { fds, cert: identity?.cert ?? null };
    };

    /** A `connect` entry's stream: relayed by the host, TLS here, the peer checked as the config says. */
    const openConnect = async (e: ConnectEntry, plan: NetPlan): Promise<Duplex> => {
      const where = `fd ${e.fd} "${e.name}" (${e.host}:${e.port})`;
      const ms = options.connectTimeoutMs ?? STEWARD_TIMEOUT_MS;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const opened: Duplex[] = [];
      const attempt = async (): Promise<Duplex> => {
        let raw: Duplex;
        try {
          raw = await sockets.connect({ fd: e.fd });
        } catch (err) {
          throw new KeepError(
            "keep.net.connect",
            `cannot open ${where}: ${(err as Error).message}`,
          );
        }
        opened.push(raw);
        if (e.prot === "tcp") return raw;
        const tls = await import("node:tls");
        const { isIP } = await import("node:net");
        const ca = [...(plan.trust.public ? tls.rootCertificates : []), ...plan.trust.roots];
        const secure = await new Promise<Duplex>((resolve, reject) => {
          const t = tls.connect({
            socket: raw,
            ca,
            host: e.host,
            ...(isIP(e.host) === 0 ? { servername: e.host } : {}),
            minVersion: "TLSv1.2",
          });
          opened.push(t);
          t.once("error", (err) =>
            reject(new KeepError("keep.net.connect", `TLS to ${where} failed: ${err.message}`)),
          );
          t.once("secureConnect", () => resolve(t));
        });
        if (e.peerWorkload !== null) {
          const { pinRefusal } = await import("./peer_pin.ts");
          const why = pinRefusal(
            (secure as import("node:tls").TLSSocket).getPeerX509Certificate()?.raw,
            e.peerWorkload,
          );
          if (why !== null) {
            throw new KeepError("keep.net.connect", `the peer of ${where} is refused: ${why}`);
          }
        }
        return secure;
      };
      try {
        return await Promise.race([
          attempt(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new KeepError(
                    "keep.net.connect",
                    `${where} did not connect within ${ms / 1000} s`,
                  ),
                ),
              ms,
            );
          }),
        ]);
      } catch (err) {
        for (const d of opened) d.destroy();
        throw err;
      } finally {
        clearTimeout(timer);
      }
    };

    /**
     * The worker starts with the Keep, before the host has said anything:
     * its isolate boots while the host sends the module and the Keep proves
     * itself, which would otherwise be the longest wait of a short run. It
     * gets the module and the plan only once the Keep has checked them.
     */
    const spawnWorker = (): void => {
      const output = ringChannel();
      reader = new RingReader(output);
      const stdin = stdinChannel();
      stdinServer = new StdinServer(stdin, () => ({
        next: () =>
          new Promise<Uint8Array | null>((res) => {
            pumpOutput(); // the host sees a prompt before the read that follows it
            if (done()) return; // that output breached the limit: no more reads
            stdinWaiter = { max: STDIN_CHUNK, resolve: res };
            channel.write(encodeStdinRead(STDIN_CHUNK));
          }),
        close: () => {},
      }));
      const data = { output, stdin };
      /** The workload's outcome arrived; the worker may exit before EXIT is sent. */
      let settling = false;
      const w = options.startWorker
        ? options.startWorker(data)
        : new Worker(BOOT, { eval: true, workerData: data });
      worker = w;
      w.on("message", (m: { type: string; outcome?: Outcome; req?: NetRequest }) => {
        // A message that arrives after the end (the worker raced its termination) changes nothing.
        if (done()) return;
        if (m.type === "started") {
          const s = start!;
          if (s.limits.timeoutMs !== null) {
            timer = setTimeout(
              () =>
                finish({
                  kind: "limit",
                  limit: "time",
                  message: `time limit of ${s.limits.timeoutMs} ms reached; the workload was stopped`,
                }),
              s.limits.timeoutMs,
            );
          }
        } else if (m.type === "stdin") {
          void stdinServer!.serve();
        } else if (m.type === "net") {
          if (net === null)
            fail(
              new KeepError(
                "keep.process",
                "the workload made a socket call, but it has no sockets",
              ),
            );
          else net.serve(m.req!);
        } else if (m.type === "done") {
          // What the workload wrote on its sockets goes out before EXIT.
          const outcome = m.outcome!;
          settling = true;
          if (net === null) finish(outcome);
          else void net.settle(2000).then(() => finish(outcome));
        }
      });
      w.on("error", (e) => fail(e));
      w.on("exit", () => {
        // After "done" the worker ends on its own, often while its sockets still flush.
        if (!done() && !settling) {
          fail(new KeepError("keep.process", "the workload's worker exited without a result"));
        }
      });
    };

    channel.onData((chunk) => {
      if (state === "done") return;
      try {
        for (const frame of decoder.push(chunk)) {
          if (done()) return;
          onFrame(frame);
        }
      } catch (e) {
        fail(e);
      }
    });
    channel.onEnd(() => {
      if (state === "done") return;
      // The host went away: nobody is left to tell; stop.
      try {
        decoder.end();
      } catch {}
      finish(null);
    });
    channel.write(
      encodeJsonFrame(FRAME.HELLO, {
        protocol: "donjon-sallyport",
        version: 1,
        backend: options.backend,
      }),
    );
    // After HELLO, so that a worker that cannot start is an EXIT the host can read.
    try {
      spawnWorker();
    } catch (e) {
      fail(e);
    }
  });
}

/** Room for a refusal in EXIT (64 KiB), with some to spare. */
const REFUSAL_MAX = 60 * 1024;

/**
 * EXIT `refused` within its frame's bound: the Steward's checks in order,
 * as many as fit; the message says how many were left out.
 */
export function fitRefusal(message: string, checks: StewardCheck[]): ExitReport {
  const size = (r: ExitReport) => new TextEncoder().encode(JSON.stringify(r)).length;
  let kept = checks.slice();
  let report: ExitReport = { kind: "refused", message, checks: kept };
  while (size(report) > REFUSAL_MAX) {
    kept = kept.slice(0, -1);
    const left = checks.length - kept.length;
    report = {
      kind: "refused",
      message: `${message.slice(0, 1024)} (${left} more ${left === 1 ? "check" : "checks"} not shown)`,
      checks: kept,
    };
  }
  return report;
}

function order(frame: Frame, expected: string): KeepError {
  return new KeepError(
    "keep.sallyport.order",
    `sallyport: unexpected ${frameName(frame.type)}; expected ${expected}`,
  );
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

// --- START ----------------------------------------------------------------

function bad(message: string): KeepError {
  return new KeepError("keep.sallyport.payload", `sallyport: START ${message}`);
}

function exactKeys(o: Record<string, unknown>, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw bad(`${where} has unknown field ${JSON.stringify(k)}`);
  }
  for (const k of keys) {
    if (!(k in o)) throw bad(`${where} lacks field ${JSON.stringify(k)}`);
  }
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw bad(`${where} must be an object`);
  return v as Record<string, unknown>;
}

function int(v: unknown, min: number, max: number, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${where} must be an integer from ${min} to ${max}, not ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string") throw bad(`${where} must be a string`);
  if (v.includes("\0")) throw bad(`${where} contains a NUL character`);
  return v;
}

/** Check START's payload field by field; unknown fields are refused. */
export function parseStart(o: Record<string, unknown>): StartRequest {
  exactKeys(o, ["plan", "limits", "module", "config", "steward"], "payload");
  const plan = object(o.plan, "plan");
  exactKeys(plan, ["args", "env", "stdio", "dirs"], "plan");
  if (!Array.isArray(plan.args) || plan.args.length === 0) {
    throw bad("plan.args must be a non-empty array (argv[0] included)");
  }
  const args = plan.args.map((a, i) => str(a, `plan.args[${i}]`));
  const envIn = object(plan.env, "plan.env");
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(envIn)) {
    if (k === "" || k.includes("=") || k.includes("\0")) {
      throw bad(`plan.env has an invalid name ${JSON.stringify(k)}`);
    }
    env[k] = str(v, `plan.env.${k}`);
  }
  if (!Array.isArray(plan.stdio) || plan.stdio.length !== 3) {
    throw bad("plan.stdio must be an array of 3 entries (fds 0, 1, 2)");
  }
  const stdio = plan.stdio.map((k, i) => {
    if (!STDIO_KINDS.includes(k as StdioKind)) {
      throw bad(`plan.stdio[${i}] must be one of ${STDIO_KINDS.join(", ")}`);
    }
    return k as StdioKind;
  }) as GuestPlan["stdio"];
  if (!Array.isArray(plan.dirs) || plan.dirs.length > 64) {
    throw bad("plan.dirs must be an array of at most 64 directories");
  }
  const dirs = plan.dirs.map((d, i) => {
    const e = object(d, `plan.dirs[${i}]`);
    exactKeys(e, ["guest", "host", "readonly"], `plan.dirs[${i}]`);
    if (typeof e.readonly !== "boolean") throw bad(`plan.dirs[${i}].readonly must be a boolean`);
    const host = e.host === null ? null : str(e.host, `plan.dirs[${i}].host`);
    if (host !== null && !host.startsWith("/")) {
      throw bad(`plan.dirs[${i}].host must be an absolute path`);
    }
    return { guest: str(e.guest, `plan.dirs[${i}].guest`), host, readonly: e.readonly };
  });
  const limits = object(o.limits, "limits");
  exactKeys(limits, ["memoryPages", "timeoutMs", "outputBytes"], "limits");
  const memoryPages = int(limits.memoryPages, 0, MAX_PAGES_32, "limits.memoryPages");
  const timeoutMs =
    limits.timeoutMs === null ? null : int(limits.timeoutMs, 1, 2 ** 31 - 1, "limits.timeoutMs");
  const outputBytes =
    limits.outputBytes === null
      ? null
      : int(limits.outputBytes, 0, Number.MAX_SAFE_INTEGER, "limits.outputBytes");
  const mod = object(o.module, "module");
  exactKeys(mod, ["size"], "module");
  const cfg = object(o.config, "config");
  exactKeys(cfg, ["size"], "config");
  return {
    plan: { args, env, stdio, dirs },
    limits: { memoryPages, timeoutMs, outputBytes },
    moduleSize: int(mod.size, 8, MODULE_MAX, "module.size"),
    configSize: int(cfg.size, 0, CONFIG_MAX, "config.size"),
    steward: o.steward === null ? null : parseSteward(object(o.steward, "steward")),
  };
}

/**
 * START's `steward`: `{url, ca}`. The URL is `https://` — or `http://` on a
 * loopback host, which never leaves the machine — with no credentials, query
 * or fragment; `ca` is the PEM the Steward's TLS certificate must chain to,
 * required for https.
 */
function parseSteward(s: Record<string, unknown>): StewardTarget {
  exactKeys(s, ["url", "ca"], "steward");
  const text = str(s.url, "steward.url");
  if (text.length > STEWARD_URL_MAX) {
    throw bad(`steward.url is longer than ${STEWARD_URL_MAX} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(`steward.url is not a URL: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw bad("steward.url must not carry credentials, a query or a fragment");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    throw bad(
      `steward.url must be https:// (or http:// on a loopback host), not ${JSON.stringify(`${url.protocol}//${url.host}`)}`,
    );
  }
  let ca: string | null = null;
  if (s.ca !== null) {
    ca = str(s.ca, "steward.ca");
    if (ca.length > STEWARD_CA_MAX) {
      throw bad(`steward.ca is ${ca.length} characters; at most ${STEWARD_CA_MAX}`);
    }
    if (
      !/^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/m.test(ca)
    ) {
      throw bad("steward.ca must be PEM certificates (-----BEGIN CERTIFICATE-----)");
    }
  } else if (url.protocol === "https:") {
    throw bad("steward.ca is required for an https:// Steward");
  }
  return { url: url.href, ca };
}

/** localhost, 127.0.0.0/8 or ::1 (as URL.hostname spells them). */
export function isLoopback(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

// The host's side builds MODULE and CONFIG frames with it; kept here too for the tests.
export { loadFrames } from "./sallyport.ts";
