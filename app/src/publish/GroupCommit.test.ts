import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GroupCommit, RetriesExhaustedError, type ItemOutcome } from './GroupCommit';
import { settle, useFakeClock } from './test/fakeTime';

const retry = { baseMs: 100, capMs: 1000, maxAttempts: 4, deadlineMs: 10_000 };
const realImmediate = setImmediate;
const turn = () => new Promise<void>((r) => realImmediate(r));

/** A batch call that records what it was sent and answers each item as `answer` says (ok by default). */
function recorder(answer: (item: string, call: number) => ItemOutcome<string> | 'hang' = (item) => ({ ok: true, value: item.toUpperCase() })) {
  const calls: string[][] = [];
  const hung: Array<() => void> = [];
  const send = async (items: readonly string[]) => {
    calls.push([...items]);
    const n = calls.length;
    const outcomes = items.map((i) => answer(i, n));
    if (outcomes.includes('hang')) await new Promise<void>((r) => hung.push(r));
    return outcomes.map((o, k) => (o === 'hang' ? { ok: true as const, value: items[k]!.toUpperCase() } : o));
  };
  return { send, calls, release: () => hung.splice(0).forEach((r) => r()) };
}

const make = (send: (items: readonly string[]) => Promise<ItemOutcome<string>[]>, o: Partial<ConstructorParameters<typeof GroupCommit<string, string>>[0]> = {}) =>
  new GroupCommit<string, string>({ send, isRetryable: () => true, maxItems: 3, maxInFlight: 1, retry, random: () => 0.5, ...o });

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

describe('GroupCommit', () => {
  it('sends the items submitted in one turn in one call, and answers each with its own outcome', async () => {
    const r = recorder();
    const g = make(r.send);
    await expect(Promise.all(['a', 'b'].map((i) => g.submit(i)))).resolves.toEqual(['A', 'B']);
    expect(r.calls).toEqual([['a', 'b']]);
  });

  it('makes the next call of what arrived while one was in flight, within maxItems and maxBytes', async () => {
    const r = recorder((item, call) => (call === 1 ? 'hang' : { ok: true, value: item }));
    const g = make(r.send, { maxBytes: 2, sizeOf: () => 1 });
    const first = g.submit('x');
    await turn();
    const rest = ['a', 'b', 'c', 'd', 'e'].map((i) => g.submit(i));
    await turn();
    expect(r.calls).toEqual([['x']]);
    r.release();
    await settle(Promise.all([first, ...rest]));
    expect(r.calls).toEqual([['x'], ['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('retries only the failed items, after a full-jitter backoff, and rejects a non-retryable one at once', async () => {
    const r = recorder((item, call) =>
      item === 'b' && call === 1 ? { ok: false, retryable: true, error: new Error('throttled') } : item === 'c' ? { ok: false, retryable: false, error: new Error('refused') } : { ok: true, value: item },
    );
    const g = make(r.send);
    const [a, b, c] = ['a', 'b', 'c'].map((i) => g.submit(i));
    c!.catch(() => {});
    await expect(settle(a!)).resolves.toBe('a');
    await expect(settle(c!)).rejects.toThrow('refused');
    await expect(settle(b!)).resolves.toBe('b');
    expect(r.calls).toEqual([['a', 'b', 'c'], ['b']]);
  });

  it('gives up after maxAttempts with the last failure as the cause', async () => {
    const r = recorder(() => ({ ok: false, retryable: true, error: new Error('throttled') }));
    const err = await settle(make(r.send).submit('a')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).attempts).toBe(4);
    expect(((err as Error).cause as Error).message).toBe('throttled');
    expect(r.calls).toHaveLength(4);
  });

  it('classifies a failed call with isRetryable', async () => {
    let calls = 0;
    const g = make(async () => (calls++, Promise.reject(new Error('bad request'))), { isRetryable: () => false });
    await expect(settle(g.submit('a'))).rejects.toThrow('bad request');
    expect(calls).toBe(1);
  });

  it('drops, unsent, items that waited in the queue past the deadline', async () => {
    const r = recorder((item, call) => (call === 1 ? 'hang' : { ok: true, value: item }));
    const g = make(r.send, { retry: { ...retry, deadlineMs: 500 } });
    const first = g.submit('x');
    await turn();
    const stale = g.submit('late');
    stale.catch(() => {});
    await vi.advanceTimersByTimeAsync(600);
    r.release();
    await expect(settle(stale)).rejects.toBeInstanceOf(RetriesExhaustedError);
    await settle(first);
    expect(r.calls).toEqual([['x']]);
  });

  it('is idle once nothing is queued, in flight or waiting for a retry', async () => {
    const r = recorder((item, call) => (call === 1 ? { ok: false, retryable: true, error: new Error('throttled') } : { ok: true, value: item }));
    const g = make(r.send);
    const done = g.submit('a');
    let idle = false;
    const waiting = g.idle().then(() => (idle = true));
    await turn();
    expect([g.pending, idle]).toEqual([1, false]);
    await settle(waiting);
    await expect(done).resolves.toBe('a');
    expect(g.pending).toBe(0);
  });
});
