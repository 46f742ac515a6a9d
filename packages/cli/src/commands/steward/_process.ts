/**
 * The process's signals for `donjon steward`: the one file besides `main.ts`
 * that touches `process`, so that the command itself stays testable with a
 * fake (STYLE "Services and CLI").
 */
import type { StewardSignal, StewardSignals } from "./steward.ts";

const NAMES: readonly StewardSignal[] = ["SIGHUP", "SIGINT", "SIGTERM"];

/** SIGHUP, SIGINT and SIGTERM of this process. */
export const processSignals: StewardSignals = {
  subscribe(handler) {
    const listeners = NAMES.map((name) => {
      const listener = (): void => handler(name);
      process.on(name, listener);
      return [name, listener] as const;
    });
    return () => {
      for (const [name, listener] of listeners) process.off(name, listener);
    };
  },
};
