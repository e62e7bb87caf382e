import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../common/awsClients';
import { STATUS_KIND } from '../../common/tables';
import { DEFAULT_STATUS_RETENTION_SECONDS } from '../../contract/status';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureTables } from '../../local/provision';
import { createLimiter, type Limiter } from './createLimiter';
import { StatusRecorder, type Outcome, type OutcomeSubject } from './StatusRecorder';

const TABLE = 'status-recorder-test';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const LATER = new Date('2026-03-01T12:05:00.000Z');
/** Past a status item's 400 KB limit. */
const OVERSIZED = 'x'.repeat(450 * 1024);

let emulators: Emulators;
let dynamo: DynamoDBDocumentClient;

beforeAll(async () => {
  emulators = await startEmulators();
  dynamo = createDynamoClient({ region: 'us-east-1', endpoint: emulators.dynamoEndpoint });
  await ensureTables(dynamo as unknown as DynamoDBClient, { statusTable: TABLE });
});
afterAll(async () => {
  dynamo.destroy();
  await emulators.close();
});

function recorder(o: { now?: () => Date; retentionSeconds?: number; tableName?: string } = {}) {
  return new StatusRecorder({ client: dynamo, tableName: TABLE, now: () => NOW, ...o });
}

function subject(extra: Partial<OutcomeSubject> = {}): OutcomeSubject {
  return {
    requestId: randomUUID(),
    operation: 'create',
    businessId: 'business-123',
    locationId: 'location-456',
    resourceType: 'appointment',
    resourceId: 'appointment-1',
    sub: 'alice',
    correlationId: 'corr-1',
    acceptedAt: '2026-03-01T11:59:59.000Z',
    ...extra,
  };
}

/** The outcome item as stored, read straight from the table. */
async function stored(requestId: string) {
  const out = await dynamo.send(new GetCommand({ TableName: TABLE, Key: { requestId, kind: STATUS_KIND.outcome }, ConsistentRead: true }));
  return out.Item;
}

describe('StatusRecorder, one outcome at a time', () => {
  it('writes the outcome item with the subject, the time and the TTL of the retention', async () => {
    const s = subject();
    expect(await recorder({ retentionSeconds: 60 }).completed(s, { id: 'appointment-1' })).toBe(true);
    expect(await stored(s.requestId)).toEqual({
      ...s,
      kind: STATUS_KIND.outcome,
      status: 'completed',
      result: { id: 'appointment-1' },
      updatedAt: NOW.toISOString(),
      expiresAt: Math.floor(NOW.getTime() / 1000) + 60,
    });
  });

  it('keeps items for DEFAULT_STATUS_RETENTION_SECONDS when no retention is given', async () => {
    const s = subject();
    await recorder().failed(s, { code: 'NOT_FOUND', message: 'resource appointment-1 does not exist' });
    expect((await stored(s.requestId))?.expiresAt).toBe(Math.floor(NOW.getTime() / 1000) + DEFAULT_STATUS_RETENTION_SECONDS);
  });

  it('lets the first outcome win: a second write returns false and leaves the item as it was', async () => {
    const s = subject();
    expect(await recorder().completed(s, { id: 'first' })).toBe(true);
    const first = await stored(s.requestId);
    const later = recorder({ now: () => LATER });
    expect(await later.completed(s, { id: 'second' })).toBe(false);
    expect(await later.failed(s, { code: 'CONFLICT', message: 'resource appointment-1 already exists' })).toBe(false);
    expect(await stored(s.requestId)).toEqual(first);
    expect(first).toMatchObject({ status: 'completed', result: { id: 'first' }, updatedAt: NOW.toISOString() });
  });

  it('lets a first failure win over a later completion', async () => {
    const s = subject();
    expect(await recorder().failed(s, { code: 'CONFLICT', message: 'resource appointment-1 already exists' })).toBe(true);
    expect(await recorder({ now: () => LATER }).completed(s, { id: 'late' })).toBe(false);
    expect(await stored(s.requestId)).toMatchObject({ status: 'failed', error: { code: 'CONFLICT' }, updatedAt: NOW.toISOString() });
    expect((await stored(s.requestId))?.result).toBeUndefined();
  });

  it('writes a completion whose result is too large for an item without it, as resultOmitted: true', async () => {
    const s = subject({ operation: 'list' });
    expect(await recorder().completed(s, { items: [OVERSIZED] })).toBe(true);
    const item = await stored(s.requestId);
    expect(item).toEqual({
      ...s,
      kind: STATUS_KIND.outcome,
      status: 'completed',
      resultOmitted: true,
      updatedAt: NOW.toISOString(),
      expiresAt: Math.floor(NOW.getTime() / 1000) + DEFAULT_STATUS_RETENTION_SECONDS,
    });
  });

  it('stores a failure too large for an item reduced: its scope and acceptance kept, the message cut to 1 KiB', async () => {
    const s = subject({ operation: 'update' });
    expect(await recorder().failed(s, { code: 'STORE_REJECTED', message: OVERSIZED })).toBe(true);
    expect(await stored(s.requestId)).toEqual({
      requestId: s.requestId,
      acceptedAt: s.acceptedAt,
      operation: 'update',
      businessId: 'business-123',
      locationId: 'location-456',
      resourceType: 'appointment',
      kind: STATUS_KIND.outcome,
      status: 'failed',
      error: { code: 'STORE_REJECTED', message: OVERSIZED.slice(0, 1024) },
      updatedAt: NOW.toISOString(),
      expiresAt: Math.floor(NOW.getTime() / 1000) + DEFAULT_STATUS_RETENTION_SECONDS,
    });
  });

  it('reads back the recorded outcome, and nothing for a requestId without one', async () => {
    const s = subject();
    await recorder().completed(s);
    expect(await recorder().outcome(s.requestId)).toMatchObject({ requestId: s.requestId, status: 'completed' });
    expect(await recorder().outcome(randomUUID())).toBeUndefined();
  });

  it('refuses to be built without a table name', () => {
    expect(() => recorder({ tableName: '' })).toThrow('StatusRecorder needs a tableName');
  });
});

describe('StatusRecorder, in bulk', () => {
  const completedOutcome = (s: OutcomeSubject, result?: unknown): Outcome => ({ subject: s, status: 'completed', ...(result === undefined ? {} : { result }) });

  it('writes more outcomes than one call takes, each as a single write would', async () => {
    const outcomes: Outcome[] = Array.from({ length: 60 }, (_, n) =>
      n % 3 === 0
        ? { subject: subject(), status: 'failed', error: { code: 'NOT_FOUND', message: `resource r${n} does not exist` } }
        : completedOutcome(subject(), { n }),
    );
    expect(await recorder().recordAll(outcomes)).toEqual({ unwritten: new Set() });
    for (const [n, o] of outcomes.entries()) {
      const expected = o.status === 'completed' ? { status: 'completed', result: { n } } : { status: 'failed', error: o.error };
      expect(await stored(o.subject.requestId)).toEqual({
        ...o.subject,
        kind: STATUS_KIND.outcome,
        ...expected,
        updatedAt: NOW.toISOString(),
        expiresAt: Math.floor(NOW.getTime() / 1000) + DEFAULT_STATUS_RETENTION_SECONDS,
      });
    }
  });

  it('writes one outcome per requestId, the first given', async () => {
    const s = subject();
    const others = Array.from({ length: 30 }, () => completedOutcome(subject(), { other: true }));
    const { unwritten } = await recorder().recordAll([completedOutcome(s, { id: 'first' }), ...others, completedOutcome(s, { id: 'second' })]);
    expect(unwritten).toEqual(new Set());
    expect(await stored(s.requestId)).toMatchObject({ status: 'completed', result: { id: 'first' } });
  });

  it('writes a call DynamoDB refuses as invalid item by item: the oversized result left out, the others as given', async () => {
    const big = subject({ operation: 'list' });
    const small = Array.from({ length: 5 }, () => subject());
    const { unwritten } = await recorder().recordAll([completedOutcome(big, { items: [OVERSIZED] }), ...small.map((s) => completedOutcome(s, { ok: true }))]);
    expect(unwritten).toEqual(new Set());
    expect(await stored(big.requestId)).toMatchObject({ status: 'completed', resultOmitted: true });
    expect((await stored(big.requestId))?.result).toBeUndefined();
    for (const s of small) expect(await stored(s.requestId)).toMatchObject({ status: 'completed', result: { ok: true } });
  });

  it('writes an ifAbsent outcome conditionally: one already recorded stays, and a missing one is written', async () => {
    const taken = subject();
    await recorder().failed(taken, { code: 'CONFLICT', message: 'resource appointment-1 already exists' });
    const first = await stored(taken.requestId);
    const fresh = subject();
    const later = recorder({ now: () => LATER });
    const { unwritten } = await later.recordAll([
      { ...completedOutcome(taken, { id: 'late' }), ifAbsent: true },
      { ...completedOutcome(fresh, { id: 'new' }), ifAbsent: true },
    ]);
    expect(unwritten).toEqual(new Set());
    expect(await stored(taken.requestId)).toEqual(first);
    expect(await stored(fresh.requestId)).toMatchObject({ status: 'completed', result: { id: 'new' }, updatedAt: LATER.toISOString() });
  });

  it('writes an outcome without ifAbsent in bulk, which carries no condition (the caller read it absent)', async () => {
    const s = subject();
    await recorder().completed(s, { id: 'first' });
    await recorder({ now: () => LATER }).recordAll([completedOutcome(s, { id: 'bulk' })]);
    expect(await stored(s.requestId)).toMatchObject({ result: { id: 'bulk' }, updatedAt: LATER.toISOString() });
  });

  it('makes every call of recordAll and recorded in a slot of the limiter it is given', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const one = createLimiter(1);
    const counted: Limiter = (task) =>
      one(async () => {
        calls++;
        most = Math.max(most, ++inFlight);
        try {
          return await task();
        } finally {
          inFlight--;
        }
      });
    const bulk = Array.from({ length: 60 }, () => completedOutcome(subject()));
    const alone = Array.from({ length: 3 }, () => ({ ...completedOutcome(subject()), ifAbsent: true }));
    expect((await recorder().recordAll([...bulk, ...alone], counted)).unwritten).toEqual(new Set());
    // Three BatchWriteItem calls (25 + 25 + 10) and three conditional puts.
    expect(calls).toBe(6);
    const asked = [...bulk, ...alone].map((o) => o.subject.requestId);
    calls = 0;
    expect(await recorder().recorded([...asked, ...Array.from({ length: 150 }, () => randomUUID())], counted)).toEqual(new Set(asked));
    // 213 keys: three BatchGetItem calls.
    expect(calls).toBe(3);
    expect(most).toBe(1);
  });

  it('gives back every requestId it could not write, with the error, so their records are delivered again', async () => {
    const outcomes = Array.from({ length: 3 }, () => completedOutcome(subject()));
    const missing = recorder({ tableName: 'status-recorder-no-such-table' });
    const { unwritten, error } = await missing.recordAll(outcomes);
    expect(unwritten).toEqual(new Set(outcomes.map((o) => o.subject.requestId)));
    expect((error as Error).name).toBe('ResourceNotFoundException');
  });

  it('says which requestIds already have an outcome, over more than one read call', async () => {
    const written = Array.from({ length: 3 }, () => subject());
    for (const s of written) await recorder().completed(s);
    const absent = Array.from({ length: 120 }, () => randomUUID());
    const asked = [...absent.slice(0, 60), ...written.map((s) => s.requestId), ...absent.slice(60), written[0]!.requestId];
    expect(await recorder().recorded(asked)).toEqual(new Set(written.map((s) => s.requestId)));
  });
});
