import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { STATUS_KIND } from '../../../common/tables';
import { FAST_RETRY, startHarness, type Harness } from '../../test/harness';
import { StatusStore } from './StatusStore';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const accepted = (requestId: string) => ({
  requestId,
  sub: 'alice',
  operation: 'create' as const,
  businessId: 'b',
  locationId: 'l',
  resourceType: 't',
  resourceId: 't-1',
  acceptedAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
  expiresAt: 1_900_000_000,
});

describe.each([
  ['batched', true],
  ['unbatched', false],
])('StatusStore (%s)', (_name, batching) => {
  const store = () => new StatusStore({ dynamo: h.dynamo, tableName: h.statusTable, batching, retry: FAST_RETRY });

  it('reads back an accepted operation as processing', async () => {
    const id = crypto.randomUUID();
    await store().recordAccepted(accepted(id));
    expect(await store().get(id)).toMatchObject({ requestId: id, status: 'processing', kind: STATUS_KIND.accepted, sub: 'alice' });
  });

  it('answers undefined for an unknown id', async () => {
    expect(await store().get(crypto.randomUUID())).toBeUndefined();
  });

  it('never lets an acceptance written after the outcome hide it', async () => {
    const id = crypto.randomUUID();
    await h.dynamo.send(new PutCommand({ TableName: h.statusTable, Item: { ...accepted(id), kind: STATUS_KIND.outcome, status: 'completed' } }));
    await store().recordAccepted(accepted(id)).catch(() => {});
    expect(await store().get(id)).toMatchObject({ status: 'completed' });
  });
});

it('groups concurrent acceptances into BatchWriteItem calls of at most 25', async () => {
  const store = new StatusStore({ dynamo: h.dynamo, tableName: h.statusTable, retry: FAST_RETRY, maxInFlight: 1 });
  const ids = Array.from({ length: 60 }, () => crypto.randomUUID());
  const send = vi.spyOn(h.dynamo, 'send');
  await Promise.all(ids.map((id) => store.recordAccepted(accepted(id))));
  const sizes = send.mock.calls
    .map(([cmd]) => cmd as unknown)
    .filter((cmd) => cmd instanceof BatchWriteCommand)
    .map((cmd) => (cmd as BatchWriteCommand).input.RequestItems![h.statusTable]!.length);
  send.mockRestore();
  expect(sizes).toEqual([25, 25, 10]);
  const read = await Promise.all(ids.map((id) => store.get(id)));
  expect(read.every((r) => r?.status === 'processing')).toBe(true);
});
