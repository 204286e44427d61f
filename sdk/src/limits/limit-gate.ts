/**
 * The claim under limits: what a worker does before the claim of a run whose job or
 * queue has a limit, or whose queue is paused. Runs of unlimited jobs in running queues
 * pass straight to the blind claim (`store/claim.ts`) and cost exactly what they did.
 *
 * ```
 * limited run's message
 *   ├─ read the run (1 RU); not Pending at the message's attempt, or not due ─▶ the usual decision
 *   ├─ its queue paused ───────────────────────────────▶ wait ("queue paused")
 *   ├─ its concurrency key function fails ─────────────▶ Failed (ConcurrencyKeyError), no attempt used
 *   ├─ a limit full, or an earlier waiter there ───────▶ wait on that limit
 *   └─ else: claim with a free slot of every limit, in the claim's transaction
 * wait: enter the limit's waiter list, drop the message, read the limits again (lost wake-ups)
 * ```
 * A child whose parent is running and holds a slot of the same limit runs under its
 * parent's slot (it takes none): a parent awaiting its children in its own limited job
 * or queue never deadlocks it.
 */
import { windowStart } from "../domain/rate-window.js";
import type { WaitingFor } from "../domain/run.js";
import { failPending } from "../domain/transitions.js";
import { ConcurrencyKeyError } from "../errors.js";
import type { JobApp } from "../jobs/job-app.js";
import type { JobDefinition } from "../jobs/job-definition.js";
import type { QueueDefinition } from "../jobs/queue-definition.js";
import type { RateLimitDefinition } from "../jobs/rate-limit-definition.js";
import type { Dispatcher, RunMessage } from "../queue/dispatcher.js";
import { applyTransition } from "../runs/lifecycle.js";
import type { RunItem, SlotRef } from "../store/run-item.js";
import type { RunStore } from "../store/run-store.js";
import type { TransactItem } from "../store/transact.js";
import {
  type ConcurrencyLimit,
  concurrencyLimitsOf,
  hasConcurrencyLimits,
  queueLimitKey,
  queueWaitList,
} from "./concurrency-limits.js";
import { freeSlot, limitOfSlot, readLimit, takeSlot, type WaitList } from "./limit-partition.js";
import type { QueueStates } from "./queue-states.js";
import { takePermit } from "./rate-permits.js";
import { available, findPermit, nextPermitOf, rateWaitList, readAllShards } from "./rate-shards.js";
import { enterWaitList, type PermitGrant, waiterSortKey, wakeNext } from "./waiters.js";

/** What the gate decided for one message. */
export type Admission =
  /** No limit applies: the blind claim, as for any run. */
  | { readonly kind: "free" }
  /** Claim with these items in the transaction (slots), recording `slots` on the run. */
  | {
      readonly kind: "claim";
      readonly also: readonly TransactItem[];
      readonly slots: readonly SlotRef[];
      /** The time the permits were counted at: the claim's start time (so a start is in the window that counted it). */
      readonly nowMs: number;
    }
  /** The run is not claimable as it is: decide from this image (drop, hold, expire, recover). */
  | { readonly kind: "current"; readonly run: RunItem | undefined }
  /** The run waits in a waiter list, or was failed: delete the message. */
  | { readonly kind: "done" };

export interface LimitGateOptions {
  readonly app: JobApp;
  readonly store: RunStore;
  readonly dispatcher: Dispatcher;
  readonly queueStates: QueueStates;
  readonly now: () => number;
}

export class LimitGate {
  readonly #options: LimitGateOptions;

  constructor(options: LimitGateOptions) {
    this.#options = options;
  }

  /** Decides how the message's run may be claimed (see the module comment). `parent`: the child's parent as read for the lineage check. */
  async admit(message: RunMessage, parent?: RunItem): Promise<Admission> {
    const { app, store, queueStates } = this.#options;
    const jobName = message.jobName ?? (await store.get(message.runId))?.jobName;
    const job = jobName === undefined ? undefined : app.getJob(jobName);
    if (!job) return { kind: "free" };
    const queue = app.getQueue(job.queue) ?? { name: job.queue, priority: 0 };
    const paused = await queueStates.isPaused(queue.name);
    const rates = ratesOf(app, job, queue);
    if (!paused && !hasConcurrencyLimits(job, queue) && rates.length === 0) return { kind: "free" };
    const run = await store.get(message.runId);
    const now = this.#options.now();
    if (
      run?.status !== "Pending" ||
      run.attempt !== message.attempt ||
      (run.notBeforeMs !== undefined && run.notBeforeMs > now) ||
      (run.notAfterMs !== undefined && run.notAfterMs <= now)
    )
      return { kind: "current", run };
    if (paused) return this.#wait(run, queue, { ...queueWaitList(queue), waitingFor: "queue paused" }, []);
    let limits: ConcurrencyLimit[];
    try {
      const args = job.concurrencyKey ? JSON.parse((await store.argsJson(run)) ?? "null") : undefined;
      limits = concurrencyLimitsOf(job, queue, args);
    } catch (error) {
      if (!(error instanceof ConcurrencyKeyError)) throw error;
      const failed = await applyTransition(store, run, (r) =>
        failPending(
          r,
          run.attempt,
          { type: error.name, message: error.message },
          "concurrency key",
          this.#options.now(),
        ),
      );
      return failed ? { kind: "done" } : { kind: "current", run: await store.get(run.runId) };
    }
    const inherited = new Set(
      parent?.status === "Running" ? (parent.slots ?? []).map((s) => limitOfSlot(s).key) : [],
    );
    limits = limits.filter((limit) => !inherited.has(limit.key));
    const mine = waiterSortKey(run, queue.priority);
    const states = await Promise.all(limits.map((limit) => readLimit(store, limit)));
    const also: TransactItem[] = [];
    // Slots handed to the run when it was woken are its own already.
    const slots: SlotRef[] = [...(run.slots ?? [])];
    for (const [i, limit] of limits.entries()) {
      if (slots.some((slot) => limitOfSlot(slot).key === limit.key)) continue;
      const state = states[i];
      const k = state ? freeSlot(state, limit.max) : undefined;
      const queued = state?.headWaiterSk !== undefined && state.headWaiterSk < mine;
      if (k === undefined || queued) return this.#wait(run, queue, limit, limits);
      const taken = takeSlot(store, limit, k, run);
      also.push(taken.item);
      slots.push(taken.ref);
    }
    for (const rate of rates) {
      // A permit of this window handed to the run when it was woken is its own already.
      const start = windowStart(now, rate.windowMs);
      if (run.permits?.some((p) => p.name === rate.name && p.windowStart === start)) continue;
      const list = rateWaitList(rate);
      const [permit, waiters] = await Promise.all([
        findPermit(store, rate, now),
        readLimit(store, { ...list, max: 0 }),
      ]);
      const queued = waiters.headWaiterSk !== undefined && waiters.headWaiterSk < mine;
      if (permit.take === undefined || queued)
        return this.#waitForRate(run, queue, list, permit.nextAt, limits);
      also.push(...permit.take);
    }
    return { kind: "claim", also, slots, nowMs: now };
  }

  /**
   * Waits for a rate permit: enters the rate limit's waiter list and makes sure a wake-up
   * is due when the next permit frees (one lane message per limit and time, held until
   * then; waiters that find permits at once are woken at once).
   */
  async #waitForRate(
    run: RunItem,
    queue: QueueDefinition,
    list: WaitList,
    nextAt: number,
    limits: readonly ConcurrencyLimit[],
  ): Promise<Admission> {
    const changed = await enterWaitList(this.#options.store, run, list, "rate limit", queue.priority);
    if (changed) return { kind: "current", run: changed };
    await this.#options.dispatcher.sendLimitWake(list.key, nextAt);
    await this.#wakeWhereFree(queue, limits);
    return { kind: "done" };
  }

  /** Puts the run in `on`'s waiter list, then reads the limits again so no wake-up is lost. */
  async #wait(
    run: RunItem,
    queue: QueueDefinition,
    on: WaitList & { readonly waitingFor: WaitingFor },
    limits: readonly ConcurrencyLimit[],
  ): Promise<Admission> {
    const changed = await enterWaitList(this.#options.store, run, on, on.waitingFor, queue.priority);
    if (changed) return { kind: "current", run: changed };
    await this.#wakeWhereFree(queue, limits);
    return { kind: "done" };
  }

  /**
   * Wakes the head waiter of every limit of the run that has a free slot and a waiter
   * (the run itself, or one ahead of it; or, for a run woken from one list that now waits
   * on another, the next of the list it left), and the queue's waiters when it is not
   * paused after all (a worker's pause state may be up to a second old).
   */
  async #wakeWhereFree(queue: QueueDefinition, limits: readonly ConcurrencyLimit[]): Promise<void> {
    const { store, queueStates } = this.#options;
    const paused = await queueStates.isPaused(queue.name, true);
    const queueKey = queueLimitKey(queue.name);
    await Promise.all(
      limits
        .filter((limit) => !(paused && limit.key === queueKey))
        .map(async (limit) => {
          const state = await readLimit(store, limit);
          const free = limit.max - state.held.size;
          if (free > 0 && state.headWaiterSk !== undefined)
            await wakeNext(this.#options, limit, free, { slots: limit.max });
        }),
    );
    if (!paused && !limits.some((limit) => limit.key === queueKey)) await wakeQueue(this.#options, queue);
  }
}

/** The rate limits a run of `job` counts against: its job's and its queue's (once if they are the same). */
function ratesOf(
  app: JobApp,
  job: JobDefinition<unknown, unknown>,
  queue: QueueDefinition,
): RateLimitDefinition[] {
  const names = new Set(
    [job.rateLimit, queue.rateLimit].filter((name): name is string => name !== undefined),
  );
  return [...names].flatMap((name) => app.getRateLimit(name) ?? []);
}

/**
 * A rate limit's wake-up is due: wakes as many of its waiters as there are permits now in
 * all its shards, head first, and, while waiters remain, schedules the next wake-up.
 * Returns how many it woke.
 */
export async function wakeRateWaiters(
  deps: { readonly store: RunStore; readonly dispatcher: Dispatcher },
  rate: RateLimitDefinition,
  nowMs: number,
): Promise<number> {
  const list = rateWaitList(rate);
  const reads = await readAllShards(deps.store, rate, nowMs);
  const permits = reads.flatMap((read): PermitGrant[] => {
    const left = available(read);
    if (left === 0) return [];
    const grant = {
      items: takePermit(deps.store, read.shard, read.counts, read.counts.count + left),
      held: { name: rate.name, windowStart: read.counts.start },
    };
    return Array.from({ length: left }, () => grant);
  });
  const woken = permits.length > 0 ? await wakeNext(deps, list, permits.length, { permits }) : 0;
  if ((await readLimit(deps.store, { ...list, max: 0 })).headWaiterSk !== undefined)
    await deps.dispatcher.sendLimitWake(list.key, nextPermitOf(reads, nowMs, reads.map(available)));
  return woken;
}

/**
 * Wakes a running queue's waiters: as many as it has free slots (each handed one), or,
 * without a queue limit, every one (what `resumeQueue` does). Returns how many it woke.
 */
export async function wakeQueue(
  deps: { readonly store: RunStore; readonly dispatcher: Dispatcher },
  queue: Pick<QueueDefinition, "name" | "maxConcurrency">,
): Promise<number> {
  const list = queueWaitList(queue);
  if (queue.maxConcurrency === undefined) return wakeNext(deps, list, Number.POSITIVE_INFINITY);
  return wakeNext(deps, list, queue.maxConcurrency, { slots: queue.maxConcurrency });
}
