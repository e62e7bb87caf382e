import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../../common/awsClients';
import { freePort } from '../../../test/freePort';
import { startHarness, type Harness } from '../../test/harness';
import { StreamUnavailableError, ValidationError } from '../errors';
import { IdempotencyStore } from './IdempotencyStore';
import { makeIdempotent, type Attempt } from './makeIdempotent';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

let n = 0;
const NOW = new Date('2026-01-01T00:00:00.000Z');
const idempotent = () => makeIdempotent({ store: new IdempotencyStore({ dynamo: h.dynamo, tableName: h.idempotencyTable, waitMs: 0 }), now: () => NOW });
/** A call for a fresh key whose work records the attempts it ran with and answers `ran:<requestId>`. */
function call(key = `k-${++n}`, fail?: Error) {
  const runs: Attempt[] = [];
  return {
    runs,
    call: {
      request: { sub: 'alice', key, fingerprint: 'fp' },
      ids: { requestId: `fresh-${++n}` },
      run: async (a: Attempt) => {
        runs.push(a);
        if (fail) throw fail;
        return `ran:${a.requestId}`;
      },
      replay: (a: Attempt) => `replayed:${a.requestId}@${a.timestamp}`,
      log: h.logger,
    },
  };
}

describe('makeIdempotent', () => {
  it('runs the first request with its ids and the time, and replays its answer for a repeat without running', async () => {
    const once = idempotent();
    const first = call();
    expect(await once(first.call)).toBe(`ran:${first.call.ids.requestId}`);
    expect(first.runs).toEqual([{ requestId: first.call.ids.requestId, timestamp: NOW.toISOString() }]);
    const again = call(first.call.request.key);
    expect(await once(again.call)).toBe(`replayed:${first.call.ids.requestId}@${NOW.toISOString()}`);
    expect(again.runs).toHaveLength(0);
  });

  it('forgets the key after a refusal (4xx): the next request runs with its own ids', async () => {
    const once = idempotent();
    const refused = call(undefined, new ValidationError('no'));
    await expect(once(refused.call)).rejects.toBeInstanceOf(ValidationError);
    const next = call(refused.call.request.key);
    expect(await once(next.call)).toBe(`ran:${next.call.ids.requestId}`);
  });

  it('keeps the key bound after a failure (5xx): the retry runs at once with the first ids', async () => {
    const once = idempotent();
    const failed = call(undefined, new StreamUnavailableError('down'));
    await expect(once(failed.call)).rejects.toBeInstanceOf(StreamUnavailableError);
    const retry = call(failed.call.request.key);
    expect(await once(retry.call)).toBe(`ran:${failed.call.ids.requestId}`);
  });

  it('answers 503 STORE_UNAVAILABLE with Retry-After when the table does not answer, without running', async () => {
    const dynamo = createDynamoClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1 });
    const once = makeIdempotent({ store: new IdempotencyStore({ dynamo, tableName: h.idempotencyTable, storeRetry: { baseMs: 1, capMs: 2, deadlineMs: 20 } }) });
    const c = call();
    const err = await once(c.call).catch((e: unknown) => e);
    dynamo.destroy();
    expect(err).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', headers: { 'Retry-After': '1' } });
    expect(c.runs).toHaveLength(0);
  });

  it('answers 503 STORE_UNAVAILABLE when the table does not exist, without running', async () => {
    const once = makeIdempotent({ store: new IdempotencyStore({ dynamo: h.dynamo, tableName: 'no-such-table' }) });
    const c = call();
    const err = await once(c.call).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', headers: { 'Retry-After': '1' }, cause: { name: 'ResourceNotFoundException' } });
    expect(c.runs).toHaveLength(0);
  });
});
