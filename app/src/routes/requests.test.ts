import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_KIND } from '../../../common/tables';
import { startHarness, type Harness } from '../../test/harness';

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

const get = (id: string, token: string) => app.request(`/api/requests/${id}`, { headers: { Authorization: `Bearer ${token}` } });

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
});
