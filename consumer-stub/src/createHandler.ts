import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { createLimiter } from './createLimiter';
import type { DecryptFields } from './decryptEntries';
import { HeldBackError } from './errors';
import { DEADLINE_MARGIN_MS } from './eventSourceSettings';
import { processBatch } from './processBatch';
import { reportBatch } from './reportBatch';
import type { ResourceStore } from './ResourceStore';
import type { StatusRecorder } from './StatusRecorder';

export type { DecryptFields } from './decryptEntries';

export interface ConsumerDeps {
  store: ResourceStore;
  status: StatusRecorder;
  logger: Logger;
  metrics: Metrics;
  /** Field decryption before applying. @default identity */
  decryptFields?: DecryptFields;
  /** DynamoDB calls in flight at most per invocation. @default 32 */
  maxInFlight?: number;
  /**
   * Time kept back before the function timeout: with less than this left (`context.getRemainingTimeInMillis()`),
   * nothing new starts and the rest of the batch is held for the next delivery. @default DEADLINE_MARGIN_MS
   */
  deadlineMarginMs?: number;
  now?: () => Date;
}

export type ConsumerHandler = (event: KinesisStreamEvent, context?: Context) => Promise<KinesisStreamBatchResponse>;

export { CONSUMER_METRICS } from '../../common/metricNames';

const identity: DecryptFields = async (op) => op;

/**
 * The consumer's Lambda handler: applies a batch's operations once each, with effects as if applied one by
 * one in stream order per partition key, and records their outcomes (see {@link processBatch} and
 * consumer-stub/README.md for the concurrency model).
 *
 * A record whose operations all reached a final outcome (applied, duplicate, failed for a business reason,
 * poison) succeeds. A record held back by a transient failure, or behind one, is reported in
 * `batchItemFailures`; the event source delivers again from the lowest of them, and what was applied then is
 * found as duplicates. Within its deadline margin of the function timeout (when given a context), it starts
 * nothing new and holds the rest, rather than time out and be retried while its calls are still in flight.
 *
 * @example
 * const handler = createHandler({ store, status, logger, metrics });
 * const { batchItemFailures } = await handler(event, context);
 */
export function createHandler(deps: ConsumerDeps): ConsumerHandler {
  const decrypt = deps.decryptFields ?? identity;
  const now = deps.now ?? (() => new Date());
  const maxInFlight = deps.maxInFlight ?? 32;
  const margin = deps.deadlineMarginMs ?? DEADLINE_MARGIN_MS;
  return async (event, context) => {
    // Per invocation: the processor and the child logger hold per-batch state, and the local event source
    // invokes one handler for several shards concurrently.
    const log = deps.logger.createChild();
    if (context) log.addContext(context);
    try {
      const outOfTime = context ? () => context.getRemainingTimeInMillis() < margin : () => false;
      const outcome = await processBatch(event.Records, { store: deps.store, status: deps.status, decrypt, limit: createLimiter(maxInFlight), outOfTime });
      reportBatch(event.Records, outcome, { log, metrics: deps.metrics, now: now() });
      const held = new Set([...outcome.heldRecords].map((i) => event.Records[i]!.kinesis.sequenceNumber));
      const recordHandler = async (record: KinesisStreamRecord): Promise<void> => {
        if (held.has(record.kinesis.sequenceNumber)) throw new HeldBackError(record.kinesis.sequenceNumber);
      };
      return await processPartialResponse(event, recordHandler, new BatchProcessor(EventType.KinesisDataStreams), {
        ...(context ? { context } : {}),
        processInParallel: false,
        // Report every held record rather than throw: the event source retries from the lowest one either way.
        throwOnFullBatchFailure: false,
      });
    } finally {
      if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
    }
  };
}
