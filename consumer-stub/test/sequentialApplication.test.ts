import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDynamoClient } from '../../common/awsClients';
import { resourcesPartition, STATUS_KIND } from '../../common/tables';
import { encodeAggregate } from '../../contract/aggregate';
import { encodeOperation, partitionKey, type ResourceOperation } from '../../contract/operation';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureTables } from '../../local/provision';
import { createHandler } from '../src/createHandler';
import { ResourceStore } from '../src/ResourceStore';
import { StatusRecorder } from '../src/StatusRecorder';
import { kinesisEvent, kinesisRecord } from './factories';

/**
 * The consumer's concurrency model, checked against its definition: whatever the batching, aggregation,
 * duplicates and transient faults (before or after DynamoDB applied the call), the final state of every
 * resource and every outcome equal strictly sequential application in stream order.
 */

const STATUS = 'status-seq';
const RESOURCES = 'resources-seq';
let emulators: Emulators;
let dynamo: DynamoDBDocumentClient;

beforeAll(async () => {
  emulators = await startEmulators();
  dynamo = createDynamoClient({ region: 'us-east-1', endpoint: emulators.dynamoEndpoint });
  await ensureTables(dynamo as unknown as DynamoDBClient, { statusTable: STATUS, resourcesTable: RESOURCES });
});
afterAll(async () => {
  dynamo.destroy();
  await emulators.close();
});
beforeEach(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

type Command =
  | { kind: 'create' | 'update' | 'patch'; scope: number; resource: number; v: number }
  | { kind: 'delete'; scope: number; resource: number }
  | { kind: 'list'; scope: number; filter?: number }
  | { kind: 'again'; back: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constantFrom('create' as const, 'update' as const, 'patch' as const), scope: fc.nat(1), resource: fc.nat(2), v: fc.nat(2) }),
  fc.record({ kind: fc.constant('delete' as const), scope: fc.nat(1), resource: fc.nat(2) }),
  fc.record({ kind: fc.constant('list' as const), scope: fc.nat(1), filter: fc.option(fc.nat(2), { nil: undefined }) }),
  fc.record({ kind: fc.constant('again' as const), back: fc.nat(5) }),
);

/** Operations from commands; `again` repeats an earlier operation (the same requestId, as a replay would). */
function toOperations(commands: Command[], businessIds: string[]): ResourceOperation[] {
  const ops: ResourceOperation[] = [];
  for (const c of commands) {
    if (c.kind === 'again') {
      if (ops.length) ops.push(ops[Math.max(0, ops.length - 1 - c.back)]!);
      continue;
    }
    const base = { businessId: businessIds[c.scope]!, locationId: 'l', resourceType: 't', requestId: randomUUID(), timestamp: new Date().toISOString() };
    if (c.kind === 'list') ops.push({ ...base, operation: 'list', pagination: { page: 1, limit: 100 }, ...(c.filter === undefined ? {} : { filters: { v: String(c.filter) } }) });
    else if (c.kind === 'delete') ops.push({ ...base, operation: 'delete', resourceId: `r${c.resource}` });
    else ops.push({ ...base, operation: c.kind, resourceId: `r${c.resource}`, data: c.kind === 'patch' ? { v: c.v, [`f${c.v}`]: true } : { v: c.v } });
  }
  return ops;
}

interface Expected {
  resources: Map<string, { data: Record<string, unknown>; deleted: boolean }>;
  outcomes: Map<string, { status: 'completed' | 'failed'; code?: string; result?: unknown }>;
  /** Per applied write, the results of it and of every later write of its resource, in order. */
  laterViews: Map<string, unknown[]>;
}

/** The definition: one operation after another, the first outcome of a requestId final. */
function sequentially(ops: ResourceOperation[]): Expected {
  const resources: Expected['resources'] = new Map();
  const outcomes: Expected['outcomes'] = new Map();
  const laterViews: Expected['laterViews'] = new Map();
  const writesOf = new Map<string, string[]>();
  for (const op of ops) {
    if (outcomes.has(op.requestId)) continue;
    const pk = resourcesPartition(op.businessId, op.locationId, op.resourceType);
    if (op.operation === 'list') {
      const items = [...resources.entries()]
        .filter(([k, r]) => k.startsWith(`${pk}/`) && !r.deleted && (!op.filters || String(r.data.v) === op.filters.v))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, r]) => ({ ...r.data, id: k.slice(pk.length + 1) }));
      outcomes.set(op.requestId, { status: 'completed', result: { items, page: 1, limit: 100 } });
      continue;
    }
    const key = `${pk}/${op.resourceId}`;
    const cur = resources.get(key);
    const live = cur !== undefined && !cur.deleted;
    const fail = (code: string) => outcomes.set(op.requestId, { status: 'failed', code });
    if (op.operation === 'create' && live) fail('CONFLICT');
    else if (op.operation !== 'create' && !live) fail('NOT_FOUND');
    else {
      const data = op.operation === 'delete' ? {} : op.operation === 'patch' ? { ...cur!.data, ...op.data } : op.data;
      resources.set(key, { data, deleted: op.operation === 'delete' });
      const result = op.operation === 'delete' ? undefined : { ...data, id: op.resourceId };
      outcomes.set(op.requestId, { status: 'completed', ...(result === undefined ? {} : { result }) });
      const earlier = writesOf.get(key) ?? [];
      writesOf.set(key, [...earlier, op.requestId]);
      laterViews.set(op.requestId, []);
      for (const id of [...earlier, op.requestId]) laterViews.get(id)!.push(result);
    }
  }
  return { resources, outcomes, laterViews };
}

/** Records of the operations, in order: runs of one partition key sometimes carried as one aggregate record. */
function toRecords(ops: ResourceOperation[], aggregate: boolean[]): KinesisStreamRecord[] {
  const records: KinesisStreamRecord[] = [];
  let i = 0;
  for (let k = 0; i < ops.length; k++) {
    let j = i + 1;
    if (aggregate[k % aggregate.length]) while (j < ops.length && j - i < 3 && partitionKey(ops[j]!) === partitionKey(ops[i]!)) j++;
    const bytes = j - i === 1 ? encodeOperation(ops[i]!) : encodeAggregate(ops.slice(i, j).map(encodeOperation));
    records.push(kinesisRecord(bytes, { partitionKey: partitionKey(ops[i]!) }));
    i = j;
  }
  return records;
}

type Fault = 'none' | 'before' | 'after';
type StoredOutcome = { status: string; code?: string; result?: unknown };

/**
 * Throttles calls as `faults` says, in order: before DynamoDB sees the call, or after it applied it. Keeps, in
 * `landed`, the first outcome DynamoDB stored for each requestId.
 */
function faulty(faults: Fault[], landed: Map<string, StoredOutcome>): DynamoDBDocumentClient {
  let n = 0;
  const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
  return {
    send: async (command: object) => {
      const f = faults[n++] ?? 'none';
      if (f === 'before') throw throttled();
      const out = await dynamo.send(command as never);
      for (const item of outcomesStored(command, out)) if (!landed.has(item.requestId as string)) landed.set(item.requestId as string, stored(item));
      if (f === 'after') throw throttled();
      return out;
    },
  } as unknown as DynamoDBDocumentClient;
}

/** The outcome items a successful call stored. */
function outcomesStored(command: object, out: unknown): Record<string, unknown>[] {
  if (command instanceof PutCommand && command.input.TableName === STATUS) return [command.input.Item!];
  if (!(command instanceof BatchWriteCommand) || !command.input.RequestItems?.[STATUS]) return [];
  const unprocessed = new Set(((out as { UnprocessedItems?: Record<string, { PutRequest?: { Item?: { requestId?: string } } }[]> }).UnprocessedItems?.[STATUS] ?? []).map((r) => r.PutRequest?.Item?.requestId));
  return command.input.RequestItems[STATUS].flatMap((r) => (r.PutRequest?.Item && !unprocessed.has(r.PutRequest.Item.requestId as string) ? [r.PutRequest.Item] : []));
}

function stored(o: Record<string, unknown>): StoredOutcome {
  const error = o.error as { code?: string } | undefined;
  return { status: o.status as string, ...(error ? { code: error.code } : {}), ...(o.result === undefined ? {} : { result: o.result }) };
}

/** Delivers like Lambda: batches of `size` records; after a partial failure, again from the lowest reported one. */
async function deliver(records: KinesisStreamRecord[], sizes: number[], client: DynamoDBDocumentClient): Promise<void> {
  const handler = createHandler({
    store: new ResourceStore({ client, tableName: RESOURCES }),
    status: new StatusRecorder({ client, tableName: STATUS }),
    logger: new Logger({ serviceName: 'consumer', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'consumer' }),
    maxInFlight: 4,
  });
  let at = 0;
  for (let attempt = 0; at < records.length; attempt++) {
    if (attempt > 200) throw new Error('delivery did not converge');
    const batch = records.slice(at, at + sizes[attempt % sizes.length]!);
    const { batchItemFailures } = await handler(kinesisEvent(...batch));
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    const lowest = batch.findIndex((r) => failed.has(r.kinesis.sequenceNumber));
    at += lowest < 0 ? batch.length : lowest;
  }
}

async function actual(businessIds: string[], ops: ResourceOperation[]) {
  const resources = new Map<string, { data: Record<string, unknown>; deleted: boolean }>();
  for (const b of businessIds) {
    const pk = resourcesPartition(b, 'l', 't');
    const out = await dynamo.send(new QueryCommand({ TableName: RESOURCES, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }));
    for (const i of out.Items ?? []) resources.set(`${pk}/${i.resourceId}`, { data: i.data, deleted: i.deleted });
  }
  const recorder = new StatusRecorder({ client: dynamo, tableName: STATUS });
  const outcomes = new Map<string, StoredOutcome>();
  for (const op of ops) {
    const o = await recorder.outcome(op.requestId);
    if (o) outcomes.set(op.requestId, stored(o as unknown as Record<string, unknown>));
  }
  expect(STATUS_KIND.outcome).toBe('outcome');
  return { resources, outcomes };
}

// A fixed seed keeps the suite deterministic; PROPERTY_SEED and PROPERTY_RUNS explore further.
const runs = { numRuns: Number(process.env.PROPERTY_RUNS ?? 25), seed: Number(process.env.PROPERTY_SEED ?? 20_261_202), endOnFailure: true } as const;
const TIMEOUT_MS = 180_000;

describe('effects equal sequential application in stream order', () => {
  it('for any operations, batching and aggregation: every resource, every outcome and every list result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 24 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }), async (commands, sizes, aggregate) => {
        const businessIds = [`p${randomUUID().slice(0, 8)}`, `q${randomUUID().slice(0, 8)}`];
        const ops = toOperations(commands, businessIds);
        await deliver(toRecords(ops, aggregate), sizes, dynamo);
        const want = sequentially(ops);
        const got = await actual(businessIds, ops);
        expect(got.resources).toEqual(want.resources);
        expect(got.outcomes).toEqual(want.outcomes);
      }),
      runs,
    );
  }, TIMEOUT_MS);

  it('under transient faults before or after DynamoDB applied a call, retried from the lowest held record: exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(commandArb, { minLength: 1, maxLength: 24 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
        fc.array(fc.constantFrom<Fault>('none', 'none', 'none', 'before', 'after'), { maxLength: 40 }),
        async (commands, sizes, aggregate, faults) => {
          const businessIds = [`p${randomUUID().slice(0, 8)}`, `q${randomUUID().slice(0, 8)}`];
          const ops = toOperations(commands, businessIds);
          const landed = new Map<string, StoredOutcome>();
          await deliver(toRecords(ops, aggregate), sizes, faulty(faults, landed));
          const want = sequentially(ops);
          const got = await actual(businessIds, ops);
          expect(got.resources).toEqual(want.resources);
          // An outcome stored first is never overwritten.
          expect(got.outcomes).toEqual(new Map([...got.outcomes.keys()].map((id) => [id, landed.get(id)])));
          // A write's result is recorded as of its turn, or, when its outcome write was lost and a redelivery
          // found it applied, as the resource is then; lists and failures are recorded before later writes.
          const shape = (m: Map<string, StoredOutcome>, writes: Set<string>) =>
            new Map([...m].map(([id, o]) => [id, writes.has(id) ? { status: o.status, code: o.code } : o]));
          const writes = new Set(ops.filter((o) => o.operation !== 'list').map((o) => o.requestId));
          expect(shape(got.outcomes, writes)).toEqual(shape(want.outcomes as never, writes));
          for (const [id, o] of got.outcomes) {
            if (writes.has(id) && o.status === 'completed') expect(want.laterViews.get(id)).toContainEqual(o.result);
          }
        },
      ),
      runs,
    );
  }, TIMEOUT_MS);
});
