import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, KinesisStreamRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CONSUMER_METRICS, DEFAULT_METRICS_NAMESPACE, METRICS_SERVICE } from '../../common/metricNames';
import { resourcesPartition, STATUS_KIND } from '../../common/tables';
import { lambdaContext } from '../../local/lambdaEvent';
import { createHandler, type ConsumerHandler } from '../src/createHandler';
import { ResourceStore } from '../src/ResourceStore';
import { StatusRecorder } from '../src/StatusRecorder';
import { kinesisEvent, operationRecord, operations } from './factories';
import { useConsumerTables } from './consumerTables';

/**
 * The bulk and concurrent application of a batch under what an emulator cannot produce on its own: partial
 * bulk writes, throttling, latency, a deadline, and two invocations of one batch at once (a timed-out run whose
 * calls are still in flight, and its retry).
 */

const STATUS = 'status-bulk';
const RESOURCES = 'resources-bulk';
const fx = useConsumerTables({ statusTable: STATUS, resourcesTable: RESOURCES });

type Send = (command: object) => Promise<unknown>;

/** A client whose every command goes through `send`, which may pass it on to the emulator with `pass`. */
function wrapped(send: (command: object, pass: Send) => Promise<unknown>): DynamoDBDocumentClient {
  const pass: Send = (c) => fx.dynamo.send(c as never);
  return { send: (command: object) => send(command, pass) } as unknown as DynamoDBDocumentClient;
}

function build(o: { client?: DynamoDBDocumentClient; appliedWindow?: number; maxInFlight?: number } = {}): ConsumerHandler {
  const client = o.client ?? fx.dynamo;
  return createHandler({
    store: new ResourceStore({ client, tableName: RESOURCES, ...(o.appliedWindow ? { appliedWindow: o.appliedWindow } : {}) }),
    status: new StatusRecorder({ client, tableName: STATUS }),
    logger: new Logger({ serviceName: METRICS_SERVICE.consumer, logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName: METRICS_SERVICE.consumer }),
    ...(o.maxInFlight ? { maxInFlight: o.maxInFlight } : {}),
  });
}

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

function scope() {
  return { businessId: `b-${randomUUID().slice(0, 8)}`, locationId: 'loc-1', resourceType: 'appointment' };
}

async function outcome(requestId: string) {
  return (await fx.dynamo.send(new GetCommand({ TableName: STATUS, Key: { requestId, kind: STATUS_KIND.outcome }, ConsistentRead: true }))).Item;
}

async function resource(s: ReturnType<typeof scope>, resourceId: string) {
  const key = { pk: resourcesPartition(s.businessId, s.locationId, s.resourceType), resourceId };
  return (await fx.dynamo.send(new GetCommand({ TableName: RESOURCES, Key: key, ConsistentRead: true }))).Item;
}

/** Every value a metric took in the captured EMF lines. */
function metric(name: string): number[] {
  return fx.output.filter((l) => l.includes('"_aws"')).flatMap((l) => {
    const v = (JSON.parse(l) as Record<string, unknown>)[name] as number | number[] | undefined;
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  });
}

/** Delivers like Lambda until nothing is held: after a partial failure, again from the lowest reported record. */
async function deliverAll(handler: ConsumerHandler, records: KinesisStreamRecord[]): Promise<void> {
  let at = 0;
  for (let attempt = 0; at < records.length; attempt++) {
    if (attempt > 20) throw new Error('delivery did not converge');
    const { batchItemFailures } = await handler(kinesisEvent(...records.slice(at)));
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    const lowest = records.slice(at).findIndex((r) => failed.has(r.kinesis.sequenceNumber));
    at += lowest < 0 ? records.length - at : lowest;
  }
}

/** Whether a command writes an outcome item carrying this requestId. */
function writesOutcomeOf(c: object, requestId: string): boolean {
  const writes = (c instanceof BatchWriteCommand && c.input.RequestItems?.[STATUS] !== undefined) || (c instanceof PutCommand && c.input.TableName === STATUS);
  return writes && JSON.stringify((c as BatchWriteCommand | PutCommand).input).includes(requestId);
}

function isResourceWrite(c: object): c is PutCommand {
  return c instanceof PutCommand && c.input.TableName === RESOURCES;
}

describe('the applied window', () => {
  it('a redelivered operation behind requestIds already recorded stays in its resource’s window until its outcome is stored', async () => {
    const s = scope();
    const ops = operations(s);
    const a = ops.create('r1', { a: 1 });
    const batch = [a, ops.patch('r1', { b: 2 }), ops.patch('r1', { c: 1 }), ops.patch('r1', { c: 2 })];
    const records = batch.map(operationRecord);
    let phase: 'partial' | 'throttled' | 'none' = 'partial';
    const client = wrapped(async (c, pass) => {
      if (phase === 'partial' && c instanceof BatchWriteCommand && writesOutcomeOf(c, a.requestId)) {
        // DynamoDB writes the rest of the call and leaves A's outcome unprocessed (throttling), every round.
        const all = c.input.RequestItems![STATUS]!;
        const rest = all.filter((r) => r.PutRequest?.Item?.requestId !== a.requestId);
        if (rest.length) await pass(new BatchWriteCommand({ RequestItems: { [STATUS]: rest } }));
        return { UnprocessedItems: { [STATUS]: all.filter((r) => !rest.includes(r)) } };
      }
      if (phase === 'throttled' && writesOutcomeOf(c, a.requestId)) throw throttling();
      return pass(c);
    });
    const handler = build({ client, appliedWindow: 3 });
    // First delivery: A and B applied in one write; B's outcome stored, A's not.
    expect((await handler(kinesisEvent(records[0]!, records[1]!))).batchItemFailures).toEqual([{ itemIdentifier: records[0]!.kinesis.sequenceNumber }]);
    expect(await outcome(batch[1]!.requestId)).toMatchObject({ status: 'completed' });
    // Redelivered from A with two new writes: A is a duplicate in the window, B is known; A's outcome write fails again.
    phase = 'throttled';
    expect((await handler(kinesisEvent(...records))).batchItemFailures[0]).toEqual({ itemIdentifier: records[0]!.kinesis.sequenceNumber });
    phase = 'none';
    await deliverAll(handler, records);
    expect(await outcome(a.requestId)).toMatchObject({ status: 'completed' });
    for (const op of batch) expect(await outcome(op.requestId)).toMatchObject({ status: 'completed' });
    // Each operation applied once: the version counts them.
    expect(await resource(s, 'r1')).toMatchObject({ data: { a: 1, b: 2, c: 2 }, version: 4 });
  });
});

describe('the deadline', () => {
  const context = (remaining: () => number): Context => ({
    ...lambdaContext({ streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s', region: 'us-east-1', functionName: 'consumer', memoryMb: 1769, timeoutMs: 60_000 }),
    getRemainingTimeInMillis: remaining,
  });

  it.each([
    ['a segment', (ops: ReturnType<typeof operations>) => [ops.create('r1', { a: 1 }), ops.list(), ops.create('r2', { a: 1 })], [1, 2], 1],
    ['a chain step', (ops: ReturnType<typeof operations>) => [ops.create('r1', { a: 1 }), ops.patch('r1', { b: 2 }), ops.patch('r1', { c: 3 })], [2], 3],
  ])('once the time left falls within the margin, %s starts no more: the rest is held, and redelivered applies once', async (_name, make, heldIndexes, r1Operations) => {
    const s = scope();
    const batch = make(operations(s));
    const records = batch.map(operationRecord);
    let remaining = 300_000;
    // The time runs out while the first resource write is in flight.
    const client = wrapped(async (c, pass) => {
      const out = await pass(c);
      if (isResourceWrite(c)) remaining = 1_000;
      return out;
    });
    const res = await build({ client, appliedWindow: 2 })(kinesisEvent(...records), context(() => remaining));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(heldIndexes.map((i) => records[i]!.kinesis.sequenceNumber));
    expect(await outcome(batch[0]!.requestId)).toMatchObject({ status: 'completed' });
    for (const i of heldIndexes) expect(await outcome(batch[i]!.requestId)).toBeUndefined();
    const handler = build({ appliedWindow: 2 });
    await deliverAll(handler, records.slice(heldIndexes[0]));
    for (const op of batch) expect(await outcome(op.requestId)).toMatchObject({ status: 'completed' });
    // Each write of r1 applied once: the version counts them.
    expect((await resource(s, 'r1'))?.version).toBe(r1Operations);
  });
});

/** A promise and its resolver. */
function signal() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('two invocations of one batch at once (a timed-out run and its retry)', () => {
  it.each(['the first delivery’s', 'the retry’s'])('the first delivery’s outcome wins when %s outcome write lands first', async (first) => {
    const s = scope();
    const ops = operations(s);
    const batch = [ops.create('r1', { a: 1 }), ops.patch('r1', { b: 2 })];
    const records = batch.map(operationRecord);
    /** Holds an invocation's outcome writes until released, and says when the first of them is waiting. */
    const gated = () => {
      const waiting = signal();
      const release = signal();
      const client = wrapped(async (c, pass) => {
        if (writesOutcomeOf(c, batch[0]!.requestId)) {
          waiting.resolve();
          await release.promise;
        }
        return pass(c);
      });
      return { client, waiting: waiting.promise, release: release.resolve };
    };
    const run1 = gated();
    const run2 = gated();
    const first1 = build({ client: run1.client })(kinesisEvent(...records));
    await run1.waiting;
    // The retry reads the outcomes before the first run's write lands, and finds both operations in `applied`.
    const retry = build({ client: run2.client })(kinesisEvent(...records));
    await run2.waiting;
    const [a, b] = first === 'the retry’s' ? [run2, run1] : [run1, run2];
    a.release();
    await (a === run1 ? first1 : retry);
    b.release();
    await Promise.all([first1, retry]);
    for (const [op, result] of [[batch[0]!, { id: 'r1', a: 1 }], [batch[1]!, { id: 'r1', a: 1, b: 2 }]] as const) {
      const stored = await outcome(op.requestId);
      expect(stored?.status).toBe('completed');
      expect(stored?.result).toEqual(result);
    }
  });
});

/** Adds latency to every call and records what is in flight at once. */
function observed(latencyMs: number) {
  const inFlight = new Set<{ kind: 'write' | 'list' | 'other'; pk?: string; id?: string }>();
  /** `resourcesAtOnce`: the most writes of one partition key in flight together. */
  const seen = { calls: 0, most: 0, resourcesAtOnce: 0, sameResource: 0, writeDuringList: 0 };
  const client = wrapped(async (c, pass) => {
    const call = isResourceWrite(c)
      ? { kind: 'write' as const, pk: c.input.Item!.pk as string, id: `${c.input.Item!.pk}/${c.input.Item!.resourceId}` }
      : c instanceof QueryCommand && c.input.TableName === RESOURCES
        ? { kind: 'list' as const, pk: c.input.ExpressionAttributeValues![':pk'] as string }
        : { kind: 'other' as const };
    const others = [...inFlight];
    if (call.kind === 'write' && others.some((o) => o.kind === 'write' && o.id === call.id)) seen.sameResource++;
    if (call.kind !== 'other' && others.some((o) => o.kind !== call.kind && o.kind !== 'other' && o.pk === call.pk)) seen.writeDuringList++;
    inFlight.add(call);
    seen.calls++;
    seen.most = Math.max(seen.most, inFlight.size);
    if (call.kind === 'write') seen.resourcesAtOnce = Math.max(seen.resourcesAtOnce, [...inFlight].filter((o) => o.kind === 'write' && o.pk === call.pk).length);
    try {
      await sleep(latencyMs);
      return await pass(c);
    } finally {
      inFlight.delete(call);
    }
  });
  return { client, seen };
}

describe('concurrency', () => {
  it('writes of different resources run at once, one resource’s one at a time, and none of a key while its list runs', async () => {
    const s = scope();
    const other = scope();
    const ops = operations(s);
    const list = ops.list(1, 20);
    await build()(kinesisEvent(operationRecord(ops.create('r1', { v: 'r1' }))));
    const batch = [
      ...['r2', 'r3', 'r4'].map((id) => ops.create(id, { v: id })),
      ops.patch('r1', { p: 1 }),
      ops.patch('r1', { p: 2 }),
      ops.patch('r1', { p: 3 }),
      list,
      ops.create('r5', { v: 'r5' }),
      ops.patch('r1', { p: 4 }),
      ...['x1', 'x2', 'x3'].map((id) => operations(other).create(id, { v: id })),
    ];
    const { client, seen } = observed(15);
    // A window of 2 splits r1's chain into several writes, which must not overlap.
    const res = await build({ client, appliedWindow: 2 })(kinesisEvent(...batch.map(operationRecord)));
    expect(res.batchItemFailures).toEqual([]);
    expect(seen.resourcesAtOnce).toBeGreaterThan(1);
    expect(seen.sameResource).toBe(0);
    expect(seen.writeDuringList).toBe(0);
    const r = (id: string, data: Record<string, unknown>) => ({ id, ...data });
    expect((await outcome(list.requestId))?.result).toEqual({
      items: [r('r1', { v: 'r1', p: 3 }), r('r2', { v: 'r2' }), r('r3', { v: 'r3' }), r('r4', { v: 'r4' })],
      page: 1,
      limit: 20,
    });
    expect((await resource(s, 'r1'))?.data).toEqual({ v: 'r1', p: 4 });
  });

  it('bulk reads and writes take their slots too: never more calls in flight than maxInFlight', async () => {
    const s = scope();
    const ops = operations(s);
    const records = Array.from({ length: 250 }, (_, i) => operationRecord(ops.create(`r${i}`, { i })));
    const { client, seen } = observed(2);
    const res = await build({ client, maxInFlight: 2 })(kinesisEvent(...records));
    expect(res.batchItemFailures).toEqual([]);
    expect(seen.most).toBe(2);
    expect(seen.calls).toBe(3 + 3 + 250 + 10);
  });
});

describe('conditional writes that fail', () => {
  it('condition failures in different steps of one chain do not add up to holding it', async () => {
    const s = scope();
    await build()(kinesisEvent(operationRecord(operations(s).create('r1', { c: true }))));
    let writes = 0;
    let sneaks = 0;
    // Another writer changes r1 before the first attempt of each of the chain's three writes.
    const client = wrapped(async (c, pass) => {
      if (isResourceWrite(c) && writes++ % 2 === 0 && sneaks < 3) {
        sneaks++;
        await build()(kinesisEvent(operationRecord(operations(s).patch('r1', { [`s${sneaks}`]: true }))));
      }
      return pass(c);
    });
    const patches = Array.from({ length: 6 }, (_, i) => operations(s).patch('r1', { [`p${i + 1}`]: true }));
    const res = await build({ client, appliedWindow: 2 })(kinesisEvent(...patches.map(operationRecord)));
    expect(res.batchItemFailures).toEqual([]);
    expect(sneaks).toBe(3);
    const fields = Object.keys((await resource(s, 'r1'))?.data ?? {}).sort();
    expect(fields).toEqual(['c', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 's1', 's2', 's3']);
  });
});

describe('copies of an operation in one batch', () => {
  it.each([
    ['a failed operation counts as failed again, not as a duplicate', (ops: ReturnType<typeof operations>) => ops.patch('missing', { a: 1 }), { [CONSUMER_METRICS.failed]: [2], [CONSUMER_METRICS.duplicates]: [0] }],
    ['an applied operation counts as a duplicate', (ops: ReturnType<typeof operations>) => ops.create('r1', { a: 1 }), { [CONSUMER_METRICS.processed]: [1], [CONSUMER_METRICS.duplicates]: [1] }],
  ])('the copy of %s', async (_name, make, counts) => {
    const op = make(operations(scope()));
    const res = await build()(kinesisEvent(operationRecord(op), operationRecord(op)));
    expect(res.batchItemFailures).toEqual([]);
    for (const [name, values] of Object.entries(counts)) expect(metric(name)).toEqual(values);
  });
});

describe('items DynamoDB cannot hold', () => {
  it('a chain whose state would pass 400 KB part-way refuses the write that crossed it alone, as one write per operation would', async () => {
    const s = scope();
    const ops = operations(s);
    const crossing = ops.patch('r1', { b: 'y'.repeat(250_000) });
    const batch = [ops.create('r1', { a: 'x'.repeat(250_000) }), crossing, ops.update('r1', { c: 1 }), ops.patch('r1', { d: 2 })];
    const res = await build()(kinesisEvent(...batch.map(operationRecord)));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(crossing.requestId)).toMatchObject({ status: 'failed', error: { code: 'STORE_REJECTED' } });
    expect(await outcome(batch[2]!.requestId)).toMatchObject({ status: 'completed' });
    expect((await outcome(batch[2]!.requestId))?.result).toEqual({ id: 'r1', c: 1 });
    expect(await resource(s, 'r1')).toMatchObject({ data: { c: 1, d: 2 }, applied: [0, 2, 3].map((i) => batch[i]!.requestId) });
  });
});
