import type { KinesisClient, PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamUnavailableError } from '../errors';
import { createLogger } from '../logger';
import { BatchPublisher, type BatchPublisherOptions } from './BatchPublisher';

/**
 * A fault-injecting stand-in for Kinesis (kinesalite cannot throttle or fail part of a PutRecords): each call
 * is answered by the next scripted behaviour, or by success when the script is empty.
 */
type Behaviour = 'ok' | { failIndexes: number[]; code?: string } | Error | 'hang';
function fakeKinesis(script: Behaviour[] = []) {
  const calls: { keys: string[] }[] = [];
  const pending: Array<() => void> = [];
  let seq = 0;
  const send = vi.fn(async (cmd: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
    const records = cmd.input.Records!;
    calls.push({ keys: records.map((r) => r.PartitionKey!) });
    const b = script.shift() ?? 'ok';
    if (b === 'hang') await new Promise<void>((r) => pending.push(r));
    if (b instanceof Error) throw b;
    const fail = typeof b === 'object' ? new Set(b.failIndexes) : new Set<number>();
    const code = typeof b === 'object' && !(b instanceof Error) ? (b.code ?? 'ProvisionedThroughputExceededException') : '';
    return {
      $metadata: {},
      FailedRecordCount: fail.size,
      Records: records.map((r, i) =>
        fail.has(i) ? { ErrorCode: code, ErrorMessage: 'injected' } : { ShardId: 'shardId-000000000000', SequenceNumber: `${++seq}:${r.PartitionKey}` },
      ),
    };
  });
  return { client: { send } as unknown as KinesisClient, calls, release: () => pending.splice(0).forEach((r) => r()) };
}

const rec = (key: string, bytes = 10) => ({ partitionKey: key, data: new Uint8Array(bytes) });
const retry = { baseMs: 100, capMs: 1000, maxAttempts: 5, deadlineMs: 10_000 };

function publisher(kinesis: KinesisClient, o: Partial<BatchPublisherOptions> = {}) {
  return new BatchPublisher({ kinesis, streamName: 's', logger: createLogger({ sink: () => {} }), retry, random: () => 0.5, ...o });
}

/** The real setImmediate: the publisher sends at the end of an event-loop turn, which fake timers leave alone. */
const realImmediate = setImmediate;
const turn = () => new Promise<void>((r) => realImmediate(r));
/** Advances fake time by `ms`, then lets the publisher's end-of-turn send and its callbacks run. */
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 3; i++) {
    await turn();
    await vi.advanceTimersByTimeAsync(0);
  }
}
const flush = () => advance(0);

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] }));
afterEach(() => vi.useRealTimers());

describe('BatchPublisher batching', () => {
  it('sends a lone record at once, in a call of its own', async () => {
    const k = fakeKinesis();
    const r = await publisher(k.client).publish(rec('a'));
    expect(r).toEqual({ shardId: 'shardId-000000000000', sequenceNumber: '1:a' });
    expect(k.calls).toEqual([{ keys: ['a'] }]);
  });

  it('sends the records submitted in one turn of the event loop together', async () => {
    const k = fakeKinesis();
    const p = publisher(k.client);
    await Promise.all(['a', 'b', 'c'].map((key) => p.publish(rec(key))));
    expect(k.calls).toEqual([{ keys: ['a', 'b', 'c'] }]);
  });

  it('groups records that arrive while a call is in flight into the next call', async () => {
    const k = fakeKinesis(['hang']);
    const p = publisher(k.client, { maxInFlight: 1 });
    const first = p.publish(rec('a'));
    await flush();
    const rest = ['b', 'c', 'd'].map((key) => p.publish(rec(key)));
    await flush();
    expect(k.calls).toEqual([{ keys: ['a'] }]);
    k.release();
    await Promise.all([first, ...rest]);
    expect(k.calls).toEqual([{ keys: ['a'] }, { keys: ['b', 'c', 'd'] }]);
  });

  it('bounds the calls in flight', async () => {
    const k = fakeKinesis(['hang', 'hang']);
    const p = publisher(k.client, { maxInFlight: 2 });
    const all: Promise<unknown>[] = [];
    for (const key of ['a', 'b', 'c', 'd']) {
      all.push(p.publish(rec(key)));
      await flush();
    }
    expect(k.calls).toHaveLength(2);
    k.release();
    await flush();
    k.release();
    await Promise.all(all);
    expect(k.calls.map((c) => c.keys)).toEqual([['a'], ['b'], ['c', 'd']]);
  });

  it('splits batches at the record and byte limits', async () => {
    const k = fakeKinesis(['hang']);
    const p = publisher(k.client, { maxInFlight: 1, maxBatchRecords: 3, maxBatchBytes: 25 });
    const first = p.publish(rec('x'));
    await flush();
    const all = [first, ...['a', 'b', 'c', 'd', 'e'].map((key) => p.publish(rec(key, 10)))];
    await flush();
    k.release();
    await Promise.all(all);
    // each record is 11 bytes with its key: two fit in 25 bytes
    expect(k.calls.map((c) => c.keys)).toEqual([['x'], ['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('waits up to lingerMs for a batch to fill', async () => {
    const k = fakeKinesis();
    const p = publisher(k.client, { lingerMs: 10 });
    const a = p.publish(rec('a'));
    await advance(5);
    const b = p.publish(rec('b'));
    expect(k.calls).toHaveLength(0);
    await advance(5);
    await Promise.all([a, b]);
    expect(k.calls).toEqual([{ keys: ['a', 'b'] }]);
  });
});

describe('BatchPublisher retries', () => {
  it('retries only the failed records of a partial failure, and answers each with its own acknowledgement', async () => {
    const k = fakeKinesis(['hang', { failIndexes: [1, 3] }]);
    const p = publisher(k.client, { maxInFlight: 1 });
    const settled: string[] = [];
    const first = p.publish(rec('x'));
    await flush();
    const all = ['a', 'b', 'c', 'd'].map((key) => p.publish(rec(key)).then((r) => (settled.push(key), r)));
    await flush();
    k.release();
    await flush();
    // a and c are acknowledged; b and d are not answered before their retry succeeds
    expect(settled.sort()).toEqual(['a', 'c']);
    await advance(100);
    const results = await Promise.all(all);
    await first;
    expect(k.calls.map((c) => c.keys)).toEqual([['x'], ['a', 'b', 'c', 'd'], ['b', 'd']]);
    expect(results.map((r) => r.sequenceNumber.split(':')[1])).toEqual(['a', 'b', 'c', 'd']);
    expect(new Set(results.map((r) => r.sequenceNumber)).size).toBe(4);
  });

  it('retries a throttled call after a full-jitter delay within the configured bounds', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
    const k = fakeKinesis([throttled, throttled, 'ok']);
    // random() = 0.5: the delays are half of min(cap, base * 2^(n-1)): 50 ms, then 100 ms
    const p = publisher(k.client);
    const done = p.publish(rec('a'));
    await flush();
    expect(k.calls).toHaveLength(1);
    await advance(49);
    expect(k.calls).toHaveLength(1);
    await advance(1);
    expect(k.calls).toHaveLength(2);
    await advance(99);
    expect(k.calls).toHaveLength(2);
    await advance(1);
    expect(k.calls).toHaveLength(3);
    await expect(done).resolves.toMatchObject({ sequenceNumber: '1:a' });
  });

  it('caps the delay at capMs', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    const k = fakeKinesis(Array.from({ length: 6 }, () => throttled));
    const p = publisher(k.client, { random: () => 0.999, retry: { baseMs: 100, capMs: 300, maxAttempts: 10, deadlineMs: 60_000 } });
    void p.publish(rec('a')).catch(() => {});
    await flush();
    for (const expected of [99, 199, 299, 299]) {
      const calls = k.calls.length;
      await advance(expected - 1);
      expect(k.calls).toHaveLength(calls);
      await advance(1);
      expect(k.calls).toHaveLength(calls + 1);
    }
  });

  it('retries KMS throttling and internal failures of single records', async () => {
    const k = fakeKinesis([{ failIndexes: [0], code: 'KMSThrottlingException' }, { failIndexes: [0], code: 'InternalFailure' }]);
    const done = publisher(k.client).publish(rec('a'));
    await advance(1000);
    await expect(done).resolves.toMatchObject({ shardId: 'shardId-000000000000' });
    expect(k.calls).toHaveLength(3);
  });

  it('answers 503 with Retry-After once the attempt budget is spent', async () => {
    const k = fakeKinesis(Array.from({ length: 5 }, () => ({ failIndexes: [0] })));
    const done = publisher(k.client).publish(rec('a'));
    const outcome = expect(done).rejects.toBeInstanceOf(StreamUnavailableError);
    await advance(10_000);
    await outcome;
    expect(k.calls).toHaveLength(5);
    const e = (await done.catch((x: unknown) => x)) as StreamUnavailableError;
    expect(e.headers['Retry-After']).toBe('1');
  });

  it('stops retrying at the deadline', async () => {
    const k = fakeKinesis(Array.from({ length: 50 }, () => ({ failIndexes: [0] })));
    const done = publisher(k.client, { random: () => 0.999, retry: { baseMs: 100, capMs: 100, maxAttempts: 50, deadlineMs: 350 } }).publish(rec('a'));
    const outcome = expect(done).rejects.toBeInstanceOf(StreamUnavailableError);
    await advance(1000);
    await outcome;
    expect(k.calls).toHaveLength(4);
  });

  it('gives up, unsent, the records that waited past the deadline behind a hung call', async () => {
    const k = fakeKinesis(['hang']);
    const p = publisher(k.client, { maxInFlight: 1, retry: { ...retry, deadlineMs: 500 } });
    const first = p.publish(rec('a'));
    await flush();
    const stale = ['b', 'c'].map((key) => p.publish(rec(key)));
    const outcomes = stale.map((d) => expect(d).rejects.toBeInstanceOf(StreamUnavailableError));
    await advance(600);
    const fresh = p.publish(rec('d'));
    k.release();
    await flush();
    await Promise.all(outcomes);
    await expect(first).resolves.toBeDefined();
    await expect(fresh).resolves.toBeDefined();
    // b and c were never sent: their callers had moved on (to the spool); d went out alone.
    expect(k.calls).toEqual([{ keys: ['a'] }, { keys: ['d'] }]);
  });

  it('does not retry a record refused for a non-retryable reason', async () => {
    const k = fakeKinesis([{ failIndexes: [0], code: 'KMSAccessDeniedException' }]);
    await expect(publisher(k.client).publish(rec('a'))).rejects.toBeInstanceOf(StreamUnavailableError);
    expect(k.calls).toHaveLength(1);
  });

  it('answers a missing stream with 503 at once and logs the stream name', async () => {
    const lines: string[] = [];
    const k = fakeKinesis([Object.assign(new Error('Stream s not found'), { name: 'ResourceNotFoundException' })]);
    const p = publisher(k.client, { logger: createLogger({ sink: (l) => lines.push(l) }) });
    await expect(p.publish(rec('a'))).rejects.toBeInstanceOf(StreamUnavailableError);
    expect(k.calls).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', stream: 's' });
  });

  it('close waits for records awaiting a retry', async () => {
    const k = fakeKinesis([{ failIndexes: [0] }]);
    const p = publisher(k.client);
    const done = p.publish(rec('a'));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await flush();
    expect(closed).toBe(false);
    await advance(100);
    await closing;
    await expect(done).resolves.toBeDefined();
  });
});
