export interface BackoffOptions {
  /** Delay before the 2nd attempt. */
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier?: number;
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): a random delay in [0, min(max, initial × mult^(n−1))]
 * so that clients failing together do not retry together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * (options.multiplier ?? 2) ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}
