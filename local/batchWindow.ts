import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';

/** Lambda's limit on a synchronous invocation's payload: a batch stops growing before it. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** What one record adds to the event besides its base64 data (ids, ARNs, field names), generously. */
const RECORD_ENVELOPE_BYTES = 1024;

/** How Lambda assembles a batch: the batch size, the batching window and the payload limit. */
export interface BatchLimits {
  batchSize: number;
  /** MaximumBatchingWindowInSeconds, in ms: how long records may wait for a batch to fill. */
  windowMs: number;
}

/** The bytes a record takes in the invocation's payload. */
export function payloadBytes(r: KinesisRecord): number {
  return Math.ceil((r.Data?.length ?? 0) / 3) * 4 + RECORD_ENVELOPE_BYTES;
}

/** How many of the records at the head of `pending` make the next batch: up to the batch size and the payload limit, at least one. */
export function batchLength(limits: BatchLimits, pending: readonly KinesisRecord[]): number {
  let bytes = 0;
  let n = 0;
  for (const r of pending) {
    if (n === limits.batchSize) break;
    bytes += payloadBytes(r);
    if (bytes > MAX_PAYLOAD_BYTES && n > 0) break;
    n++;
  }
  return n;
}

/**
 * Whether Lambda would invoke now: the batch is full (by count or payload), or the window that opened when
 * its first record was read has elapsed. A closed shard's last records do not wait for more.
 */
export function isBatchReady(
  limits: BatchLimits,
  pending: readonly KinesisRecord[],
  windowOpenedAt: number,
  now: number,
  endOfShard: boolean,
): boolean {
  if (pending.length === 0) return false;
  if (endOfShard || now >= windowOpenedAt + limits.windowMs) return true;
  const n = batchLength(limits, pending);
  return n === limits.batchSize || n < pending.length;
}
