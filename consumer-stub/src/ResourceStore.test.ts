import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../common/awsClients';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureTables } from '../../local/provision';
import { WriteContentionError } from './errors';
import { ResourceStore } from './ResourceStore';

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

/** Runs `meanwhile` before the first `times` resource writes reach DynamoDB: another writer racing us. */
function racing(times: number, meanwhile: () => Promise<unknown>): DynamoDBDocumentClient {
  let left = times;
  return {
    send: async (command: object) => {
      if (command instanceof PutCommand && left > 0) {
        left--;
        await meanwhile();
      }
      return dynamo.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
}

describe('ResourceStore', () => {
  it('remembers only the last appliedWindow requestIds of a resource', async () => {
    const store = new ResourceStore({ client: dynamo, tableName: TABLE, appliedWindow: 3 });
    const k = key();
    const ids = Array.from({ length: 5 }, () => randomUUID());
    await store.create(k, { n: 0 }, ids[0]!);
    for (const [i, id] of ids.slice(1).entries()) await store.patch(k, { n: i + 1 }, id);
    expect(await store.patch(k, { n: 99 }, ids[4]!)).toMatchObject({ duplicate: true, resource: { id: 'r1', n: 4 } });
    const { Items } = await dynamo.send(new ScanCommand({ TableName: TABLE }));
    const item = Items!.find((i) => i.pk.startsWith(k.businessId))!;
    expect(item.applied).toEqual(ids.slice(2));
  });

  it('decides again when another writer changed the resource between its read and its write', async () => {
    const k = key();
    const plain = new ResourceStore({ client: dynamo, tableName: TABLE });
    await plain.create(k, { a: 1 }, randomUUID());
    const store = new ResourceStore({ client: racing(1, () => plain.patch(k, { b: 2 }, randomUUID())), tableName: TABLE });
    const out = await store.patch(k, { c: 3 }, randomUUID());
    expect(out).toEqual({ duplicate: false, resource: { id: 'r1', a: 1, b: 2, c: 3 } });
  });

  it('gives up with a retryable error when the resource keeps changing', async () => {
    const k = key();
    const plain = new ResourceStore({ client: dynamo, tableName: TABLE });
    await plain.create(k, { a: 1 }, randomUUID());
    const store = new ResourceStore({ client: racing(3, () => plain.patch(k, { b: randomUUID() }, randomUUID())), tableName: TABLE });
    await expect(store.patch(k, { c: 3 }, randomUUID())).rejects.toBeInstanceOf(WriteContentionError);
  });
});
