import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { batchLength, isBatchReady } from './batchWindow';

const record = (bytes: number): KinesisRecord => ({ Data: new Uint8Array(bytes), PartitionKey: 'k', SequenceNumber: '1' });
const MiB = 1024 * 1024;

describe('batchLength', () => {
  it('takes up to the batch size', () => {
    expect(batchLength({ batchSize: 2, windowMs: 0 }, [record(10), record(10), record(10)])).toBe(2);
  });

  it('stops before the 6 MB payload limit, counting the data base64-encoded', () => {
    // 1 MiB of data is 1.33 MiB in the event: four fit in 6 MiB, five do not.
    const pending = Array.from({ length: 7 }, () => record(MiB));
    expect(batchLength({ batchSize: 100, windowMs: 0 }, pending)).toBe(4);
  });

  it('takes one record even when it alone is near the limit', () => {
    expect(batchLength({ batchSize: 100, windowMs: 0 }, [record(5 * MiB)])).toBe(1);
  });
});

describe('isBatchReady', () => {
  const limits = { batchSize: 3, windowMs: 1000 };

  it.each([
    ['nothing is pending', false, [], 5000, false],
    ['the window is open and the batch not full', false, [record(1)], 999, false],
    ['the window has elapsed', true, [record(1)], 1000, false],
    ['the batch is full by count', true, [record(1), record(1), record(1)], 0, false],
    ['the batch is full by payload', true, [record(5 * MiB), record(2 * MiB)], 0, false],
    ['the shard is closed and read to its end', true, [record(1)], 0, true],
  ] as const)('when %s, ready is %s', (_what, ready, pending, now, endOfShard) => {
    expect(isBatchReady(limits, pending as readonly KinesisRecord[], 0, now, endOfShard)).toBe(ready);
  });
});
