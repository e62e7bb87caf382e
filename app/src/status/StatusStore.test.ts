import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient } from '../../../common/awsClients';
import { freePort } from '../../../test/freePort';
import { StoreUnavailableError } from '../errors';
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
    await store().recordAccepted(accepted(id));
    // The acceptance is written, beside the outcome, and the read still answers the outcome.
    const written = await h.dynamo.send(new GetCommand({ TableName: h.statusTable, Key: { requestId: id, kind: STATUS_KIND.accepted } }));
    expect(written.Item).toMatchObject({ status: 'processing' });
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
    .filter((cmd) => cmd instanceof BatchWriteItemCommand)
    .map((cmd) => (cmd as BatchWriteItemCommand).input.RequestItems![h.statusTable]!.length);
  send.mockRestore();
  expect(sizes).toEqual([25, 25, 10]);
  const read = await Promise.all(ids.map((id) => store.get(id)));
  expect(read.every((r) => r?.status === 'processing')).toBe(true);
});

it('writes again only the items BatchWriteItem left unprocessed', async () => {
  const store = new StatusStore({ dynamo: h.dynamo, tableName: h.statusTable, retry: FAST_RETRY, maxInFlight: 1 });
  const ids = Array.from({ length: 3 }, () => crypto.randomUUID());
  const send = h.dynamo.send.bind(h.dynamo);
  const batches: string[][] = [];
  const spy = vi.spyOn(h.dynamo, 'send').mockImplementation((async (cmd: unknown) => {
    if (!(cmd instanceof BatchWriteItemCommand)) return send(cmd as never);
    const requests = cmd.input.RequestItems![h.statusTable]!;
    batches.push(requests.map((r) => r.PutRequest!.Item!.requestId!.S!));
    if (batches.length > 1) return send(cmd);
    // The first call: DynamoDB takes the first two and hands the last back, as it does under throttling.
    await send(new BatchWriteItemCommand({ RequestItems: { [h.statusTable]: requests.slice(0, 2) } }));
    return { UnprocessedItems: { [h.statusTable]: requests.slice(2) } };
  }) as never);
  await Promise.all(ids.map((id) => store.recordAccepted(accepted(id))));
  spy.mockRestore();
  expect(batches).toEqual([ids, [ids[2]]]);
  expect((await Promise.all(ids.map((id) => store.get(id)))).map((r) => r?.status)).toEqual(['processing', 'processing', 'processing']);
});

it('writes a requestId that comes twice in one batch once, and answers both', async () => {
  const store = new StatusStore({ dynamo: h.dynamo, tableName: h.statusTable, retry: FAST_RETRY, maxInFlight: 1 });
  const [id, other] = [crypto.randomUUID(), crypto.randomUUID()];
  await Promise.all([
    store.recordAccepted(accepted(other)),
    store.recordAccepted(accepted(id)),
    store.recordAccepted({ ...accepted(id), correlationId: 'the retry' }),
  ]);
  expect(await store.get(id)).toMatchObject({ status: 'processing', correlationId: 'the retry' });
  expect(await store.get(other)).toMatchObject({ status: 'processing' });
});

describe('StatusStore reads when the table does not answer', () => {
  /** A client whose endpoint refuses connections: a real outage, each call failing with ECONNREFUSED. */
  const unreachable = async () => createDynamoClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1 });

  it('retries a failed read within its deadline, then answers 503 STORE_UNAVAILABLE with Retry-After', async () => {
    const dynamo = await unreachable();
    let t = 0;
    const pauses: number[] = [];
    const store = new StatusStore({
      dynamo,
      tableName: h.statusTable,
      retry: FAST_RETRY,
      readRetry: { baseMs: 100, capMs: 400, deadlineMs: 1_000 },
      random: () => 1,
      now: () => t,
      sleep: async (ms) => {
        pauses.push(ms);
        t += ms;
      },
    });
    const err = await store.get(crypto.randomUUID()).catch((e: unknown) => e);
    dynamo.destroy();
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', headers: { 'Retry-After': '1' } });
    // 100 + 200 + 400 = 700 ms of pauses; a fourth (400) would end past the 1 s deadline.
    expect(pauses).toEqual([100, 200, 400]);
  });

  it('reads through a failure that passes within the deadline', async () => {
    const id = crypto.randomUUID();
    await new StatusStore({ dynamo: h.dynamo, tableName: h.statusTable, batching: false, retry: FAST_RETRY }).recordAccepted(accepted(id));
    // Two socket hang-ups, as the gateway saw under load: a fault the emulator does not make on its own.
    const real = h.dynamo.send.bind(h.dynamo);
    let failures = 2;
    const spy = vi.spyOn(h.dynamo, 'send').mockImplementation((async (cmd: never) => {
      if (failures-- > 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      return real(cmd);
    }) as never);
    const store = new StatusStore({ dynamo: h.dynamo, tableName: h.statusTable, retry: FAST_RETRY, sleep: async () => {} });
    const read = await store.get(id);
    spy.mockRestore();
    expect(failures).toBe(-1);
    expect(read).toMatchObject({ requestId: id, status: 'processing' });
  });

  it('answers 503 STORE_UNAVAILABLE at once, without retrying, for a table that does not exist', async () => {
    let calls = 0;
    const store = new StatusStore({ dynamo: h.dynamo, tableName: 'no-such-table', retry: FAST_RETRY, sleep: async () => void calls++ });
    const err = await store.get(crypto.randomUUID()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', headers: { 'Retry-After': '1' }, cause: { name: 'ResourceNotFoundException' } });
    expect(calls).toBe(0);
  });
});
