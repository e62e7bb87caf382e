import { describe, expect, it } from 'vitest';
import { backoffMs, decideRetry, maxRecordAgeSecondsFor, type RetryPolicy } from './retryPolicy';

const policy: RetryPolicy = { maxRetries: 3, maxRecordAgeMs: 60_000, backoffBaseMs: 100, backoffCapMs: 1000 };

describe('the retry policy', () => {
  it('takes half the stream retention as the record age, at most 7 days, as the deployed mapping does', () => {
    expect(maxRecordAgeSecondsFor(24)).toBe(12 * 3600);
    expect(maxRecordAgeSecondsFor(365 * 24)).toBe(7 * 24 * 3600);
  });

  it('doubles the pause from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 10_000].map((a) => backoffMs(policy, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('retries until the attempts are exhausted, then dead-letters', () => {
    expect(decideRetry(policy, 3, 0, 1000)).toEqual({ kind: 'retry', delayMs: 400 });
    expect(decideRetry(policy, 4, 0, 1000)).toEqual({ kind: 'deadLetter', condition: 'RetryAttemptsExhausted' });
  });

  it('dead-letters a record older than the maximum age, whatever its attempts', () => {
    expect(decideRetry(policy, 1, 0, 60_000)).toEqual({ kind: 'retry', delayMs: 100 });
    expect(decideRetry(policy, 1, 0, 60_001)).toEqual({ kind: 'deadLetter', condition: 'RecordAgeExceeded' });
  });
});
