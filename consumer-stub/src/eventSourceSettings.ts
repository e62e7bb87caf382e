/**
 * The consumer's event source and function settings, shared by the infrastructure (infra/lib/ConsumerStub.ts),
 * the local event source mapping and the bench, so that what is deployed is what was measured.
 * The values are chosen from `npm run bench` (see the README's Performance section).
 */
export const CONSUMER_SETTINGS = {
  /**
   * Records per invocation at most (Lambda's BatchSize). A batch pays a fixed ~4 round trips (bulk outcome
   * read, bulk resource read, the writes, bulk outcome write) plus the event source's read and invoke; 500
   * spreads that over enough records to carry a full shard (1,000 records/s) at 1 vCPU. Below a backlog the
   * batch is whatever arrived since the last one, so a larger maximum only speeds up catching up.
   */
  batchSize: 500,
  /** Seconds the event source may wait to fill a batch (MaximumBatchingWindowInSeconds): none, for latency. */
  maxBatchingWindowSeconds: 0,
  /**
   * Concurrent batches per shard (1 to 10); order per partition key holds at any value. One function at
   * 1 vCPU applies about 1,200-1,500 records/s, above a shard's 1,000 writes/s, so one is enough.
   */
  parallelizationFactor: 1,
  /**
   * Function memory in MB, which sets its CPU share: 1,769 MB is one full vCPU. The consumer is CPU-bound
   * (about 0.6 ms of SDK and handler CPU per record at one vCPU), so cost per record is the same at any
   * memory, and only a full vCPU keeps up with a full shard at parallelization factor 1 (512 MB: ~0.29 vCPU,
   * ~400 records/s).
   */
  memoryMb: 1769,
} as const;

/**
 * The longest one record can take in the worst case the handler still completes, in ms: a record the batch
 * must apply alone (a list between writes of its key: a read and a write), each call with a throttled retry.
 */
export const WORST_CASE_MS_PER_RECORD = 500;
/** Fixed part of an invocation's time budget (cold start, decryption materials, metrics flush), in ms. */
const INVOCATION_BASE_MS = 10_000;
/** Lambda's maximum function timeout, in seconds. */
const MAX_TIMEOUT_SECONDS = 900;

/** The consumer's DynamoDB client: the timeout of one attempt of a call, and the attempts (SDK retries included). */
export const DYNAMODB_CALL = { requestTimeoutMs: 5000, maxAttempts: 3 } as const;
/** The longest one DynamoDB call can take: every attempt at its timeout, plus the SDK's backoff between them (under 1 s at 3 attempts). */
const LONGEST_CALL_MS = DYNAMODB_CALL.requestTimeoutMs * DYNAMODB_CALL.maxAttempts + 1000;

/**
 * The time an invocation keeps back once it starts nothing new (createHandler holds what is not started, for
 * the next delivery): the calls in flight finish (the longest call), then the outcome write and the metrics
 * flush (the fixed part). Past the function timeout, the event source retries while the calls of the
 * timed-out run may still be in flight; the margin keeps an invocation from getting there.
 */
export const DEADLINE_MARGIN_MS = INVOCATION_BASE_MS + LONGEST_CALL_MS;

/**
 * The function timeout for a batch size: long enough that a full batch in the worst case still finishes
 * before the deadline margin, capped at Lambda's 15 minutes. `maxBatchSizeFor` is its inverse, for validating
 * a configured batch size.
 */
export function timeoutSecondsFor(batchSize: number): number {
  return Math.min(MAX_TIMEOUT_SECONDS, Math.ceil((DEADLINE_MARGIN_MS + batchSize * WORST_CASE_MS_PER_RECORD) / 1000));
}

/** The largest batch size whose worst case fits in Lambda's maximum timeout. */
export function maxBatchSizeFor(): number {
  return Math.floor((MAX_TIMEOUT_SECONDS * 1000 - DEADLINE_MARGIN_MS) / WORST_CASE_MS_PER_RECORD);
}
