import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../common/awsClients';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureTables } from '../../local/provision';
import { ResourceStore, resourceKeyId } from './ResourceStore';

const TABLE = 'resources-store-test';
let emulators: Emulators;
let dynamo: DynamoDBDocumentClient;

beforeAll(async () => {
  emulators = await startEmulators();
  dynamo = createDynamoClient({ region: 'us-east-1', endpoint: emulators.dynamoEndpoint });
  await ensureTables(dynamo as unknown as DynamoDBClient, { statusTable: 'unused-status', resourcesTable: TABLE });
});
afterAll(async () => {
  dynamo.destroy();
  await emulators.close();
});

const key = () => ({ businessId: `b-${randomUUID().slice(0, 8)}`, locationId: 'l', resourceType: 't', resourceId: 'r1' });

function store(o: { appliedWindow?: number } = {}) {
  return new ResourceStore({ client: dynamo, tableName: TABLE, ...o });
}

describe('ResourceStore', () => {
  it('remembers only the last appliedWindow requestIds of a resource, across writes', async () => {
    const s = store({ appliedWindow: 3 });
    const k = key();
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const ops = ids.map((requestId, n) => ({ ...k, requestId, timestamp: new Date().toISOString(), ...(n === 0 ? { operation: 'create' as const, data: { n } } : { operation: 'patch' as const, data: { n } }) }));
    let current = (await s.readMany([k])).get(resourceKeyId(k));
    let from = 0;
    while (from < ops.length) {
      const step = s.fold(k, current, ops, from, { maxWrites: Number.POSITIVE_INFINITY });
      expect(await s.put(step.next!, current?.version)).toBe(true);
      current = step.next;
      from = step.end;
    }
    const { Items } = await dynamo.send(new ScanCommand({ TableName: TABLE }));
    const item = Items!.find((i) => i.pk.startsWith(k.businessId))!;
    expect(item.applied).toEqual(ids.slice(2));
    expect(item.data).toEqual({ n: 4 });
    expect(item.version).toBe(5);
  });

  it('refuses a write when another writer changed the item since it was read, and a create over an existing item', async () => {
    const s = store();
    const k = key();
    const create = { ...k, requestId: randomUUID(), timestamp: new Date().toISOString(), operation: 'create' as const, data: { a: 1 } };
    const first = s.fold(k, undefined, [create], 0, { maxWrites: 1 });
    expect(await s.put(first.next!, undefined)).toBe(true);
    expect(await s.put(first.next!, undefined)).toBe(false);
    const patch = { ...create, requestId: randomUUID(), operation: 'patch' as const, data: { b: 2 } };
    const ours = s.fold(k, first.next, [patch], 0, { maxWrites: 1 });
    const theirs = s.fold(k, first.next, [{ ...patch, requestId: randomUUID(), data: { c: 3 } }], 0, { maxWrites: 1 });
    expect(await s.put(theirs.next!, first.next!.version)).toBe(true);
    expect(await s.put(ours.next!, first.next!.version)).toBe(false);
    expect((await s.read(k))?.data).toEqual({ a: 1, c: 3 });
  });

  it('reads more than one call’s worth of resources in bulk, consistently, leaving out those that do not exist', async () => {
    const s = store();
    const base = key();
    const keys = Array.from({ length: 150 }, (_, i) => ({ ...base, resourceId: `r${i}` }));
    await Promise.all(
      keys.filter((_, i) => i % 2 === 0).map(async (k) => {
        const step = s.fold(k, undefined, [{ ...k, requestId: randomUUID(), timestamp: new Date().toISOString(), operation: 'create', data: { id: k.resourceId } }], 0, { maxWrites: 1 });
        await s.put(step.next!, undefined);
      }),
    );
    const read = await s.readMany(keys);
    expect(read.size).toBe(75);
    expect(read.get(resourceKeyId(keys[148]!))?.data).toEqual({ id: 'r148' });
    expect(read.has(resourceKeyId(keys[149]!))).toBe(false);
  });
});
