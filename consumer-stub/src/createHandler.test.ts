import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordingDynamo } from '../../common/test/recordingDynamo';
import { CONSUMER_METRICS, DEFAULT_METRICS_NAMESPACE, METRICS_SERVICE } from '../../common/metricNames';
import { resourcesPartition, STATUS_KIND } from '../../common/tables';
import { encodeAggregate } from '../../contract/aggregate';
import { encodeOperation, type ResourceOperation } from '../../contract/operation';
import { kinesisEvent, kinesisRecord, operationRecord, operations } from '../test/factories';
import { createHandler, type ConsumerHandler } from './createHandler';
import { OperationFailedError } from './errors';
import { ResourceStore } from './ResourceStore';
import { StatusRecorder } from './StatusRecorder';
import { useConsumerTables } from '../test/consumerTables';

const STATUS = 'status-test';
const RESOURCES = 'resources-test';

const fx = useConsumerTables({ statusTable: STATUS, resourcesTable: RESOURCES });

/** Passes every command through and counts them by class name. */
function counting(inner: DynamoDBDocumentClient): { client: DynamoDBDocumentClient; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const client = {
    send: (command: object) => {
      calls[command.constructor.name] = (calls[command.constructor.name] ?? 0) + 1;
      return inner.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, calls };
}

/** A fault an emulator cannot produce: fails the commands `fault` picks, passes the rest through. */
function faulty(inner: DynamoDBDocumentClient, fault: (command: object) => Error | undefined): DynamoDBDocumentClient {
  return { send: (command: object) => { const e = fault(command); return e ? Promise.reject(e) : inner.send(command as never); } } as unknown as DynamoDBDocumentClient;
}

/** Like {@link faulty}, with an asynchronous step before each command. */
function faultyAsync(before: (command: object) => Promise<void>): DynamoDBDocumentClient {
  return { send: async (command: object) => { await before(command); return fx.dynamo.send(command as never); } } as unknown as DynamoDBDocumentClient;
}

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
}

function build(o: { client?: DynamoDBDocumentClient; decryptFields?: (op: ResourceOperation) => Promise<ResourceOperation>; logLevel?: 'DEBUG' | 'SILENT'; appliedWindow?: number } = {}): ConsumerHandler {
  const client = o.client ?? fx.dynamo;
  return createHandler({
    store: new ResourceStore({ client, tableName: RESOURCES, ...(o.appliedWindow ? { appliedWindow: o.appliedWindow } : {}) }),
    status: new StatusRecorder({ client, tableName: STATUS }),
    logger: new Logger({ serviceName: 'consumer', logLevel: o.logLevel ?? 'SILENT' }),
    metrics: new Metrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName: METRICS_SERVICE.consumer }),
    ...(o.decryptFields ? { decryptFields: o.decryptFields } : {}),
  });
}

/** A fresh business per test, so tests share the tables without seeing each other. */
function scope() {
  return { businessId: `b-${randomUUID().slice(0, 8)}`, locationId: 'loc-1', resourceType: 'appointment' };
}

async function outcome(requestId: string) {
  const out = await fx.dynamo.send(new GetCommand({ TableName: STATUS, Key: { requestId, kind: STATUS_KIND.outcome } }));
  return out.Item;
}

async function resource(s: ReturnType<typeof scope>, resourceId: string) {
  const out = await fx.dynamo.send(
    new GetCommand({ TableName: RESOURCES, Key: { pk: resourcesPartition(s.businessId, s.locationId, s.resourceType), resourceId } }),
  );
  return out.Item;
}

async function forgetOutcome(requestId: string) {
  await fx.dynamo.send(new DeleteCommand({ TableName: STATUS, Key: { requestId, kind: STATUS_KIND.outcome } }));
}

/** The sum of a metric's values in the captured EMF lines. */
function total(name: string): number {
  return (emfMetrics()[name] ?? []).reduce((a, b) => a + b, 0);
}

/** Every value each metric took in the captured EMF lines. */
function emfMetrics(): Record<string, number[]> {
  const totals: Record<string, number[]> = {};
  for (const line of fx.output) {
    if (!line.includes('"_aws"')) continue;
    const emf = JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
    for (const { Name } of emf._aws.CloudWatchMetrics[0]!.Metrics) {
      const value = emf[Name] as number | number[];
      (totals[Name] ??= []).push(...(Array.isArray(value) ? value : [value]));
    }
  }
  return totals;
}

describe('applying operations', () => {
  it('create stores the data and completes with the resource as result', async () => {
    const s = scope();
    const op = operations(s, { sub: 'user-1' }).create('r1', { patientName: 'Ann', slot: 3 });
    const res = await build()(kinesisEvent(operationRecord(op)));
    expect(res).toEqual({ batchItemFailures: [] });
    expect((await resource(s, 'r1'))?.data).toEqual({ patientName: 'Ann', slot: 3 });
    expect(await outcome(op.requestId)).toMatchObject({
      requestId: op.requestId,
      kind: 'outcome',
      status: 'completed',
      result: { id: 'r1', patientName: 'Ann', slot: 3 },
      operation: 'create',
      ...s,
      resourceId: 'r1',
      sub: 'user-1',
      acceptedAt: op.timestamp,
    });
  });

  it('update replaces the data', async () => {
    const s = scope();
    const ops = operations(s);
    const up = ops.update('r1', { b: 2 });
    await build()(kinesisEvent(operationRecord(ops.create('r1', { a: 1 })), operationRecord(up)));
    expect((await resource(s, 'r1'))?.data).toEqual({ b: 2 });
    expect(await outcome(up.requestId)).toMatchObject({ status: 'completed', result: { id: 'r1', b: 2 } });
  });

  it('patch merges top-level fields into the data', async () => {
    const s = scope();
    const ops = operations(s);
    const p = ops.patch('r1', { b: 3, c: { x: 1 } });
    await build()(kinesisEvent(operationRecord(ops.create('r1', { a: 1, b: 2 })), operationRecord(p)));
    expect((await resource(s, 'r1'))?.data).toEqual({ a: 1, b: 3, c: { x: 1 } });
    expect(await outcome(p.requestId)).toMatchObject({ status: 'completed', result: { id: 'r1', a: 1, b: 3, c: { x: 1 } } });
  });

  it('delete removes the resource from lists and completes without a result', async () => {
    const s = scope();
    const ops = operations(s);
    const del = ops.delete('r1');
    const list = ops.list();
    await build()(kinesisEvent(operationRecord(ops.create('r1', { a: 1 })), operationRecord(del), operationRecord(list)));
    expect(await outcome(del.requestId)).toMatchObject({ status: 'completed' });
    expect((await outcome(del.requestId))?.result).toBeUndefined();
    expect((await outcome(list.requestId))?.result).toEqual({ items: [], page: 1, limit: 20 });
  });

  it('list returns the page of live resources matching every filter, ordered by id', async () => {
    const s = scope();
    const ops = operations(s);
    const creates = [
      ops.create('c', { status: 'confirmed', date: '2024-01-01', slot: 3 }),
      ops.create('a', { status: 'confirmed', date: '2024-01-01', slot: 1 }),
      ops.create('b', { status: 'pending', date: '2024-01-01' }),
      ops.create('d', { status: 'confirmed', date: '2024-01-02' }),
      ops.create('e', { status: 'confirmed', date: '2024-01-01', slot: 5 }),
    ];
    const page1 = ops.list(1, 2, { status: 'confirmed', date: '2024-01-01' });
    const page2 = ops.list(2, 2, { status: 'confirmed', date: '2024-01-01' });
    const byNumber = ops.list(1, 20, { slot: '3' });
    await build()(kinesisEvent(...creates.map(operationRecord), operationRecord(page1), operationRecord(page2), operationRecord(byNumber)));
    expect((await outcome(page1.requestId))?.result).toEqual({
      items: [
        { id: 'a', status: 'confirmed', date: '2024-01-01', slot: 1 },
        { id: 'c', status: 'confirmed', date: '2024-01-01', slot: 3 },
      ],
      page: 1,
      limit: 2,
    });
    expect((await outcome(page2.requestId))?.result).toEqual({
      items: [{ id: 'e', status: 'confirmed', date: '2024-01-01', slot: 5 }],
      page: 2,
      limit: 2,
    });
    expect((await outcome(byNumber.requestId))?.result).toMatchObject({ items: [{ id: 'c' }] });
  });

  it('passes each operation through decryptFields before applying it', async () => {
    const s = scope();
    const op = operations(s).create('r1', { patientName: 'ciphertext' });
    const decryptFields = async (o: ResourceOperation) => ({ ...o, data: { patientName: 'Ann' } }) as ResourceOperation;
    await build({ decryptFields })(kinesisEvent(operationRecord(op)));
    expect((await resource(s, 'r1'))?.data).toEqual({ patientName: 'Ann' });
  });

  it('records a decryption refusal as failed and does not retry it', async () => {
    const s = scope();
    const op = operations(s).create('r1', { patientName: 'ciphertext' });
    const decryptFields = async () => {
      throw new OperationFailedError('DECRYPTION_FAILED', 'cannot decrypt');
    };
    const res = await build({ decryptFields })(kinesisEvent(operationRecord(op)));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(op.requestId)).toMatchObject({ status: 'failed', error: { code: 'DECRYPTION_FAILED' } });
    expect(await resource(s, 'r1')).toBeUndefined();
  });
});

describe('exactly once in effect', () => {
  it('a record delivered twice changes the store once and counts a duplicate', async () => {
    const s = scope();
    const ops = operations(s);
    const patch = ops.patch('r1', { n: 2 });
    const handler = build();
    await handler(kinesisEvent(operationRecord(ops.create('r1', { n: 1 }))));
    const record = operationRecord(patch);
    await handler(kinesisEvent(record));
    await handler(kinesisEvent(record));
    const item = await resource(s, 'r1');
    expect(item?.data).toEqual({ n: 2 });
    expect(item?.version).toBe(2);
    expect(total(CONSUMER_METRICS.duplicates)).toBe(1);
  });

  it.each([
    ['with its outcome recorded', false],
    ['after its outcome write was lost', true],
  ])('a late duplicate create %s does not undo a later patch', async (_name, lost) => {
    const s = scope();
    const ops = operations(s);
    const create = ops.create('r1', { a: 1, b: 1 });
    const handler = build();
    await handler(kinesisEvent(operationRecord(create), operationRecord(ops.patch('r1', { b: 2 }))));
    if (lost) await forgetOutcome(create.requestId);
    const res = await handler(kinesisEvent(operationRecord(create)));
    expect(res.batchItemFailures).toEqual([]);
    expect((await resource(s, 'r1'))?.data).toEqual({ a: 1, b: 2 });
    expect(await outcome(create.requestId)).toMatchObject({ status: 'completed' });
  });

  it('a duplicate delete is a no-op, not a NOT_FOUND', async () => {
    const s = scope();
    const ops = operations(s);
    const del = ops.delete('r1');
    const handler = build();
    await handler(kinesisEvent(operationRecord(ops.create('r1', { a: 1 })), operationRecord(del)));
    await forgetOutcome(del.requestId);
    await handler(kinesisEvent(operationRecord(del)));
    expect(await outcome(del.requestId)).toMatchObject({ status: 'completed' });
    expect((await resource(s, 'r1'))?.deleted).toBe(true);
  });

  it('a late duplicate create after a delete does not resurrect the resource', async () => {
    const s = scope();
    const ops = operations(s);
    const create = ops.create('r1', { a: 1 });
    const handler = build();
    await handler(kinesisEvent(operationRecord(create), operationRecord(ops.delete('r1'))));
    await forgetOutcome(create.requestId);
    await handler(kinesisEvent(operationRecord(create)));
    expect((await resource(s, 'r1'))?.deleted).toBe(true);
  });

  it('a new create after a delete brings the id back', async () => {
    const s = scope();
    const ops = operations(s);
    const again = ops.create('r1', { a: 2 });
    await build()(kinesisEvent(operationRecord(ops.create('r1', { a: 1 })), operationRecord(ops.delete('r1')), operationRecord(again)));
    expect(await outcome(again.requestId)).toMatchObject({ status: 'completed', result: { id: 'r1', a: 2 } });
  });
});

describe('bulk calls', () => {
  it('a batch of 100 creates of distinct resources costs 106 calls, and the same batch delivered again one', async () => {
    const s = scope();
    const ops = operations(s);
    const records = Array.from({ length: 100 }, (_, i) => operationRecord(ops.create(`r${i}`, { i })));
    const { client, calls } = counting(fx.dynamo);
    const handler = build({ client });
    expect((await handler(kinesisEvent(...records))).batchItemFailures).toEqual([]);
    expect(calls).toEqual({ BatchGetCommand: 2, PutCommand: 100, BatchWriteCommand: 4 });
    for (const k of Object.keys(calls)) delete calls[k];
    expect((await handler(kinesisEvent(...records))).batchItemFailures).toEqual([]);
    expect(calls).toEqual({ BatchGetCommand: 1 });
    expect(total(CONSUMER_METRICS.duplicates)).toBe(100);
  });

  it('consecutive writes of one resource become one conditional write that records every requestId', async () => {
    const s = scope();
    const ops = operations(s);
    const batch = [ops.create('r1', { a: 1 }), ops.patch('r1', { b: 2 }), ops.update('r1', { c: 3 }), ops.patch('r1', { d: 4 })];
    const { client, calls } = counting(fx.dynamo);
    await build({ client })(kinesisEvent(...batch.map(operationRecord)));
    expect(calls.PutCommand).toBe(1);
    const item = await resource(s, 'r1');
    expect(item).toMatchObject({ data: { c: 3, d: 4 }, version: 4, applied: batch.map((o) => o.requestId) });
    expect((await outcome(batch[1]!.requestId))?.result).toEqual({ id: 'r1', a: 1, b: 2 });
  });

  it('a write refused by the store fails alone, and the writes folded with it still apply', async () => {
    const s = scope();
    const ops = operations(s);
    const huge = ops.patch('r1', { n: 12345678901234567890 });
    const batch = [ops.create('r1', { a: 1 }), huge, ops.patch('r1', { b: 2 })];
    const res = await build()(kinesisEvent(...batch.map(operationRecord)));
    expect(res.batchItemFailures).toEqual([]);
    expect((await resource(s, 'r1'))?.data).toEqual({ a: 1, b: 2 });
    expect(await outcome(huge.requestId)).toMatchObject({ status: 'failed', error: { code: 'STORE_REJECTED' } });
  });
});

describe('concurrent writers', () => {
  /** Runs `meanwhile` before the first `times` resource writes reach DynamoDB: another writer racing us. */
  function racing(times: number, meanwhile: () => Promise<unknown>): DynamoDBDocumentClient {
    let left = times;
    return faultyAsync(async (c) => {
      if (c instanceof PutCommand && (c.input.Item as { kind?: string }).kind === undefined && left > 0) {
        left--;
        await meanwhile();
      }
    });
  }
  const sneak = (s: ReturnType<typeof scope>, data: Record<string, unknown>) => build()(kinesisEvent(operationRecord(operations(s).patch('r1', data))));

  it('a resource changed by another writer after the bulk read is read again and its writes decided again', async () => {
    const s = scope();
    await build()(kinesisEvent(operationRecord(operations(s).create('r1', { a: 1 }))));
    const p = operations(s).patch('r1', { c: 3 });
    const res = await build({ client: racing(1, () => sneak(s, { b: 2 })) })(kinesisEvent(operationRecord(p)));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(p.requestId)).toMatchObject({ status: 'completed', result: { id: 'r1', a: 1, b: 2, c: 3 } });
  });

  it('a resource that keeps changing holds its record for the next delivery', async () => {
    const s = scope();
    await build()(kinesisEvent(operationRecord(operations(s).create('r1', { a: 1 }))));
    const record = operationRecord(operations(s).patch('r1', { c: 3 }));
    const res = await build({ client: racing(3, () => sneak(s, { b: randomUUID() })) })(kinesisEvent(record));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.kinesis.sequenceNumber }]);
    expect((await resource(s, 'r1'))?.data.c).toBeUndefined();
  });
});

describe('aggregate records', () => {
  it('applies an aggregate record’s operations in order, as consecutive records of the shard', async () => {
    const s = scope();
    const ops = operations(s);
    const batch = [ops.create('r1', { a: 1 }), ops.patch('r1', { b: 2 }), ops.list(), ops.delete('r1')];
    const res = await build()(kinesisEvent(kinesisRecord(encodeAggregate(batch.map(encodeOperation)))));
    expect(res.batchItemFailures).toEqual([]);
    expect((await outcome(batch[2]!.requestId))?.result).toEqual({ items: [{ id: 'r1', a: 1, b: 2 }], page: 1, limit: 20 });
    expect((await resource(s, 'r1'))?.deleted).toBe(true);
    expect(total(CONSUMER_METRICS.processed)).toBe(4);
  });

  it('a transient failure of one operation holds the whole record, and its redelivery finds the applied ones as duplicates', async () => {
    const s = scope();
    const ops = operations(s);
    const batch = [ops.create('r1', { a: 1 }), ops.patch('r1', { b: 2 }), ops.create('r2', { a: 1 })];
    const record = kinesisRecord(encodeAggregate(batch.map(encodeOperation)));
    const after = operationRecord(ops.create('r3', { a: 1 }));
    let fail = true;
    const client = faulty(fx.dynamo, (c) => (fail && c instanceof PutCommand && (c.input.Item as { resourceId?: string }).resourceId === 'r2' ? throttling() : undefined));
    const handler = build({ client });
    expect((await handler(kinesisEvent(record, after))).batchItemFailures).toEqual([{ itemIdentifier: record.kinesis.sequenceNumber }]);
    fail = false;
    expect((await handler(kinesisEvent(record, after))).batchItemFailures).toEqual([]);
    expect((await resource(s, 'r1'))).toMatchObject({ data: { a: 1, b: 2 }, version: 2 });
    expect((await resource(s, 'r2'))?.data).toEqual({ a: 1 });
    expect(total(CONSUMER_METRICS.duplicates)).toBe(3);
  });

  it('an invalid operation inside an aggregate is poison alone', async () => {
    const s = scope();
    const ops = operations(s);
    const good = ops.create('r1', { a: 1 });
    const requestId = randomUUID();
    const bad = Buffer.from(JSON.stringify({ ...s, operation: 'create', requestId, timestamp: new Date().toISOString(), resourceId: 'r2' }));
    const res = await build()(kinesisEvent(kinesisRecord(encodeAggregate([bad, encodeOperation(good)]))));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(requestId)).toMatchObject({ status: 'failed', error: { code: 'INVALID_OPERATION' } });
    expect(await outcome(good.requestId)).toMatchObject({ status: 'completed' });
  });
});

describe('business failures', () => {
  it.each([
    ['patch of a missing resource', (o: ReturnType<typeof operations>) => [o.patch('r1', { a: 1 })], 'NOT_FOUND'],
    ['update of a missing resource', (o: ReturnType<typeof operations>) => [o.update('r1', { a: 1 })], 'NOT_FOUND'],
    ['delete of a missing resource', (o: ReturnType<typeof operations>) => [o.delete('r1')], 'NOT_FOUND'],
    ['patch of a deleted resource', (o: ReturnType<typeof operations>) => [o.create('r1', {}), o.delete('r1'), o.patch('r1', { a: 1 })], 'NOT_FOUND'],
    ['create of an existing id', (o: ReturnType<typeof operations>) => [o.create('r1', { a: 1 }), o.create('r1', { a: 2 })], 'CONFLICT'],
  ])('%s is recorded as failed and not retried', async (_name, make, code) => {
    const s = scope();
    const ops = make(operations(s));
    const res = await build()(kinesisEvent(...ops.map(operationRecord)));
    expect(res.batchItemFailures).toEqual([]);
    const last = ops.at(-1)!;
    expect(await outcome(last.requestId)).toMatchObject({ status: 'failed', error: { code } });
    expect(total(CONSUMER_METRICS.failed)).toBe(1);
    expect(total(CONSUMER_METRICS.processed)).toBe(ops.length - 1);
  });

  it('a conflicting create leaves the existing resource as it was', async () => {
    const s = scope();
    const ops = operations(s);
    await build()(kinesisEvent(operationRecord(ops.create('r1', { a: 1 })), operationRecord(ops.create('r1', { a: 2 }))));
    expect((await resource(s, 'r1'))?.data).toEqual({ a: 1 });
  });
});

describe('poison records', () => {
  it('a record that is not JSON is skipped, not reported', async () => {
    const s = scope();
    const after = operations(s).create('r1', { a: 1 });
    const res = await build()(kinesisEvent(kinesisRecord('{not json'), operationRecord(after)));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(after.requestId)).toMatchObject({ status: 'completed' });
  });

  it('an invalid operation with a requestId is marked failed INVALID_OPERATION and skipped', async () => {
    const s = scope();
    const requestId = randomUUID();
    const bad = { ...s, operation: 'create', requestId, timestamp: new Date().toISOString(), resourceId: 'r1', sub: 'u1' }; // no data
    const res = await build()(kinesisEvent(kinesisRecord(JSON.stringify(bad))));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(requestId)).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_OPERATION' },
      operation: 'create',
      ...s,
      resourceId: 'r1',
      sub: 'u1',
      acceptedAt: bad.timestamp,
    });
    expect(await resource(s, 'r1')).toBeUndefined();
  });

  it('an invalid operation is logged and marked failed without quoting any of its values', async () => {
    const s = scope();
    const requestId = randomUUID();
    const bad = { ...s, operation: 'list', requestId, timestamp: 'John Doe', pagination: { page: 1, limit: 20 }, filters: { patientName: 'John Doe', n: 7 } };
    const res = await build({ logLevel: 'DEBUG' })(kinesisEvent(kinesisRecord(JSON.stringify(bad))));
    expect(res.batchItemFailures).toEqual([]);
    const failed = await outcome(requestId);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'INVALID_OPERATION', message: expect.stringContaining('timestamp') } });
    expect(JSON.stringify(failed)).not.toContain('John Doe');
    expect(fx.output.some((l) => l.includes('poison record skipped'))).toBe(true);
    expect(fx.output.filter((l) => l.includes('John Doe'))).toEqual([]);
  });
});

describe('values DynamoDB cannot hold', () => {
  it('a number beyond ±(2^53−1) is marked failed STORE_REJECTED, never retried, and its value never logged', async () => {
    const s = scope();
    const ops = operations(s);
    const huge = ops.create('r1', { cardNumber: 12345678901234567890 });
    const after = ops.create('r2', { a: 1 });
    const res = await build({ logLevel: 'DEBUG' })(kinesisEvent(operationRecord(huge), operationRecord(after)));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(huge.requestId)).toMatchObject({ status: 'failed', error: { code: 'STORE_REJECTED' } });
    expect(await outcome(after.requestId)).toMatchObject({ status: 'completed' });
    expect(fx.output.filter((l) => l.includes('1234567890123456'))).toEqual([]);
  });
});

describe('outcomes that would not fit', () => {
  it('a list whose result is too large for a status item is completed without it (resultOmitted), not failed', async () => {
    const s = scope();
    const ops = operations(s);
    const creates = Array.from({ length: 5 }, (_, i) => ops.create(`r${i}`, { blob: 'x'.repeat(90_000) }));
    const list = ops.list(1, 20);
    const res = await build()(kinesisEvent(...creates.map((c) => operationRecord(c)), operationRecord(list)));
    expect(res.batchItemFailures).toEqual([]);
    const listed = await outcome(list.requestId);
    expect(listed).toMatchObject({ status: 'completed', resultOmitted: true });
    expect(listed?.result).toBeUndefined();
  });

  it('data nested too deep to store is marked failed STORE_REJECTED, not retried', async () => {
    const s = scope();
    const op = operations(s).create('r1', { deep: 'PLACEHOLDER' });
    // Built as text: JSON.stringify itself cannot walk this deep, JSON.parse can.
    const raw = JSON.stringify(op).replace('"PLACEHOLDER"', `${'['.repeat(20_000)}1${']'.repeat(20_000)}`);
    const res = await build()(kinesisEvent(kinesisRecord(raw)));
    expect(res.batchItemFailures).toEqual([]);
    expect(await outcome(op.requestId)).toMatchObject({ status: 'failed', error: { code: 'STORE_REJECTED' } });
  });

  it('a poison record with a huge sub is marked failed without it, and does not hold the shard', async () => {
    const s = scope();
    const requestId = randomUUID();
    const bad = { ...s, operation: 'create', requestId, timestamp: new Date().toISOString(), resourceId: 'r1', sub: 'x'.repeat(500_000) };
    const res = await build()(kinesisEvent(kinesisRecord(JSON.stringify(bad))));
    expect(res.batchItemFailures).toEqual([]);
    const failed = await outcome(requestId);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'INVALID_OPERATION' }, ...s });
    expect(failed?.sub).toBeUndefined();
  });

  it('a failure DynamoDB refuses to store whole is stored with only what must fit', async () => {
    const recorder = new StatusRecorder({ client: fx.dynamo, tableName: STATUS });
    const requestId = randomUUID();
    const acceptedAt = new Date().toISOString();
    const s = scope();
    await expect(recorder.failed({ requestId, acceptedAt, ...s, operation: 'create', resourceId: 'r'.repeat(500_000) }, { code: 'X', message: 'm' })).resolves.toBe(true);
    // The scope stays, so the owner can still read the outcome.
    expect(await outcome(requestId)).toMatchObject({ requestId, status: 'failed', error: { code: 'X', message: 'm' }, acceptedAt, ...s, operation: 'create' });
    expect((await outcome(requestId))?.resourceId).toBeUndefined();
  });
});

describe('transient failures', () => {
  it('a failure holds exactly the records that depend on it: the rest of its resource and its key after the next list', async () => {
    const s = scope();
    const other = scope();
    const ops = operations(s);
    const batch = [
      ops.create('r1', { a: 1 }),
      ops.create('r2', { a: 1 }), // its write is throttled
      ops.create('r3', { a: 1 }),
      ops.patch('r2', { a: 2 }), // same resource: held
      ops.patch('r1', { a: 2 }), // another resource, before the list: applied
      ops.list(), // must see r2: held
      ops.create('r4', { a: 1 }), // after the list: held
      operations(other).create('r1', { a: 1 }), // another key: applied
    ];
    const records = batch.map(operationRecord);
    const client = faulty(fx.dynamo, (c) => (c instanceof PutCommand && (c.input.Item as { resourceId?: string; pk?: string }).resourceId === 'r2' ? throttling() : undefined));
    const res = await build({ client })(kinesisEvent(...records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([1, 3, 5, 6].map((i) => records[i]!.kinesis.sequenceNumber));
    expect((await resource(s, 'r1'))?.data).toEqual({ a: 2 });
    expect((await resource(s, 'r3'))?.data).toEqual({ a: 1 });
    expect(await resource(s, 'r2')).toBeUndefined();
    expect(await resource(s, 'r4')).toBeUndefined();
    expect((await resource(other, 'r1'))?.data).toEqual({ a: 1 });
    for (const i of [1, 3, 5, 6]) expect(await outcome(batch[i]!.requestId)).toBeUndefined();
    for (const i of [0, 2, 4, 7]) expect(await outcome(batch[i]!.requestId)).toMatchObject({ status: 'completed' });
    expect(total(CONSUMER_METRICS.heldBack)).toBe(4);
  });

  it('a retry from the lowest held record applies the rest once, in order, and finds the others as duplicates', async () => {
    const s = scope();
    const ops = operations(s);
    const batch = [ops.create('r1', { a: 1 }), ops.create('r2', { a: 1 }), ops.patch('r2', { a: 2 }), ops.patch('r1', { b: 2 }), ops.list()];
    const records = batch.map(operationRecord);
    let fail = true;
    const client = faulty(fx.dynamo, (c) => (fail && c instanceof PutCommand && (c.input.Item as { resourceId?: string }).resourceId === 'r2' ? throttling() : undefined));
    const handler = build({ client });
    const first = await handler(kinesisEvent(...records));
    fail = false;
    const from = records.findIndex((r) => r.kinesis.sequenceNumber === first.batchItemFailures[0]!.itemIdentifier);
    expect(from).toBe(1);
    const second = await handler(kinesisEvent(...records.slice(from)));
    expect(second.batchItemFailures).toEqual([]);
    expect((await resource(s, 'r2'))?.data).toEqual({ a: 2 });
    expect((await resource(s, 'r2'))?.version).toBe(2);
    expect((await resource(s, 'r1'))?.data).toEqual({ a: 1, b: 2 });
    expect((await resource(s, 'r1'))?.version).toBe(2);
    expect((await outcome(batch[4]!.requestId))?.result).toEqual({ items: [{ id: 'r1', a: 1, b: 2 }, { id: 'r2', a: 2 }], page: 1, limit: 20 });
    expect(total(CONSUMER_METRICS.duplicates)).toBe(1);
  });

  it('a failed outcome write is retried, and the retry records the outcome without applying again', async () => {
    const s = scope();
    const op = operations(s).create('r1', { a: 1 });
    let fail = true;
    const client = faulty(fx.dynamo, (c) => (fail && c instanceof BatchWriteCommand ? throttling() : undefined));
    const handler = build({ client });
    const record = operationRecord(op);
    expect((await handler(kinesisEvent(record))).batchItemFailures).toHaveLength(1);
    fail = false;
    expect((await handler(kinesisEvent(record))).batchItemFailures).toEqual([]);
    expect(await outcome(op.requestId)).toMatchObject({ status: 'completed', result: { id: 'r1', a: 1 } });
    expect((await resource(s, 'r1'))?.version).toBe(1);
  });

  it('a business failure followed by a write of its resource keeps its outcome when the batch is delivered again', async () => {
    const s = scope();
    const ops = operations(s);
    const conflict = ops.create('r1', { a: 2 });
    const batch = [ops.create('r1', { a: 1 }), conflict, ops.delete('r1')];
    let fail = true;
    const client = faulty(fx.dynamo, (c) => (fail && c instanceof BatchWriteCommand ? throttling() : undefined));
    const handler = build({ client });
    const records = batch.map(operationRecord);
    expect((await handler(kinesisEvent(...records))).batchItemFailures).toHaveLength(2);
    fail = false;
    expect((await handler(kinesisEvent(...records))).batchItemFailures).toEqual([]);
    expect(await outcome(conflict.requestId)).toMatchObject({ status: 'failed', error: { code: 'CONFLICT' } });
    expect((await resource(s, 'r1'))?.deleted).toBe(true);
  });

  it('a transient decryption failure holds its resource chain and applies the rest', async () => {
    const s = scope();
    const ops = operations(s);
    const secret = { ...ops.create('r1', { name: 'ciphertext' }), encryptedFields: ['name'] } as ResourceOperation;
    const batch = [secret, ops.patch('r1', { b: 1 }), ops.create('r2', { a: 1 })];
    const kmsDown = async (o: ResourceOperation) => {
      if (o.encryptedFields?.length) throw Object.assign(new Error('KMS unavailable'), { name: 'KMSInternalException', $fault: 'server' });
      return o;
    };
    const records = batch.map(operationRecord);
    const res = await build({ decryptFields: kmsDown })(kinesisEvent(...records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[0]!.kinesis.sequenceNumber, records[1]!.kinesis.sequenceNumber]);
    expect(await resource(s, 'r1')).toBeUndefined();
    expect((await resource(s, 'r2'))?.data).toEqual({ a: 1 });
  });
});

describe('the applied window', () => {
  it('outcomes are stored before a resource’s writes in one batch could push their requestIds out of its window', async () => {
    const s = scope();
    const ops = operations(s);
    const batch = [ops.create('r1', { v: 1 }), ops.delete('r1'), ops.create('r1', { v: 2 }), ops.delete('r1'), ops.create('r1', { v: 3 }), ops.delete('r1'), ops.create('r1', { v: 4 })];
    const last = batch.at(-1)!.requestId;
    let fail = true;
    // The batch's last outcome write fails, so the whole batch is delivered again.
    const client = faulty(fx.dynamo, (c) => (fail && c instanceof BatchWriteCommand && JSON.stringify(c.input).includes(last) ? throttling() : undefined));
    const handler = build({ client, appliedWindow: 3 });
    const records = batch.map(operationRecord);
    expect((await handler(kinesisEvent(...records))).batchItemFailures.length).toBeGreaterThan(0);
    fail = false;
    expect((await handler(kinesisEvent(...records))).batchItemFailures).toEqual([]);
    for (const op of batch) expect(await outcome(op.requestId)).toMatchObject({ status: 'completed' });
    expect((await resource(s, 'r1'))).toMatchObject({ data: { v: 4 }, version: 7 });
  });
});

describe('status moves only forward', () => {
  it('a completed outcome is not overwritten by a later outcome or by the gateway’s processing write', async () => {
    const s = scope();
    const op = operations(s).create('r1', { a: 1 });
    await build()(kinesisEvent(operationRecord(op)));
    const recorder = new StatusRecorder({ client: fx.dynamo, tableName: STATUS });
    expect(await recorder.failed({ requestId: op.requestId, acceptedAt: op.timestamp }, { code: 'X', message: 'late' })).toBe(false);
    // The gateway's acceptance lands late, on its own item: the outcome is untouched.
    await fx.dynamo.send(new PutCommand({ TableName: STATUS, Item: { requestId: op.requestId, kind: 'accepted', status: 'processing' } }));
    expect(await outcome(op.requestId)).toMatchObject({ status: 'completed', result: { id: 'r1', a: 1 } });
  });

  it('an outcome written before the gateway’s acceptance carries the whole status item', async () => {
    const s = scope();
    const op = operations(s, { sub: 'owner' }).delete('gone');
    await build()(kinesisEvent(operationRecord(op)));
    const item = await outcome(op.requestId);
    expect(item).toMatchObject({ requestId: op.requestId, sub: 'owner', operation: 'delete', ...s, resourceId: 'gone', acceptedAt: op.timestamp });
    expect(item?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 6 * 24 * 3600);
    expect(typeof item?.updatedAt).toBe('string');
  });
});

describe('observability', () => {
  it('emits EMF metrics for processed, failed and duplicate records and end-to-end age', async () => {
    const s = scope();
    const ops = operations(s, { timestamp: () => new Date(Date.now() - 1000).toISOString() });
    const create = operationRecord(ops.create('r1', { a: 1 }));
    await build()(kinesisEvent(create, create, operationRecord(ops.patch('nope', {})), kinesisRecord('x')));
    const m = emfMetrics();
    expect(m[CONSUMER_METRICS.processed]).toEqual([1]);
    expect(m[CONSUMER_METRICS.duplicates]).toEqual([1]);
    expect(m[CONSUMER_METRICS.failed]).toEqual([2]);
    expect(m[CONSUMER_METRICS.heldBack]).toEqual([0]);
    expect(m[CONSUMER_METRICS.endToEndAge]).toHaveLength(1);
    expect(m[CONSUMER_METRICS.endToEndAge]![0]).toBeGreaterThanOrEqual(1000);
    const emf = JSON.parse(fx.output.find((l) => l.includes('"_aws"'))!);
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: DEFAULT_METRICS_NAMESPACE, Dimensions: [['service']] });
    expect(emf.service).toBe(METRICS_SERVICE.consumer);
  });

  it('every log line about an operation carries its requestId', async () => {
    const s = scope();
    const ops = operations(s);
    const create = ops.create('r1', { a: 1 });
    const missing = ops.patch('nope', {});
    await build({ logLevel: 'DEBUG' })(kinesisEvent(operationRecord(create), operationRecord(missing)));
    const logs = fx.output
      .filter((l) => !l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message !== 'batch done');
    expect(logs.map((l) => [l.message, l.requestId])).toEqual([
      ['operation completed', create.requestId],
      ['operation failed', missing.requestId],
    ]);
  });
});

describe('the deployed role', () => {
  it('is granted every DynamoDB action the handler uses, on each table', async () => {
    const { STATUS_CONSUMER_ACTIONS } = await import('../../infra/lib/StatusTable');
    const { RESOURCES_CONSUMER_ACTIONS } = await import('../../infra/lib/ResourcesTable');
    const s = scope();
    const ops = operations(s);
    const batch = [
      ops.create('r1', { a: 1 }),
      ops.patch('r1', { b: 2 }),
      ops.patch('missing', { b: 2 }),
      ops.list(),
      ops.create('r2', { a: 2 }),
      ops.delete('r2'),
      ops.patch('r1', { c: 3 }),
    ];
    const { client, used } = recordingDynamo(fx.dynamo);
    const handler = build({ client });
    const records = [...batch.map(operationRecord), kinesisRecord('not json')];
    expect((await handler(kinesisEvent(...records))).batchItemFailures).toEqual([]);
    expect((await handler(kinesisEvent(...records))).batchItemFailures).toEqual([]);
    const granted = new Set([
      ...STATUS_CONSUMER_ACTIONS.map((a) => `${STATUS}:${a}`),
      ...RESOURCES_CONSUMER_ACTIONS.map((a) => `${RESOURCES}:${a}`),
    ]);
    expect([...used].filter((u) => !granted.has(u))).toEqual([]);
    expect(used.size).toBeGreaterThanOrEqual(5);
  });
});
