/**
 * The local stand-in for EventBridge Scheduler and the one-minute maintenance
 * schedule: every `intervalMs`, fires the run timers that are due (`LocalRunTimer`:
 * releases and expiries, the local implementation of the timer port) and runs the
 * maintenance sweep, so `notBefore` releases, `notAfter` expiries, lost messages and
 * expired leases are handled within that interval even when no worker polls.
 */
import { type SweepOptions, sweep } from "../sdk/src/maintenance/sweep.js";
import type { LocalRunTimer } from "../sdk/src/timer/local-timer.js";

export interface LocalTimerOptions extends SweepOptions {
  /** The run timers to fire (the same one the client and workers were given). @default none: the sweep alone */
  readonly timer?: LocalRunTimer;
  /** Pause between sweeps, in ms. @default 250 */
  readonly intervalMs?: number;
  /** Called with a sweep's error (the next sweep still runs). @default console.error */
  readonly onError?: (error: unknown) => void;
}

export interface LocalTimer {
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

export function startLocalTimer(options: LocalTimerOptions): LocalTimer {
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      try {
        await options.timer?.fireDue();
        await sweep(options);
      } catch (error) {
        if (!stopped) (options.onError ?? ((e) => console.error("sweep failed:", e)))(error);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.intervalMs ?? 250);
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
