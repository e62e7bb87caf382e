import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness';
import { IdempotencyKeyReusedError } from '../errors';
import { IdempotencyKeyInUseError } from './errors';
import { IDEMPOTENCY_KIND, IdempotencyStore, type IdempotencyStoreOptions } from './IdempotencyStore';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

let n = 0;
/** A fresh key per test, so tests share the table without meeting. */
const request = (fingerprint = 'fp-1') => ({ sub: 'alice', key: `key-${++n}`, fingerprint });
const store = (o: Partial<IdempotencyStoreOptions> = {}) => new IdempotencyStore({ dynamo: h.dynamo, tableName: h.statusTable, waitMs: 100, pollMs: 10, ...o });
const item = async (sub: string, key: string) =>
  (await h.dynamo.send(new GetCommand({ TableName: h.statusTable, Key: { requestId: IdempotencyStore.partitionKey(sub, key), kind: IDEMPOTENCY_KIND } }))).Item;

describe('IdempotencyStore', () => {
  it('claims a new key with a pending item that expires in 24 hours', async () => {
    const t = 1_800_000_000_000;
    const req = request();
    const claim = await store({ now: () => t }).claim(req, { requestId: 'r-1', resourceId: 'x-1' });
    expect(claim).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1', resourceId: 'x-1' } });
    expect(await item('alice', req.key)).toMatchObject({
      kind: 'idempotency',
      state: 'pending',
      fingerprint: 'fp-1',
      operationRequestId: 'r-1',
      resourceId: 'x-1',
      claimedAt: t,
      expiresAt: t / 1000 + 86_400,
    });
  });

  it('keys by a hash of the sub, so no caller id is stored in the key', () => {
    expect(IdempotencyStore.partitionKey('alice', 'k')).toMatch(/^idem#[0-9a-f]{64}#k$/);
  });

  it('replays the stored answer once completed', async () => {
    const s = store();
    const req = request();
    const first = await s.claim(req, { requestId: 'r-1' });
    if (first.outcome !== 'claimed') throw new Error('expected a claim');
    await first.complete({ requestId: 'r-1', timestamp: '2026-01-01T00:00:00.000Z' });
    expect(await s.claim(req, { requestId: 'r-2' })).toEqual({ outcome: 'replay', answer: { requestId: 'r-1', timestamp: '2026-01-01T00:00:00.000Z' } });
  });

  it.each(['pending', 'done'])('refuses the key with another fingerprint while it is %s', async (state) => {
    const s = store();
    const req = request();
    const first = await s.claim(req, { requestId: 'r-1' });
    if (first.outcome !== 'claimed') throw new Error('expected a claim');
    if (state === 'done') await first.complete({ requestId: 'r-1', timestamp: '2026-01-01T00:00:00.000Z' });
    expect(await item('alice', req.key)).toMatchObject({ state });
    await expect(s.claim({ ...req, fingerprint: 'fp-2' }, { requestId: 'r-2' })).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });

  it('answers 409 IDEMPOTENCY_KEY_IN_USE when the first attempt stays pending past the wait', async () => {
    const s = store({ waitMs: 50 });
    const req = request();
    await s.claim(req, { requestId: 'r-1' });
    const err = await s.claim(req, { requestId: 'r-2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyKeyInUseError);
    expect(err).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_IN_USE', headers: { 'Retry-After': '1' } });
  });

  it('lets a retry take over a pending claim whose lease ran out (a crashed attempt), reusing its ids', async () => {
    let t = 1_800_000_000_000;
    const s = store({ now: () => t, leaseMs: 30_000 });
    const req = request();
    await s.claim(req, { requestId: 'r-1', resourceId: 'x-1' });
    t += 30_000;
    const second = await s.claim(req, { requestId: 'r-2', resourceId: 'x-2' });
    expect(second).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1', resourceId: 'x-1' } });
  });

  it('lets one retry, not two, take over the same expired lease', async () => {
    let t = 1_800_000_000_000;
    const s = store({ now: () => t, waitMs: 0 });
    const req = request();
    await s.claim(req, { requestId: 'r-1' });
    t += 30_000;
    const results = await Promise.allSettled([s.claim(req, { requestId: 'r-2' }), s.claim(req, { requestId: 'r-3' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([expect.any(IdempotencyKeyInUseError)]);
  });

  it('after a release (5xx), a retry takes over at once with the same ids', async () => {
    const s = store();
    const req = request();
    const first = await s.claim(req, { requestId: 'r-1' });
    if (first.outcome !== 'claimed') throw new Error('expected a claim');
    await first.release();
    expect(await s.claim(req, { requestId: 'r-2' })).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1' } });
  });

  it('after a discard (4xx), the key is forgotten: another request may use it', async () => {
    const s = store();
    const req = request();
    const first = await s.claim(req, { requestId: 'r-1' });
    if (first.outcome !== 'claimed') throw new Error('expected a claim');
    await first.discard();
    expect(await item('alice', req.key)).toBeUndefined();
    expect(await s.claim({ ...req, fingerprint: 'fp-2' }, { requestId: 'r-2' })).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-2' } });
  });

  /** A claim whose lease ran out, and the retry that took it over; `at()` is the takeover's time. */
  async function takenOver() {
    let t = 1_800_000_000_000;
    const s = store({ now: () => t });
    const req = request();
    const first = await s.claim(req, { requestId: 'r-1' });
    if (first.outcome !== 'claimed') throw new Error('expected a claim');
    t += 30_000;
    const second = await s.claim(req, { requestId: 'r-2' });
    if (second.outcome !== 'claimed') throw new Error('expected a takeover');
    return { req, first, second, at: t };
  }

  it('a release or discard by an attempt whose claim was taken over changes nothing', async () => {
    const { req, first, at } = await takenOver();
    await first.discard();
    await first.release();
    expect(await item('alice', req.key)).toMatchObject({ state: 'pending', claimedAt: at });
  });

  it('an attempt whose claim was taken over cannot write the answer; the one that took it over does', async () => {
    const { req, first, second } = await takenOver();
    await first.complete({ requestId: 'r-1', timestamp: 'first' }).catch(() => {});
    expect(await item('alice', req.key)).toMatchObject({ state: 'pending' });
    await second.complete({ requestId: 'r-1', timestamp: 'second' });
    expect(await item('alice', req.key)).toMatchObject({ state: 'done', answer: { timestamp: 'second' } });
  });

  it('treats an expired item that TTL has not deleted yet as absent', async () => {
    const t = 1_800_000_000_000;
    const req = request();
    await h.dynamo.send(
      new PutCommand({
        TableName: h.statusTable,
        Item: {
          requestId: IdempotencyStore.partitionKey('alice', req.key),
          kind: IDEMPOTENCY_KIND,
          fingerprint: 'old',
          state: 'done',
          owner: 'o',
          claimedAt: t - 90_000_000,
          operationRequestId: 'r-old',
          answer: { requestId: 'r-old', timestamp: 'x' },
          expiresAt: t / 1000 - 1,
        },
      }),
    );
    expect(await store({ now: () => t }).claim(req, { requestId: 'r-1' })).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1' } });
  });

  it('resolves concurrent claims of one key to exactly one attempt; the rest replay its answer', async () => {
    const s = store({ waitMs: 3000 });
    const req = request();
    const claims = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const c = await s.claim(req, { requestId: `r-${i}` });
        if (c.outcome === 'claimed') {
          await new Promise((r) => setTimeout(r, 30));
          await c.complete({ ...c.ids, timestamp: 't' });
          return c.ids.requestId;
        }
        return c.answer.requestId;
      }),
    );
    expect(new Set(claims).size).toBe(1);
  });

  it('keeps different callers with the same key apart', async () => {
    const s = store();
    const req = request();
    await s.claim(req, { requestId: 'r-1' });
    expect(await s.claim({ ...req, sub: 'bob', fingerprint: 'other' }, { requestId: 'r-2' })).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-2' } });
  });
});
