/**
 * Test support, not part of the package's surface: the host end of a
 * sallyport channel in memory, for driving `runAgent` in process (agent and
 * contract tests). It checks what the Keep sends with the host's own decoder,
 * records every frame, and remembers anything written after the Keep ended
 * the channel — which the protocol forbids, so tests assert there is none.
 */
import { type AgentOptions, type ExitReport, type KeepChannel, runAgent } from "./agent.ts";
import type { GuestPlan } from "./guest.ts";
import {
  decodeJsonPayload,
  decodeU32,
  encodeFrame,
  encodeJsonFrame,
  FRAME,
  type Frame,
  FrameDecoder,
  loadFrames,
} from "./sallyport.ts";

/** One in-memory channel; `channel` is the Keep's end. */
export class FakeHost {
  /** Every frame the Keep sent, in order. */
  readonly frames: Frame[] = [];
  /** Bytes the Keep wrote after it ended the channel (must stay empty). */
  readonly afterEnd: Uint8Array[] = [];
  /** A protocol error in what the Keep sent (must stay null). */
  decodeError: Error | null = null;
  /** Resolves when the Keep ends the channel. */
  readonly ended: Promise<void>;
  readonly channel: KeepChannel;
  #ended = false;
  #endedResolve!: () => void;
  #data: ((chunk: Uint8Array) => void) | null = null;
  #end: (() => void) | null = null;
  #waiters: { test: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  #listeners: ((f: Frame) => void)[] = [];
  #decoder = new FrameDecoder("host");
  #hostClosed = false;

  constructor() {
    this.ended = new Promise((resolve) => {
      this.#endedResolve = resolve;
    });
    this.channel = {
      write: (bytes) => {
        if (this.#ended) {
          this.afterEnd.push(bytes.slice());
          return true;
        }
        let frames: Frame[];
        try {
          frames = this.#decoder.push(bytes);
        } catch (e) {
          this.decodeError = e as Error;
          return true;
        }
        for (const f of frames) {
          this.frames.push(f);
          for (const l of this.#listeners) l(f);
          this.#waiters = this.#waiters.filter((w) => {
            if (!w.test(f)) return true;
            w.resolve(f);
            return false;
          });
        }
        return true;
      },
      onData: (l) => {
        this.#data = l;
      },
      onEnd: (l) => {
        this.#end = l;
      },
      end: () => {
        this.#ended = true;
        this.#endedResolve();
      },
    };
  }

  /** Whether the Keep has ended the channel. */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** Call `l` for each frame the Keep sends from now on. */
  onFrame(l: (f: Frame) => void): void {
    this.#listeners.push(l);
  }

  /** The first frame (already received or to come) that passes `test`. */
  waitFor(test: (f: Frame) => boolean): Promise<Frame> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  /**
   * Bytes to the Keep, each chunk in its own later turn of the event loop, as
   * a socket delivers them (never re-entering the Keep's own write).
   */
  send(...chunks: Uint8Array[]): void {
    for (const c of chunks) {
      setImmediate(() => {
        if (!this.#hostClosed) this.#data?.(c);
      });
    }
  }

  /** The host goes away (after what was sent before it has been delivered). */
  close(): void {
    setImmediate(() => {
      this.#hostClosed = true;
      this.#end?.();
    });
  }

  /** The frames of one type, in order. */
  of(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** The concatenated payloads of one type, as UTF-8. */
  text(type: number): string {
    return Buffer.concat(this.of(type).map((f) => f.payload)).toString("utf8");
  }
}

/** START's limits; every field may be overridden. */
export const DEFAULT_LIMITS = { memoryPages: 1024, timeoutMs: 60_000, outputBytes: null } as const;

/** What a well-behaved host asks the Keep to run. */
export interface Workload {
  wasm: Uint8Array;
  config?: Uint8Array;
  plan?: Partial<GuestPlan>;
  limits?: Partial<{ memoryPages: number; timeoutMs: number | null; outputBytes: number | null }>;
  /** Stdin, served chunk by chunk to STDIN_READ (each cut to the count asked), then EOF. */
  stdin?: Uint8Array[];
  /** START's steward (default null: no attestation). */
  steward?: { url: string; ca: string | null } | null;
}

/** The START payload a well-behaved host sends for `w`. */
export function startPayload(w: Workload): Record<string, unknown> {
  return {
    plan: {
      args: ["workload.wasm"],
      env: {},
      stdio: ["stdin", "stdout", "stderr"],
      dirs: [],
      ...w.plan,
    },
    limits: { ...DEFAULT_LIMITS, ...w.limits },
    module: { size: w.wasm.length },
    config: { size: w.config?.length ?? 0 },
    steward: w.steward ?? null,
  };
}

/** The frames a well-behaved host sends after HELLO: START, MODULE…, CONFIG…. */
export function loadWorkload(w: Workload): Uint8Array[] {
  return [
    encodeJsonFrame(FRAME.START, startPayload(w)),
    ...loadFrames(FRAME.MODULE, w.wasm),
    ...(w.config && w.config.length > 0 ? loadFrames(FRAME.CONFIG, w.config) : []),
  ];
}

/** How a run went, seen from the host. */
export interface HostView {
  /** What runAgent resolved with. */
  report: ExitReport | null;
  host: FakeHost;
  hello: Record<string, unknown>;
  /** The EVIDENCE payload, or null when none came. */
  evidence: Uint8Array | null;
  stdout: string;
  stderr: string;
  /** The EXIT payload, or null when none came. */
  exit: Record<string, unknown> | null;
}

/** Run `w` through `runAgent` with a well-behaved host, to the end. */
export async function hostRun(w: Workload, options: AgentOptions): Promise<HostView> {
  const host = new FakeHost();
  const stdin = [...(w.stdin ?? [])];
  host.onFrame((f) => {
    if (f.type === FRAME.HELLO) host.send(...loadWorkload(w));
    if (f.type === FRAME.STDIN_READ) {
      const max = decodeU32(f.payload);
      const next = stdin.shift();
      if (next === undefined) {
        host.send(encodeFrame(FRAME.STDIN_EOF));
      } else {
        if (next.length > max) stdin.unshift(next.subarray(max));
        host.send(encodeFrame(FRAME.STDIN_DATA, next.subarray(0, max)));
      }
    }
  });
  const report = await runAgent(host.channel, options);
  await host.ended;
  return view(host, report);
}

/** The host's view of a finished run. */
export function view(host: FakeHost, report: ExitReport | null): HostView {
  const hello = host.of(FRAME.HELLO)[0];
  const evidence = host.of(FRAME.EVIDENCE)[0];
  const exit = host.of(FRAME.EXIT)[0];
  return {
    report,
    host,
    hello: hello ? decodeJsonPayload(hello) : {},
    evidence: evidence ? evidence.payload : null,
    stdout: host.text(FRAME.STDOUT),
    stderr: host.text(FRAME.STDERR),
    exit: exit ? decodeJsonPayload(exit) : null,
  };
}
