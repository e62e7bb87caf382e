import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TIMED_OUT, withTimeout } from './withTimeout';

describe('withTimeout', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resolves to the value when the promise settles first, and clears its timer', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000)).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves to TIMED_OUT when the time runs out first', async () => {
    const never = new Promise<number>(() => {});
    const raced = withTimeout(never, 1000);
    await vi.advanceTimersByTimeAsync(999);
    let settled = false;
    void raced.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(raced).resolves.toBe(TIMED_OUT);
  });

  it('passes on a rejection that comes first', async () => {
    await expect(withTimeout(Promise.reject(new Error('no')), 1000)).rejects.toThrow('no');
    expect(vi.getTimerCount()).toBe(0);
  });
});
