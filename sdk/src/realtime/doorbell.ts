/**
 * A wake-up for one waiter: `wait(ms)` resolves when the bell rings or `ms` have passed,
 * whichever comes first, and leaves no timer behind either way.
 */
export class Doorbell {
  #ring: (() => void) | undefined;

  /** Wakes the waiter now (nothing happens when nobody waits). */
  ring(): void {
    this.#ring?.();
  }

  /** Waits until {@link ring} or for `ms` (at most), in ms. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#ring?.(), Math.max(0, ms));
      this.#ring = () => {
        clearTimeout(timer);
        this.#ring = undefined;
        resolve();
      };
    });
  }
}
