import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollUntil } from './pollUntil';

describe('pollUntil', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the first value that is neither undefined nor false, probing once per pause', async () => {
    let calls = 0;
    const probe = vi.fn(() => (++calls >= 3 ? `value ${calls}` : calls === 1 ? undefined : false));
    const done = pollUntil(probe, { what: 'the value', intervalMs: 100 });
    await vi.advanceTimersByTimeAsync(200);
    await expect(done).resolves.toBe('value 3');
    expect(probe).toHaveBeenCalledTimes(3);
  });

  it('counts a probe that throws as not yet', async () => {
    let calls = 0;
    const done = pollUntil(
      async () => {
        if (++calls < 2) throw new Error('not listening');
        return true;
      },
      { what: 'the server', intervalMs: 10 },
    );
    await vi.advanceTimersByTimeAsync(10);
    await expect(done).resolves.toBe(true);
  });

  it('names the last probe error when it gives up', async () => {
    const done = pollUntil(
      () => {
        throw new Error('ECONNREFUSED');
      },
      { what: 'the server', timeoutMs: 100, intervalMs: 50 },
    );
    const failed = expect(done).rejects.toThrow(/waiting for the server \(last probe error: ECONNREFUSED\)/);
    await vi.advanceTimersByTimeAsync(100);
    await failed;
  });

  it('gives up by the clock when probes are slow, before the pauses add up', async () => {
    const probe = vi.fn(async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return false;
    });
    const done = pollUntil(probe, { what: 'a slow server', timeoutMs: 2500, intervalMs: 100 });
    const failed = expect(done).rejects.toThrow(/timed out after 2500 ms/);
    await vi.advanceTimersByTimeAsync(3500);
    await failed;
    expect(probe).toHaveBeenCalledTimes(3);
  });

  it('gives up after the timeout, naming what it waited for', async () => {
    const probe = vi.fn(() => false);
    const done = pollUntil(probe, { what: 'the gateway', timeoutMs: 300, intervalMs: 100 });
    const failed = expect(done).rejects.toThrow(/timed out after 300 ms waiting for the gateway/);
    await vi.advanceTimersByTimeAsync(300);
    await failed;
    expect(probe).toHaveBeenCalledTimes(4);
  });

  it('ends early with what stopIf throws, before probing again', async () => {
    let stopped = false;
    const probe = vi.fn(() => false);
    const done = pollUntil(probe, {
      what: 'the child',
      intervalMs: 100,
      stopIf: () => {
        if (stopped) throw new Error('the child exited');
      },
    });
    const failed = expect(done).rejects.toThrow('the child exited');
    await vi.advanceTimersByTimeAsync(100);
    stopped = true;
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(probe).toHaveBeenCalledTimes(2);
  });
});
