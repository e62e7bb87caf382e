import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../../common/awsClients';
import { STATUS_KIND } from '../../../common/tables';
import { freePort } from '../../../test/freePort';
import { FAST_RETRY, startHarness, type Harness } from '../../test/harness';
import { StatusStore } from '../status/StatusStore';
import { StatusWaiter, type StatusWaiterOptions } from '../status/StatusWaiter';

let h: Harness;
let app: ReturnType<Harness['app']>;
beforeAll(async () => {
  h = await startHarness();
  app = h.app();
});
afterAll(() => h.close());

const SCOPE = { 'X-Business-ID': 'b1', 'X-Location-ID': 'l1', 'X-Resource-Type': 'appointment' };

async function create(token: string) {
  const res = await app.request('/api/resources/b1-l1', {
    method: 'POST',
    headers: { ...SCOPE, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ data: { patientName: 'Jane' } }),
  });
  return ((await res.json()) as { data: { requestId: string; id: string } }).data;
}

const get = (id: string, token: string, headers: Record<string, string> = {}, on = app) =>
  on.request(`/api/requests/${id}`, { headers: { Authorization: `Bearer ${token}`, ...headers } });

/** Writes the consumer's outcome of `requestId`, as the consumer would. */
const complete = (requestId: string) =>
  h.dynamo.send(
    new PutCommand({
      TableName: h.statusTable,
      Item: { requestId, kind: STATUS_KIND.outcome, status: 'completed', operation: 'create', businessId: 'b1', locationId: 'l1', resourceType: 'appointment', result: { id: 'appointment-1', patientName: 'Jane' }, acceptedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z' },
    }),
  );

/**
 * An app whose status waits run on a virtual clock (each pause moves it on at once), counting the reads;
 * `onPause` runs at each pause, e.g. to write the outcome meanwhile.
 */
function waitingApp(o: Partial<StatusWaiterOptions> & { onPause?: () => Promise<unknown> } = {}) {
  let t = 0;
  const reads: number[] = [];
  const statusWaiter = new StatusWaiter({
    read: (id) => {
      reads.push(t);
      return h.statusStore.get(id);
    },
    now: () => t,
    sleep: async (ms) => {
      t += ms;
      await o.onPause?.();
    },
    ...o,
  });
  return { app: h.app({ statusWaiter }), reads, at: () => t };
}

describe('GET /api/requests/{requestId}', () => {
  it('answers processing for an accepted operation, with its scope and times', async () => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId, id } = await create(token);
    const res = await get(requestId, token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; data: Record<string, unknown> };
    expect(body.success).toBe(true);
    expect(body.data).toEqual({
      requestId,
      status: 'processing',
      operation: 'create',
      businessId: 'b1',
      locationId: 'l1',
      resourceType: 'appointment',
      resourceId: id,
      acceptedAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('answers the outcome once there is one', async () => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId } = await create(token);
    await h.dynamo.send(
      new PutCommand({
        TableName: h.statusTable,
        Item: { requestId, kind: STATUS_KIND.outcome, status: 'failed', operation: 'create', businessId: 'b1', locationId: 'l1', resourceType: 'appointment', error: { code: 'CONFLICT', message: 'exists' }, acceptedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z' },
      }),
    );
    const body = (await (await get(requestId, token)).json()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({ status: 'failed', error: { code: 'CONFLICT', message: 'exists' } });
  });

  it('lets any operation permission on the scope see the status', async () => {
    const { requestId } = await create(await h.token(['b1:l1:appointment:create']));
    expect((await get(requestId, await h.token(['b1:*:appointment:list'], 'bob'))).status).toBe(200);
  });

  it('answers 404 for an unknown id', async () => {
    const res = await get(crypto.randomUUID(), await h.token(['*:*:*:*']));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('answers 404, not 403, to a caller without permission on that scope', async () => {
    const { requestId } = await create(await h.token(['b1:l1:appointment:*']));
    const res = await get(requestId, await h.token(['b1:l2:appointment:*'], 'mallory'));
    expect(res.status).toBe(404);
  });

  it('answers 400 for an id that is not a UUID', async () => {
    expect((await get('not-a-uuid', await h.token(['*:*:*:*']))).status).toBe(400);
  });

  it('answers 401 without a token', async () => {
    expect((await app.request(`/api/requests/${crypto.randomUUID()}`)).status).toBe(401);
  });

  it('answers a processing status with Retry-After, and no Preference-Applied without Prefer', async () => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId } = await create(token);
    const res = await get(requestId, token);
    expect(res.headers.get('Retry-After')).toBe('1');
    expect(res.headers.get('Preference-Applied')).toBeNull();
  });

  it('answers a completed status with its result and without Retry-After', async () => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId } = await create(token);
    await complete(requestId);
    const res = await get(requestId, token);
    expect(res.headers.get('Retry-After')).toBeNull();
    expect(await res.json()).toMatchObject({ data: { status: 'completed', result: { id: 'appointment-1' } } });
  });
});

describe('GET /api/requests/{requestId} with Prefer: wait', () => {
  it('answers as soon as a read finds the outcome, with Preference-Applied', async () => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId } = await create(token);
    let written = false;
    const w = waitingApp({ onPause: async () => void (written ||= (await complete(requestId), true)) });
    const res = await get(requestId, token, { Prefer: 'wait=10' }, w.app);
    expect(res.status).toBe(200);
    expect(res.headers.get('Preference-Applied')).toBe('wait=10');
    expect(res.headers.get('Retry-After')).toBeNull();
    expect(await res.json()).toMatchObject({ data: { status: 'completed' } });
    expect(w.reads).toEqual([100]);
  });

  it('answers processing with Retry-After once N seconds passed, having read the table on its schedule', async () => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId } = await create(token);
    const w = waitingApp();
    const res = await get(requestId, token, { Prefer: 'respond-async, wait=3' }, w.app);
    expect(res.headers.get('Preference-Applied')).toBe('wait=3');
    expect(res.headers.get('Retry-After')).toBe('1');
    expect(await res.json()).toMatchObject({ data: { status: 'processing' } });
    expect(w.at()).toBe(3_000);
    expect(w.reads).toEqual([100, 300, 700, 1500, 2500, 3000]);
  });

  it('shortens a wait over 20 s to 20 s', async () => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId } = await create(token);
    const w = waitingApp();
    const res = await get(requestId, token, { Prefer: 'wait=600' }, w.app);
    expect(res.headers.get('Preference-Applied')).toBe('wait=20');
    expect(w.at()).toBe(20_000);
  });

  it.each([
    ['past the bound of waiting requests', { maxWaiting: 0 }],
    ['while draining', { draining: () => true }],
  ])('answers at once %s, without Preference-Applied', async (_name, o) => {
    const token = await h.token(['b1:l1:appointment:*']);
    const { requestId } = await create(token);
    const w = waitingApp(o);
    const res = await get(requestId, token, { Prefer: 'wait=10' }, w.app);
    expect(res.status).toBe(200);
    expect(res.headers.get('Preference-Applied')).toBeNull();
    expect(res.headers.get('Retry-After')).toBe('1');
    expect(w.reads).toHaveLength(0);
  });

  it('does not wait for an unknown id: 404 at once', async () => {
    const w = waitingApp();
    const res = await get(crypto.randomUUID(), await h.token(['*:*:*:*']), { Prefer: 'wait=10' }, w.app);
    expect(res.status).toBe(404);
    expect(w.reads).toHaveLength(0);
  });
});

describe('GET /api/requests/{requestId} when the status table does not answer', () => {
  it('answers 503 STORE_UNAVAILABLE with Retry-After, not 500', async () => {
    const dynamo = createDynamoClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1 });
    const statusStore = new StatusStore({ dynamo, tableName: h.statusTable, retry: FAST_RETRY, readRetry: { baseMs: 1, capMs: 2, deadlineMs: 20 } });
    const res = await get(crypto.randomUUID(), await h.token(['*:*:*:*']), {}, h.app({ statusStore }));
    dynamo.destroy();
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('1');
    expect(await res.json()).toEqual({ success: false, error: { code: 'STORE_UNAVAILABLE', message: 'the status store is unavailable' } });
  });

  it('answers 503 STORE_UNAVAILABLE for a table that does not exist, logged at error with its cause', async () => {
    const statusStore = new StatusStore({ dynamo: h.dynamo, tableName: 'no-such-table', retry: FAST_RETRY });
    const res = await get(crypto.randomUUID(), await h.token(['*:*:*:*']), {}, h.app({ statusStore }));
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('1');
    const correlationId = res.headers.get('X-Request-ID');
    expect(await res.json()).toEqual({ success: false, error: { code: 'STORE_UNAVAILABLE', message: 'the status store is unavailable' } });
    const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.correlationId === correlationId && l.code === 'STORE_UNAVAILABLE');
    expect(line).toMatchObject({ level: 'error', err: { name: 'ResourceNotFoundException' } });
  });
});
