/** Why a record left the mapping without succeeding: the `condition` of Lambda's on-failure record. */
export type DeadLetterCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** How the mapping retries a failing record, as the deployed event source mapping is configured. */
export interface RetryPolicy {
  /** Retries after the first attempt before the record is dead-lettered (Lambda's MaximumRetryAttempts). */
  maxRetries: number;
  /** A record older than this is dead-lettered instead of invoked again (MaximumRecordAgeInSeconds), in ms. */
  maxRecordAgeMs: number;
  /** Pause before the first retry; each further retry doubles it. */
  backoffBaseMs: number;
  /** The longest pause between two retries. */
  backoffCapMs: number;
}

/** Lambda's largest MaximumRetryAttempts; the deployed mapping uses it, so the record's age ends the retries. */
export const MAX_RETRY_ATTEMPTS = 10_000;
/** Lambda's largest MaximumRecordAgeInSeconds (7 days). */
export const MAX_RECORD_AGE_SECONDS = 7 * 24 * 3600;

/** The deployed mapping's record age: half the stream's retention (the rest is for an operator), at most 7 days. */
export function maxRecordAgeSecondsFor(retentionHours: number): number {
  return Math.min((retentionHours * 3600) / 2, MAX_RECORD_AGE_SECONDS);
}

/** The pause before retry number `attempt` (1 for the first retry): exponential, capped. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
}

/** Whether a record that arrived on the stream at `arrivedAtMs` is past the maximum age at `now`. */
export function isTooOld(policy: RetryPolicy, arrivedAtMs: number, now: number): boolean {
  return now - arrivedAtMs > policy.maxRecordAgeMs;
}

/** What to do with a record that failed `attempts` times: retry after a pause, or dead-letter it and why. */
export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'deadLetter'; condition: DeadLetterCondition };

export function decideRetry(policy: RetryPolicy, attempts: number, arrivedAtMs: number, now: number): RetryDecision {
  if (isTooOld(policy, arrivedAtMs, now)) return { kind: 'deadLetter', condition: 'RecordAgeExceeded' };
  if (attempts > policy.maxRetries) return { kind: 'deadLetter', condition: 'RetryAttemptsExhausted' };
  return { kind: 'retry', delayMs: backoffMs(policy, attempts) };
}
