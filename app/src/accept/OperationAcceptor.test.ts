import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeOperation, MAX_RECORD_BYTES, type ResourceOperation } from '../../../contract/operation';
import { startHarness, type Harness } from '../../test/harness';
import { PayloadTooLargeError } from '../errors';
import { createLogger } from '../logger';
import { BatchPublisher } from '../publish/BatchPublisher';
import type { Publisher } from '../publish/Publisher';
import { settle, useFakeClock } from '../publish/test/fakeTime';
import { OperationAcceptor, type AcceptedStatusWriter } from './OperationAcceptor';

const op = (data: Record<string, unknown> = { name: 'x' }): ResourceOperation => ({
  operation: 'patch',
  businessId: 'b',
  locationId: 'l',
  resourceType: 'item',
  resourceId: 'r1',
  data,
  timestamp: '2026-01-01T00:00:00.000Z',
  requestId: crypto.randomUUID(),
  sub: 'alice',
});
const log = createLogger({ sink: () => {} });
const published: Publisher = { publish: async () => ({ shardId: 's', sequenceNumber: '1' }), close: async () => {} };

describe('OperationAcceptor against the emulators', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('puts the prepared record on the stream under its partition key and records the original as processing', async () => {
    const publisher = new BatchPublisher({ kinesis: h.kinesis, streamName: h.streamName, logger: h.logger, retry: { baseMs: 5, capMs: 20, maxAttempts: 3, deadlineMs: 2000 } });
    const acceptor = new OperationAcceptor({
      publisher,
      statusStore: h.statusStore,
      statusRetentionSeconds: 3600,
      prepareRecord: async (o) => ({ ...o, data: { name: 'sealed' } }),
    });
    const o = op();
    const result = await acceptor.accept(o, log);
    expect(result).toMatchObject({ shardId: expect.any(String), sequenceNumber: expect.any(String) });
    const records = (await h.records()).filter((r) => r.json.requestId === o.requestId);
    expect(records.map((r) => [r.partitionKey, decodeOperation(r.bytes)])).toEqual([['b-l-item', { ...o, data: { name: 'sealed' } }]]);
    await h.statusStore.close();
    expect(await h.statusStore.get(o.requestId)).toMatchObject({ requestId: o.requestId, status: 'processing', resourceId: 'r1', sub: 'alice' });
    await publisher.close();
  });
});

describe('OperationAcceptor', () => {
  afterEach(() => vi.useRealTimers());

  it("refuses a record beyond Kinesis' 1 MiB with 413 before anything is written", async () => {
    const publish = vi.fn(published.publish);
    const recordAccepted = vi.fn(async () => {});
    const acceptor = new OperationAcceptor({ publisher: { ...published, publish }, statusStore: { recordAccepted }, statusRetentionSeconds: 60 });
    await expect(acceptor.accept(op({ big: 'x'.repeat(MAX_RECORD_BYTES) }), log)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(publish).not.toHaveBeenCalled();
    expect(recordAccepted).not.toHaveBeenCalled();
  });

  it('stands by an acknowledged record whose status write failed, and says so', async () => {
    const failures = vi.fn();
    const statusStore: AcceptedStatusWriter = { recordAccepted: () => Promise.reject(new Error('table unavailable')) };
    const acceptor = new OperationAcceptor({ publisher: published, statusStore, statusRetentionSeconds: 60, onStatusWriteFailure: failures });
    await expect(acceptor.accept(op(), log)).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
    expect(failures).toHaveBeenCalledOnce();
  });

  it('waits for a slow status write only statusWaitMs once the record is acknowledged', async () => {
    useFakeClock();
    const statusStore: AcceptedStatusWriter = { recordAccepted: () => new Promise<void>(() => {}) };
    const acceptor = new OperationAcceptor({ publisher: published, statusStore, statusRetentionSeconds: 60, statusWaitMs: 1000 });
    let answered = false;
    const answer = acceptor.accept(op(), log).then((r) => ((answered = true), r));
    await vi.advanceTimersByTimeAsync(999);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(settle(answer)).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
  });

  it('fails as the publisher fails: no acknowledgement, no answer', async () => {
    const down: Publisher = { publish: () => Promise.reject(new Error('down')), close: async () => {} };
    const acceptor = new OperationAcceptor({ publisher: down, statusStore: { recordAccepted: async () => {} }, statusRetentionSeconds: 60 });
    await expect(acceptor.accept(op(), log)).rejects.toThrow('down');
  });
});
