import { describe, expect, it } from 'vitest';
import type { StatusItem } from '../../../contract/status';
import { MAX_WAIT_SECONDS, StatusWaiter, WAIT_SCHEDULE_MS, type StatusWaiterOptions } from './StatusWaiter';

const item = (status: StatusItem['status']): StatusItem => ({
  requestId: 'r-1',
  kind: status === 'processing' ? 'accepted' : 'outcome',
  status,
  operation: 'create',
  businessId: 'b',
  locationId: 'l',
  resourceType: 't',
  acceptedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: 0,
});

/** A waiter on a virtual clock: each pause moves it on; `answers` are what the reads return, the last repeating. */
function virtual(answers: StatusItem['status'][], o: Partial<StatusWaiterOptions> = {}) {
  let t = 0;
  const reads: number[] = [];
  const pauses: number[] = [];
  const waiter = new StatusWaiter({
    read: async () => {
      reads.push(t);
      return item(answers[Math.min(reads.length - 1, answers.length - 1)]!);
    },
    now: () => t,
    sleep: async (ms) => {
      pauses.push(ms);
      t += ms;
    },
    ...o,
  });
  return { waiter, reads, pauses, at: () => t };
}

describe('StatusWaiter', () => {
  it('answers at the first read that finds the outcome', async () => {
    const v = virtual(['processing', 'completed']);
    const r = await v.waiter.wait('r-1', item('processing'), 10_000);
    expect(r).toMatchObject({ applied: true, item: { status: 'completed' } });
    expect(v.reads).toEqual([100, 300]);
  });

  it('reads on its backoff schedule and answers processing when the wait has passed, never later', async () => {
    const v = virtual(['processing']);
    const r = await v.waiter.wait('r-1', item('processing'), MAX_WAIT_SECONDS * 1000);
    expect(r).toMatchObject({ applied: true, item: { status: 'processing' } });
    expect(v.at()).toBe(20_000);
    expect(v.pauses.slice(0, 5)).toEqual([...WAIT_SCHEDULE_MS]);
    // The bound the README states: 4 reads in the first 1.5 s, then one a second.
    expect(v.reads).toHaveLength(23);
  });

  it('does not wait past its bound of waiting requests: answers what the caller read, not applied', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // The read finds the outcome, so the held wait ends at its first read once released.
    const waiter = new StatusWaiter({ read: async () => item('completed'), maxWaiting: 1, sleep: () => held });
    const first = waiter.wait('r-1', item('processing'), 5_000);
    expect(waiter.waiting).toBe(1);
    expect(await waiter.wait('r-2', item('processing'), 5_000)).toMatchObject({ applied: false, item: { status: 'processing' } });
    release();
    expect(await first).toMatchObject({ applied: true, item: { status: 'completed' } });
    expect(waiter.waiting).toBe(0);
  });

  it('does not start a wait while draining, and ends one at its next step once draining begins', async () => {
    let draining = true;
    const v = virtual(['processing'], { draining: () => draining });
    expect(await v.waiter.wait('r-1', item('processing'), 10_000)).toMatchObject({ applied: false });
    draining = false;
    const w = virtual(['processing'], {
      draining: () => draining,
      sleep: async () => {
        draining = true;
      },
    });
    expect(await w.waiter.wait('r-1', item('processing'), 10_000)).toMatchObject({ applied: true, item: { status: 'processing' } });
    expect(w.reads).toHaveLength(0);
  });

  it('counts a wait whose read failed as ended', async () => {
    const waiter = new StatusWaiter({ read: async () => Promise.reject(new Error('down')), sleep: async () => {} });
    await expect(waiter.wait('r-1', item('processing'), 1_000)).rejects.toThrow('down');
    expect(waiter.waiting).toBe(0);
  });

  it('does not wait for an operation that is no longer processing', async () => {
    const v = virtual(['processing']);
    expect(await v.waiter.wait('r-1', item('failed'), 10_000)).toMatchObject({ applied: true, item: { status: 'failed' } });
    expect(v.reads).toHaveLength(0);
  });
});
