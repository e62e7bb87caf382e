/** Bounds of exponential backoff with full jitter. */
export interface BackoffOptions {
  /** First delay's upper bound, ms. */
  baseMs: number;
  /** Largest delay, ms. */
  capMs: number;
}

/**
 * Delay before retry number `attempt` (1 for the first retry): uniformly random in
 * `[0, min(cap, base * 2^(attempt-1))]` ("full jitter", AWS Architecture Blog).
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(o.capMs, o.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
