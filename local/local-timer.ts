/**
 * The local stand-in for EventBridge Scheduler and the one-minute maintenance
 * schedule: every `intervalMs`, fires the run timers that are due (`LocalRunTimer`:
 * releases and expiries, the local implementation of the timer port) and runs a
 * maintenance pass (dead letters, runs due beyond the hold with no timer).
 */
import { type MaintenanceOptions, runMaintenance } from "../sdk/src/maintenance/maintenance.js";
import type { LocalRunTimer } from "../sdk/src/timer/local-timer.js";

export interface LocalTimerOptions extends Omit<MaintenanceOptions, "timer"> {
  /** The run timers to fire (the same one the client and workers were given). @default none: maintenance alone */
  readonly timer?: LocalRunTimer;
  /** Pause between passes, in ms. @default 250 */
  readonly intervalMs?: number;
}

export interface LocalTimer {
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function startLocalTimer(options: LocalTimerOptions): LocalTimer {
  let stopped = false;
  let wake: (() => void) | undefined;
  const report = options.onError ?? ((e: unknown) => console.error("maintenance failed:", e));
  const loop = (async () => {
    while (!stopped) {
      try {
        await options.timer?.fireDue();
        await runMaintenance({ ...options, onError: report });
      } catch (error) {
        if (!stopped) report(error);
      }
      if (stopped) break;
      // stop() during a pass must not wait out the whole interval after it.
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(resolve, options.intervalMs ?? 250);
        wake = () => {
          clearTimeout(timeout);
          resolve();
        };
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
