// Capped exponential backoff with equal jitter: half the capped delay is fixed, half random, so
// a retry never comes sooner than half the interval (full jitter could retry at once). There is
// no give-up point: a sink that keeps failing is retried forever, because giving up would
// discard audit data.
import type { RetryConfig } from '../../config/types.js';

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly cfg: RetryConfig,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before the next retry, in ms: uniform in [cap/2, cap], cap = min(max, initial*mult^n). */
  next(): number {
    const cap = Math.min(this.cfg.maxIntervalMs, this.cfg.initialIntervalMs * Math.pow(this.cfg.multiplier, this.attempt));
    this.attempt = Math.min(this.attempt + 1, 64);
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
