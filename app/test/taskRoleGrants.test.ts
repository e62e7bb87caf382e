import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingDynamo } from '../../common/test/recordingDynamo';
import { IDEMPOTENCY_GATEWAY_ACTIONS } from '../../infra/lib/IdempotencyTable';
import { STATUS_GATEWAY_ACTIONS } from '../../infra/lib/StatusTable';
import { IdempotencyStore } from '../src/idempotency/IdempotencyStore';
import { StatusStore } from '../src/status/StatusStore';
import { FAST_RETRY, startHarness, type Harness } from './harness';

const PATH = '/api/resources/business-123-location-456';
const SCOPE = { 'X-Business-ID': 'business-123', 'X-Location-ID': 'location-456', 'X-Resource-Type': 'appointment' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/**
 * dynalite checks no IAM, so a call the task role is not granted would only fail in AWS: every DynamoDB call of
 * the gateway's paths is recorded here and checked against the role's action lists (infra/lib).
 */
describe('the gateway task role', () => {
  it('is granted every DynamoDB action the gateway uses, on each table', async () => {
    const { client, used } = recordingDynamo(h.dynamo);
    const batched = new StatusStore({ dynamo: client, tableName: h.statusTable, retry: FAST_RETRY });
    const unbatched = new StatusStore({ dynamo: client, tableName: h.statusTable, batching: false, retry: FAST_RETRY });
    const store = new IdempotencyStore({ dynamo: client, tableName: h.idempotencyTable, leaseMs: 0, waitMs: 0 });
    const token = await h.token(['business-123:*:appointment:*']);
    for (const statusStore of [batched, unbatched]) {
      const app = h.app({ statusStore, idempotency: store });
      const send = (key: string, body: object) =>
        app.request(PATH, { method: 'POST', headers: { ...SCOPE, Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify(body) });
      const key = `grants-${statusStore === batched ? 'batched' : 'unbatched'}`;
      const first = await send(key, { data: { a: 1 } });
      expect(first.status).toBe(202);
      expect((await send(key, { data: { a: 1 } })).status).toBe(202); // replayed
      expect((await send(key, { data: { a: 2 } })).status).toBe(422);
      const { requestId } = ((await first.json()) as { data: { requestId: string } }).data;
      const status = await app.request(`/api/requests/${requestId}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(status.status).toBe(200);
    }
    // The claim's other ends: a refusal forgets it, a failure releases it, a lapsed lease is taken over.
    const request = { sub: 'alice', key: 'grants-claims', fingerprint: 'fp' };
    const refused = await store.claim(request, { requestId: 'r-1' });
    if (refused.outcome !== 'claimed') throw new Error('expected a claim');
    await refused.discard();
    const failed = await store.claim(request, { requestId: 'r-2' });
    if (failed.outcome !== 'claimed') throw new Error('expected a claim');
    await failed.release();
    expect(await store.claim(request, { requestId: 'r-3' })).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-2' } });
    await Promise.all([batched.close(), unbatched.close()]);

    const granted = new Set([
      ...STATUS_GATEWAY_ACTIONS.map((a) => `${h.statusTable}:${a}`),
      ...IDEMPOTENCY_GATEWAY_ACTIONS.map((a) => `${h.idempotencyTable}:${a}`),
    ]);
    expect([...used].filter((u) => !granted.has(u))).toEqual([]);
    // Every granted action is used: the role grants nothing the gateway does not call.
    expect([...granted].filter((g) => !used.has(g))).toEqual([]);
  });
});
