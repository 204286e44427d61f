/**
 * The run's event log: an append-only, totally ordered list per run (DESIGN.md
 * invariant 4). `eventId` starts at 1 and increases by 1 with no gaps.
 */
import type { RunError, RunStatus } from "./run.js";

/** Log levels of a run's log lines. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One log line. `at` is an ISO 8601 UTC time. */
export interface LogLine {
  readonly at: string;
  readonly level: LogLevel;
  readonly message: string;
}

/** The kinds of event, and what each carries. */
export type RunEventBody =
  | {
      /** The run entered `status`. `reason` says why for cancels, expiries, retries and recoveries. */
      readonly type: "status";
      readonly status: RunStatus;
      readonly reason?: string;
      /** For a failed attempt (retry scheduled, or Failed): its error. */
      readonly error?: RunError;
      /** For a retry: when the next attempt may start (ISO 8601 UTC). */
      readonly retryAt?: string;
    }
  /** Log lines the handler wrote, several per event (buffered, written in chunks). */
  | { readonly type: "log"; readonly lines: readonly LogLine[] }
  /** The handler's latest progress, 0..1 (frequent reports coalesced). */
  | { readonly type: "progress"; readonly progress: number }
  /** Items a streaming handler yielded, in order, several per event. */
  | { readonly type: "output"; readonly items: readonly unknown[] }
  /** The attempt's output stream ended normally after `count` items. */
  | { readonly type: "outputComplete"; readonly count: number }
  /** Items of the streamed argument `name` (a pipeline input), in order. */
  | { readonly type: "input"; readonly name: string; readonly items: readonly unknown[] }
  /** The streamed argument `name` ended; with `error`, its source failed. */
  | { readonly type: "inputComplete"; readonly name: string; readonly error?: RunError };

/** The `type` of every event. */
export type RunEventType = RunEventBody["type"];

/** Whether `event` is a status event into a terminal status: the last event of a run's log. */
export function isTerminalEvent(event: RunEventBody): boolean {
  return (
    event.type === "status" &&
    (event.status === "Succeeded" || event.status === "Failed" || event.status === "Canceled")
  );
}

/** An event as read back: its body plus identity and time. */
export type RunEvent = RunEventBody & {
  readonly runId: string;
  /** Position in the run's log, from 1. */
  readonly eventId: number;
  /** The attempt during which it was written (0 before the first claim). */
  readonly attempt: number;
  /** ISO 8601 UTC. */
  readonly at: string;
};
