import {
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  ListStreamsCommand,
  PutRecordCommand,
  SplitShardCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKinesisClient } from '../common/awsClients';
import { pollUntil } from '../common/pollUntil';
import { CheckpointStore } from './checkpointStore';
import { startEmulators, type Emulators } from './emulators';
import { EventSourceMapping, type EventSourceMappingOptions, type KinesisBatchHandler } from './eventSourceMapping';
import { ensureStream } from './provision';

let emulators: Emulators;
let kinesis: KinesisClient;
let streams = 0;
/** GetRecords calls the emulator has received. */
let getRecordsCalls = 0;

beforeAll(async () => {
  emulators = await startEmulators({ onRequest: (_emulator, req) => req.headers['x-amz-target'] === 'Kinesis_20131202.GetRecords' && getRecordsCalls++ });
  kinesis = createKinesisClient({ region: 'us-east-1', endpoint: emulators.kinesisEndpoint });
});
afterAll(async () => {
  kinesis.destroy();
  await emulators.close();
});

/** Hash keys that land on the first and on the second of two shards. */
const SHARD_0 = '0';
const SHARD_1 = (2n ** 127n + 1n).toString();

async function stream(shards = 1): Promise<string> {
  const name = `esm-test-${++streams}`;
  await ensureStream(kinesis, name, shards);
  return name;
}

async function put(streamName: string, text: string, hashKey = SHARD_0): Promise<string> {
  const out = await kinesis.send(
    new PutRecordCommand({ StreamName: streamName, Data: Buffer.from(text), PartitionKey: `pk-${text}`, ExplicitHashKey: hashKey }),
  );
  return out.SequenceNumber!;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A mapping over `streamName` whose handler is `handler`, with state in a fresh (or given) directory. */
function mapping(streamName: string, handler: KinesisBatchHandler, o: Partial<EventSourceMappingOptions> & { dir?: string } = {}) {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'esm-'));
  const esm = new EventSourceMapping({
    kinesis,
    streamName,
    handler,
    checkpointDir: join(dir, 'checkpoints'),
    deadLetterFile: join(dir, 'dead-letter.jsonl'),
    logger: quiet,
    pollIntervalMs: 10,
    ...o,
  });
  return { esm, dir };
}

/** A handler that records each event's decoded records and answers with `respond`. */
function recording(respond: (event: KinesisStreamEvent, call: number) => KinesisStreamBatchResponse = () => ({ batchItemFailures: [] })) {
  const calls: { shard: string; texts: string[]; event: KinesisStreamEvent }[] = [];
  const handler: KinesisBatchHandler = async (event) => {
    calls.push({
      shard: event.Records[0]!.eventID.split(':')[0]!,
      texts: event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString()),
      event,
    });
    return respond(event, calls.length);
  };
  return { calls, handler };
}

const fail = (event: KinesisStreamEvent, index: number): KinesisStreamBatchResponse => ({
  batchItemFailures: [{ itemIdentifier: event.Records[index]!.kinesis.sequenceNumber }],
});

/** Polls until `done` holds, about `ms` at most (counted in pauses: the clock may be fake). */
const until = async (done: () => boolean | Promise<boolean>, ms = 5000): Promise<void> => {
  await pollUntil(done, { what: 'the condition', timeoutMs: ms, intervalMs: 5 });
};

/** The dead-letter file's entries (none if it does not exist). */
function deadLetters(dir: string): Record<string, unknown>[] {
  const file = join(dir, 'dead-letter.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('EventSourceMapping', () => {
  // Only the clock is fake: the tests that wait advance it; the SDK's own timers stay real.
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'], now: Date.now() }));
  afterEach(() => vi.useRealTimers());

  it('delivers each shard’s records in order, in the event shape Lambda delivers', async () => {
    const name = await stream(2);
    const seq = await put(name, 'a1');
    await put(name, 'a2');
    await put(name, 'b1', SHARD_1);
    await put(name, 'a3');
    await put(name, 'b2', SHARD_1);
    const { calls, handler } = recording();
    const { esm } = mapping(name, handler);
    expect(await esm.pollOnce()).toBe(5);
    expect(calls.map((c) => c.texts).sort()).toEqual([['a1', 'a2', 'a3'], ['b1', 'b2']]);
    const first = calls.find((c) => c.texts[0] === 'a1')!;
    expect(first.event.Records[0]).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'pk-a1',
        sequenceNumber: seq,
        data: Buffer.from('a1').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/consumer-stub-role',
      awsRegion: 'us-east-1',
      eventSourceARN: expect.stringMatching(new RegExp(`^arn:aws:kinesis:us-east-1:\\d+:stream/${name}$`)),
    });
    const arrived = first.event.Records[0]!.kinesis.approximateArrivalTimestamp;
    expect(Math.abs(arrived - Date.now() / 1000)).toBeLessThan(60);
  });

  it('invokes at most batchSize records at a time, in order', async () => {
    const name = await stream();
    for (const t of ['1', '2', '3']) await put(name, t);
    const { calls, handler } = recording();
    const { esm } = mapping(name, handler, { batchSize: 2 });
    await esm.pollOnce();
    await esm.pollOnce();
    expect(calls.map((c) => c.texts)).toEqual([['1', '2'], ['3']]);
  });

  it('retries from the lowest failed record of batchItemFailures, after the first backoff pause', async () => {
    const name = await stream();
    for (const t of ['1', '2', '3', '4']) await put(name, t);
    const { calls, handler } = recording((event, call) =>
      call === 1 ? { batchItemFailures: [3, 1].map((i) => ({ itemIdentifier: event.Records[i]!.kinesis.sequenceNumber })) } : { batchItemFailures: [] },
    );
    const { esm } = mapping(name, handler, { retryBaseMs: 100 });
    await esm.pollOnce();
    vi.advanceTimersByTime(99);
    expect(await esm.pollOnce()).toBe(0);
    vi.advanceTimersByTime(1);
    await esm.pollOnce();
    expect(calls.map((c) => c.texts)).toEqual([['1', '2', '3', '4'], ['2', '3', '4']]);
  });

  it('retries the whole batch when the handler throws', async () => {
    const name = await stream();
    for (const t of ['1', '2']) await put(name, t);
    let call = 0;
    const { calls, handler: record } = recording();
    const handler: KinesisBatchHandler = async (event, context) => {
      await record(event, context);
      if (++call === 1) throw new Error('boom');
      return { batchItemFailures: [] };
    };
    const { esm } = mapping(name, handler);
    await esm.pollOnce();
    vi.advanceTimersByTime(100);
    await esm.pollOnce();
    expect(calls.map((c) => c.texts)).toEqual([['1', '2'], ['1', '2']]);
  });

  it('pauses between retries of a failing record exponentially, up to the cap', async () => {
    const name = await stream();
    await put(name, '1');
    const { calls, handler } = recording((event) => fail(event, 0));
    const { esm } = mapping(name, handler, { retryBaseMs: 100, retryCapMs: 400 });
    await esm.pollOnce();
    for (const pause of [100, 200, 400, 400, 400]) {
      const before = calls.length;
      vi.advanceTimersByTime(pause - 1);
      expect(await esm.pollOnce()).toBe(0);
      vi.advanceTimersByTime(1);
      expect(await esm.pollOnce()).toBe(1);
      expect(calls.length).toBe(before + 1);
    }
  });

  it('dead-letters a record after maxRetries and moves on to the next', async () => {
    const name = await stream();
    for (const t of ['1', '2', '3']) await put(name, t);
    const bad = await kinesis.send(new PutRecordCommand({ StreamName: name, Data: Buffer.from('x'), PartitionKey: 'p' }));
    const { calls, handler } = recording((event) => {
      const i = event.Records.findIndex((r) => r.kinesis.sequenceNumber === bad.SequenceNumber);
      return i === -1 ? { batchItemFailures: [] } : fail(event, i);
    });
    const { esm, dir } = mapping(name, handler, { batchSize: 2, maxRetries: 2, retryCapMs: 100 });
    await put(name, '5');
    for (let i = 0; i < 6; i++) {
      await esm.pollOnce();
      vi.advanceTimersByTime(100);
    }
    expect(calls.map((c) => c.texts)).toEqual([['1', '2'], ['3', 'x'], ['x', '5'], ['x', '5'], ['5']]);
    const lines = deadLetters(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
      KinesisBatchInfo: { shardId: 'shardId-000000000000', startSequenceNumber: bad.SequenceNumber, batchSize: 1 },
      record: { sequenceNumber: bad.SequenceNumber, data: Buffer.from('x').toString('base64'), partitionKey: 'p' },
    });
  });

  it('dead-letters a failing record once it is older than maxRecordAgeSeconds, and retries it until then', async () => {
    const name = await stream();
    await put(name, 'x');
    const { calls, handler } = recording((event) => (event.Records[0]!.kinesis.data === Buffer.from('x').toString('base64') ? fail(event, 0) : { batchItemFailures: [] }));
    const { esm, dir } = mapping(name, handler, { maxRecordAgeSeconds: 60, retryCapMs: 10_000 });
    // Retried at 0, 10, ..., 60 s (the pauses stay under 10 s); at 70 s it is older than 60 s.
    await esm.pollOnce();
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(10_000);
      await esm.pollOnce();
    }
    expect(calls).toHaveLength(7);
    expect(deadLetters(dir)).toEqual([]);
    vi.advanceTimersByTime(5_000);
    await put(name, 'next');
    vi.advanceTimersByTime(5_000);
    await esm.pollOnce();
    expect(deadLetters(dir)).toMatchObject([{ condition: 'RecordAgeExceeded', approximateInvokeCount: 7, record: { data: Buffer.from('x').toString('base64') } }]);
    expect(calls.map((c) => c.texts.join())).toEqual([...Array(7).fill('x'), 'next']);
  });

  it('never invokes with a record already older than maxRecordAgeSeconds: it is dead-lettered unread', async () => {
    const name = await stream();
    await put(name, 'stale');
    const { calls, handler } = recording();
    const { esm, dir } = mapping(name, handler, { maxRecordAgeSeconds: 60 });
    vi.advanceTimersByTime(61_000);
    await put(name, 'fresh');
    await esm.pollOnce();
    expect(calls.map((c) => c.texts)).toEqual([['fresh']]);
    expect(deadLetters(dir)).toMatchObject([{ condition: 'RecordAgeExceeded', approximateInvokeCount: 0, record: { data: Buffer.from('stale').toString('base64') } }]);
  });

  it('dead-letters nothing through a DynamoDB outage of three minutes, with the default retry policy, and applies every record in order once it ends', async () => {
    const name = await stream();
    for (const t of ['1', '2', '3', '4', '5']) await put(name, t);
    const outageEnds = Date.now() + 180_000;
    const applied: string[] = [];
    const handler: KinesisBatchHandler = async (event) => {
      if (Date.now() < outageEnds) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4568'), { code: 'ECONNREFUSED' });
      applied.push(...event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString()));
      return { batchItemFailures: [] };
    };
    const { esm, dir } = mapping(name, handler, { batchSize: 2, pollIntervalMs: undefined, retryBaseMs: undefined, retryCapMs: undefined });
    for (let t = 0; t < 200_000; t += 250) {
      await esm.pollOnce();
      vi.advanceTimersByTime(250);
    }
    expect(applied).toEqual(['1', '2', '3', '4', '5']);
    expect(existsSync(join(dir, 'dead-letter.jsonl'))).toBe(false);
  });

  it('waits up to maxBatchingWindowSeconds for a batch to fill, and invokes at once when it is full', async () => {
    const name = await stream();
    for (const t of ['1', '2']) await put(name, t);
    const { calls, handler } = recording();
    const { esm } = mapping(name, handler, { batchSize: 3, maxBatchingWindowSeconds: 5 });
    expect(await esm.pollOnce()).toBe(0);
    vi.advanceTimersByTime(4_999);
    expect(await esm.pollOnce()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(await esm.pollOnce()).toBe(2);
    for (const t of ['3', '4', '5']) await put(name, t);
    expect(await esm.pollOnce()).toBe(3);
    expect(calls.map((c) => c.texts)).toEqual([['1', '2'], ['3', '4', '5']]);
  });

  it('reads and invokes a shard with a backlog back to back, without the idle poll pause', async () => {
    const name = await stream();
    await put(name, '0');
    const seen: string[] = [];
    const handler: KinesisBatchHandler = async (event) => {
      seen.push(...event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString()));
      return { batchItemFailures: [] };
    };
    // An idle pause of ten minutes would outlast the test: a backlog must not wait for it.
    const { esm } = mapping(name, handler, { batchSize: 2, pollIntervalMs: 600_000 });
    for (const t of ['1', '2', '3', '4', '5']) await put(name, t);
    await esm.start();
    await until(() => seen.length === 6);
    await esm.stop();
    expect(seen).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('reads the next batch while the handler runs the current one', async () => {
    const name = await stream();
    for (const t of ['1', '2', '3', '4']) await put(name, t);
    let readWhileInvoked = false;
    const { calls, handler: record } = recording();
    const handler: KinesisBatchHandler = async (event, context) => {
      const before = getRecordsCalls;
      if (calls.length === 0) readWhileInvoked = await until(() => getRecordsCalls > before, 2000).then(() => true, () => false);
      return record(event, context);
    };
    const { esm } = mapping(name, handler, { batchSize: 2 });
    await esm.pollOnce();
    expect(readWhileInvoked).toBe(true);
    const reads = getRecordsCalls;
    await esm.pollOnce();
    expect(calls.map((c) => c.texts)).toEqual([['1', '2'], ['3', '4']]);
    // The second batch was pending already; its step read only ahead, once.
    expect(getRecordsCalls - reads).toBe(1);
  });

  it('resumes after the last checkpointed record when restarted', async () => {
    const name = await stream();
    for (const t of ['1', '2']) await put(name, t);
    const first = recording();
    const { esm, dir } = mapping(name, first.handler);
    await esm.pollOnce();
    expect(existsSync(join(dir, 'checkpoints', 'shardId-000000000000.json'))).toBe(true);
    await put(name, '3');
    const second = recording();
    const { esm: restarted } = mapping(name, second.handler, { dir });
    await restarted.pollOnce();
    expect(second.calls.map((c) => c.texts)).toEqual([['3']]);
  });

  it('a record that failed is delivered again after a restart', async () => {
    const name = await stream();
    for (const t of ['1', '2']) await put(name, t);
    const first = recording((event) => fail(event, 1));
    const { esm, dir } = mapping(name, first.handler);
    await esm.pollOnce();
    const second = recording();
    const { esm: restarted } = mapping(name, second.handler, { dir });
    await restarted.pollOnce();
    expect(second.calls.map((c) => c.texts)).toEqual([['2']]);
  });

  it('ignores the checkpoint of an earlier stream of the same name, finished or not, and reads from the start', async () => {
    const name = await stream();
    await put(name, 'old');
    const first = recording();
    const { esm, dir } = mapping(name, first.handler);
    await esm.pollOnce();
    // The stream is deleted and made again (its shard ids repeat); the checkpoints stay. kinesalite's sequence
    // numbers carry the stream's creation second: a new second makes the new stream's numbers differ.
    vi.advanceTimersByTime(1100);
    await kinesis.send(new DeleteStreamCommand({ StreamName: name }));
    await until(async () => !(await kinesis.send(new ListStreamsCommand({}))).StreamNames?.includes(name));
    await ensureStream(kinesis, name, 1);
    await put(name, 'new');
    const second = recording();
    const { esm: restarted } = mapping(name, second.handler, { dir });
    await restarted.pollOnce();
    expect(second.calls.map((c) => c.texts)).toEqual([['new']]);
  });

  it('ignores a finished checkpoint of an earlier stream of the same name, and reads the shard', async () => {
    const name = await stream();
    await put(name, 'new');
    const dir = mkdtempSync(join(tmpdir(), 'esm-'));
    await new CheckpointStore(join(dir, 'checkpoints')).write({
      shardId: 'shardId-000000000000',
      shardStart: '1',
      sequenceNumber: '1',
      finished: true,
      updatedAt: new Date().toISOString(),
    });
    const { calls, handler } = recording();
    const { esm } = mapping(name, handler, { dir });
    await esm.pollOnce();
    expect(calls.map((c) => c.texts)).toEqual([['new']]);
  });

  it('finds, while running, the shards a split makes, and reads them after their parent', async () => {
    const name = await stream();
    await put(name, 'before');
    const seen: string[] = [];
    const handler: KinesisBatchHandler = async (event) => {
      seen.push(...event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString()));
      return { batchItemFailures: [] };
    };
    const { esm } = mapping(name, handler, { rediscoverMs: 20 });
    await esm.start();
    await until(() => seen.length === 1);
    await kinesis.send(new SplitShardCommand({ StreamName: name, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    await until(async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE');
    await put(name, 'after', SHARD_1);
    await until(() => seen.length === 2);
    expect(seen).toEqual(['before', 'after']);
    await esm.stop();
  });

  it('stop, coming while a batch is in flight, does not wait out the pause that follows it', async () => {
    const name = await stream();
    await put(name, '1');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let invoked = false;
    const handler: KinesisBatchHandler = async () => {
      invoked = true;
      await gate;
      throw new Error('DynamoDB is down');
    };
    const { esm } = mapping(name, handler, { retryBaseMs: 600_000, retryCapMs: 600_000, pollIntervalMs: 600_000 });
    await esm.start();
    await until(() => invoked);
    const stopping = esm.stop();
    release();
    await stopping;
  });

  it('start polls continuously, and stop waits for the in-flight batch and checkpoints it', async () => {
    const name = await stream();
    await put(name, '1');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const handler: KinesisBatchHandler = async (event) => {
      seen.push(...event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString()));
      if (seen.length === 2) await gate;
      return { batchItemFailures: [] };
    };
    const { esm, dir } = mapping(name, handler);
    await esm.start();
    await until(() => seen.length === 1);
    await put(name, '2');
    await until(() => seen.length === 2);
    let stopped = false;
    const stopping = esm.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    const checkpoint = JSON.parse(readFileSync(join(dir, 'checkpoints', 'shardId-000000000000.json'), 'utf8'));
    const third = recording();
    await put(name, '3');
    const { esm: restarted } = mapping(name, third.handler, { dir });
    await restarted.pollOnce();
    expect(third.calls.map((c) => c.texts)).toEqual([['3']]);
    expect(checkpoint.sequenceNumber).toBeDefined();
  });
});
