import { ResourceNotFoundException } from '@aws-sdk/client-kinesis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { waitUntilActive } from './waitUntilActive';

/** A status reader answering `answers` in turn (the last one from then on), counting its calls. */
function statuses(...answers: (string | Error | undefined)[]) {
  let calls = 0;
  const read = async () => {
    const a = answers[Math.min(calls++, answers.length - 1)];
    if (a instanceof Error) throw a;
    return a;
  };
  return { read, calls: () => calls };
}

const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

describe('waitUntilActive', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('returns at the first ACTIVE, reading again after each pause', async () => {
    const s = statuses('CREATING', 'CREATING', 'ACTIVE');
    const done = waitUntilActive(s.read, { what: 'stream s', intervalMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    expect(s.calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    await expect(done).resolves.toBeUndefined();
    expect(s.calls()).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('counts ResourceNotFoundException as not yet, and tells once that it waits', async () => {
    const s = statuses(notFound(), notFound(), 'ACTIVE');
    const onWaiting = vi.fn();
    const done = waitUntilActive(s.read, { what: 'stream s', intervalMs: 10, onWaiting });
    await vi.advanceTimersByTimeAsync(20);
    await expect(done).resolves.toBeUndefined();
    expect(onWaiting).toHaveBeenCalledTimes(1);
  });

  it('passes on any other error at once', async () => {
    const s = statuses('CREATING', new Error('access denied'));
    const done = waitUntilActive(s.read, { what: 'stream s', intervalMs: 10 });
    const failed = expect(done).rejects.toThrow('access denied');
    await vi.advanceTimersByTimeAsync(10);
    await failed;
    expect(s.calls()).toBe(2);
  });

  it('gives up after timeoutMs, naming what it waited for and its last status', async () => {
    const s = statuses('UPDATING');
    const done = waitUntilActive(s.read, { what: 'table t', intervalMs: 100, timeoutMs: 1000 });
    const failed = expect(done).rejects.toThrow('table t did not become ACTIVE within 1000 ms (status: UPDATING)');
    await vi.advanceTimersByTimeAsync(1000);
    await failed;
    expect(s.calls()).toBe(11);
  });
});
