import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoClient } from '../../../common/awsClients';
import { freePort } from '../../../test/freePort';
import { TcpProxy } from '../../../test/faults/TcpProxy';
import { startHarness, type Harness } from '../../test/harness';
import { IdempotencyKeyReusedError, StoreUnavailableError } from '../errors';
import { IdempotencyKeyInUseError } from './errors';
import { IdempotencyStore, type IdempotencyStoreOptions } from './IdempotencyStore';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

let n = 0;
/** A fresh key per test, so tests share the table without meeting. */
const request = (fingerprint = 'fp-1') => ({ sub: 'alice', key: `key-${++n}`, fingerprint });
const store = (o: Partial<IdempotencyStoreOptions> = {}) => new IdempotencyStore({ dynamo: h.dynamo, tableName: h.idempotencyTable, waitMs: 100, pollMs: 10, ...o });
const item = async (sub: string, key: string) =>
  (await h.dynamo.send(new GetCommand({ TableName: h.idempotencyTable, Key: { scopedKey: IdempotencyStore.scopedKey(sub, key) } }))).Item;

describe('IdempotencyStore', () => {
  it('claims a new key with a pending item that expires in 24 hours', async () => {
    const t = 1_800_000_000_000;
    const req = request();
    const claim = await store({ now: () => t }).claim(req, { requestId: 'r-1', resourceId: 'x-1' });
    expect(claim).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1', resourceId: 'x-1' } });
    expect(await item('alice', req.key)).toEqual({
      scopedKey: IdempotencyStore.scopedKey('alice', req.key),
      state: 'pending',
      owner: expect.any(String),
      fingerprint: 'fp-1',
      requestId: 'r-1',
      resourceId: 'x-1',
      claimedAt: t,
      expiresAt: t / 1000 + 86_400,
    });
  });

  it('keys by a hash of the sub, so no caller id is stored in the key', () => {
    expect(IdempotencyStore.scopedKey('alice', 'k')).toMatch(/^[0-9a-f]{64}#k$/);
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
        TableName: h.idempotencyTable,
        Item: {
          scopedKey: IdempotencyStore.scopedKey('alice', req.key),
          fingerprint: 'old',
          state: 'done',
          owner: 'o',
          claimedAt: t - 90_000_000,
          requestId: 'r-old',
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

/** A socket hang-up, as the gateway's client reports one. */
const hangUp = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

/**
 * Makes the first command of `type` reach the table or not (`applied`), then fail with a hang-up: the fault a
 * dropped connection makes, which the emulator does not make on its own.
 */
function loseFirstAnswer(type: typeof PutCommand | typeof UpdateCommand, applied: boolean) {
  const real = h.dynamo.send.bind(h.dynamo);
  let lost = 0;
  const spy = vi.spyOn(h.dynamo, 'send').mockImplementation((async (cmd: never) => {
    if (!((cmd as object) instanceof type) || lost > 0) return real(cmd);
    lost++;
    if (applied) await real(cmd);
    throw hangUp();
  }) as never);
  return { lost: () => lost, restore: () => spy.mockRestore() };
}

describe('IdempotencyStore when the table does not answer', () => {
  const noPause = { retrySleep: async () => {} };

  it('claims through refused connections that end within the retry deadline', async () => {
    const proxy = await new TcpProxy(Number(new URL(h.emulators.dynamoEndpoint).port)).start();
    await proxy.setMode('refuse');
    const dynamo = createDynamoClient({ region: 'us-east-1', endpoint: proxy.url, maxAttempts: 1 });
    const pauses: number[] = [];
    const s = store({
      dynamo,
      retrySleep: async (ms) => {
        pauses.push(ms);
        await proxy.setMode('pass');
      },
    });
    const req = request();
    const claim = await s.claim(req, { requestId: 'r-1' }).finally(async () => {
      dynamo.destroy();
      await proxy.close();
    });
    expect(claim).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1' } });
    expect(pauses).toHaveLength(1);
    expect(await item('alice', req.key)).toMatchObject({ state: 'pending', requestId: 'r-1' });
  });

  it('takes a put whose answer was lost, and whose retry found the condition false, for its own claim', async () => {
    const lose = loseFirstAnswer(PutCommand, true);
    const claim = await store(noPause)
      .claim(request(), { requestId: 'r-1', resourceId: 'x-1' })
      .finally(lose.restore);
    expect(lose.lost()).toBe(1);
    expect(claim).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1', resourceId: 'x-1' } });
  });

  it('takes a takeover whose answer was lost for its own, with the first attempt\'s ids', async () => {
    let t = 1_800_000_000_000;
    // No wait for a pending claim: on this clock, which does not move, a claim that waited would wait forever.
    const s = store({ ...noPause, now: () => t, waitMs: 0 });
    const req = request();
    await s.claim(req, { requestId: 'r-1', resourceId: 'x-1' });
    t += 30_000;
    const lose = loseFirstAnswer(UpdateCommand, true);
    const second = await s.claim(req, { requestId: 'r-2', resourceId: 'x-2' }).finally(lose.restore);
    expect(lose.lost()).toBe(1);
    expect(second).toMatchObject({ outcome: 'claimed', ids: { requestId: 'r-1', resourceId: 'x-1' } });
    expect(await item('alice', req.key)).toMatchObject({ state: 'pending', claimedAt: t });
  });

  it('stores the answer through a hang-up: the completion is retried', async () => {
    const s = store(noPause);
    const req = request();
    const claim = await s.claim(req, { requestId: 'r-1' });
    if (claim.outcome !== 'claimed') throw new Error('expected a claim');
    const lose = loseFirstAnswer(UpdateCommand, false);
    await claim.complete({ requestId: 'r-1', timestamp: 't' }).finally(lose.restore);
    expect(lose.lost()).toBe(1);
    expect(await item('alice', req.key)).toMatchObject({ state: 'done', answer: { requestId: 'r-1', timestamp: 't' } });
  });

  it('retries within its deadline, then answers 503 STORE_UNAVAILABLE with Retry-After', async () => {
    const dynamo = createDynamoClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1 });
    let t = 0;
    const pauses: number[] = [];
    const s = store({
      dynamo,
      storeRetry: { baseMs: 100, capMs: 400, deadlineMs: 1_000 },
      random: () => 1,
      now: () => t,
      retrySleep: async (ms) => {
        pauses.push(ms);
        t += ms;
      },
    });
    const err = await s.claim(request(), { requestId: 'r-1' }).catch((e: unknown) => e);
    dynamo.destroy();
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', headers: { 'Retry-After': '1' }, cause: { code: 'ECONNREFUSED' } });
    // 100 + 200 + 400 = 700 ms of pauses; a fourth (400) would end past the 1 s deadline.
    expect(pauses).toEqual([100, 200, 400]);
  });

  it('answers 503 STORE_UNAVAILABLE at once for a table that does not exist', async () => {
    const pauses: number[] = [];
    const s = store({ tableName: 'no-such-table', retrySleep: async (ms) => void pauses.push(ms) });
    const err = await s.claim(request(), { requestId: 'r-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', cause: { name: 'ResourceNotFoundException' } });
    expect(pauses).toEqual([]);
  });
});
