/**
 * The consumer's event source and function settings, shared by the infrastructure (infra/lib/ConsumerStub.ts),
 * the local event source mapping and the bench, so that what is deployed is what was measured.
 * The values are chosen from `npm run bench` (see the README's Performance section).
 */
export const CONSUMER_SETTINGS = {
  /** Records per invocation at most (Lambda's BatchSize). */
  batchSize: 100,
  /** Seconds the event source may wait to fill a batch (MaximumBatchingWindowInSeconds). */
  maxBatchingWindowSeconds: 0,
  /** Concurrent batches per shard (1 to 10); order per partition key holds at any value. */
  parallelizationFactor: 1,
  /** Function memory in MB, which also sets its CPU share. */
  memoryMb: 512,
} as const;

/** The longest one record can take in the worst case the handler still completes (throttled retries included), in ms. */
export const WORST_CASE_MS_PER_RECORD = 500;
/** Fixed part of an invocation's time budget (cold start, decryption materials, metrics flush), in seconds. */
const INVOCATION_BASE_SECONDS = 10;
/** Lambda's maximum function timeout, in seconds. */
const MAX_TIMEOUT_SECONDS = 900;

/**
 * The function timeout for a batch size: long enough that a full batch in the worst case still finishes,
 * capped at Lambda's 15 minutes. `maxBatchSizeFor` is its inverse, for validating a configured batch size.
 */
export function timeoutSecondsFor(batchSize: number): number {
  return Math.min(MAX_TIMEOUT_SECONDS, INVOCATION_BASE_SECONDS + Math.ceil((batchSize * WORST_CASE_MS_PER_RECORD) / 1000));
}

/** The largest batch size whose worst case fits in Lambda's maximum timeout. */
export function maxBatchSizeFor(): number {
  return Math.floor(((MAX_TIMEOUT_SECONDS - INVOCATION_BASE_SECONDS) * 1000) / WORST_CASE_MS_PER_RECORD);
}
