import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { InvalidOperationError, decodeOperation, type ResourceOperation } from '../../contract/operation';
import { applyOperation } from './applyOperation';
import { describeInvalidRecord } from './describeInvalidRecord';
import { OperationFailedError, SkippedAfterFailureError } from './errors';
import { salvageSubject, subjectOf } from './outcomeSubject';
import type { ResourceStore } from './ResourceStore';
import type { StatusRecorder } from './StatusRecorder';
import { CONSUMER_METRICS } from '../../common/metricNames';

/** Turns a record's encrypted fields into plaintext; throws an `OperationFailedError` when it cannot. */
export type DecryptFields = (op: ResourceOperation) => Promise<ResourceOperation>;

export interface ConsumerDeps {
  store: ResourceStore;
  status: StatusRecorder;
  logger: Logger;
  metrics: Metrics;
  /** Field decryption step before applying (issue 8). @default identity */
  decryptFields?: DecryptFields;
  now?: () => Date;
}

export type ConsumerHandler = (event: KinesisStreamEvent, context?: Context) => Promise<KinesisStreamBatchResponse>;

export { CONSUMER_METRICS } from '../../common/metricNames';

const identity: DecryptFields = async (op) => op;

/**
 * The consumer's Lambda handler: decodes each Kinesis record, applies it once, records its outcome.
 *
 * Records are processed one after another, in order. A record whose outcome is final (applied, failed for
 * a business reason, poison) succeeds; any other error fails it, and every later record of the batch is
 * failed without being applied, so the event source retries from the first failed record, in order.
 *
 * @example
 * const handler = createHandler({ store, status, logger, metrics });
 * const { batchItemFailures } = await handler(event, context);
 */
export function createHandler(deps: ConsumerDeps): ConsumerHandler {
  const decrypt = deps.decryptFields ?? identity;
  const now = deps.now ?? (() => new Date());
  const { store, status, metrics } = deps;

  async function processRecord(record: KinesisStreamRecord, log: Logger): Promise<void> {
    const bytes = Buffer.from(record.kinesis.data, 'base64');
    let op: ResourceOperation;
    try {
      op = decodeOperation(bytes);
    } catch (e) {
      if (!(e instanceof InvalidOperationError)) throw e;
      // Poison: retrying cannot fix it, so it must not block the shard. Its reason names no value of the record.
      const message = describeInvalidRecord(bytes);
      log.error('poison record skipped', {
        requestId: e.requestId,
        sequenceNumber: record.kinesis.sequenceNumber,
        error: { code: e.code, message },
      });
      if (e.requestId) {
        const arrived = new Date(record.kinesis.approximateArrivalTimestamp * 1000);
        await status.failed(salvageSubject(bytes, e.requestId, arrived), { code: e.code, message });
      }
      metrics.addMetric(CONSUMER_METRICS.failed, MetricUnit.Count, 1);
      return;
    }

    const keys = { requestId: op.requestId, ...(op.correlationId ? { correlationId: op.correlationId } : {}) };
    log.appendKeys(keys);
    try {
      const subject = subjectOf(op);
      const ctx = { operation: op.operation, ...('resourceId' in op ? { resourceId: op.resourceId } : {}) };
      if (await status.outcome(op.requestId)) {
        metrics.addMetric(CONSUMER_METRICS.duplicates, MetricUnit.Count, 1);
        log.info('duplicate skipped: outcome already recorded', ctx);
        return;
      }
      let outcome;
      try {
        outcome = await applyOperation(await decrypt(op), store);
      } catch (e) {
        if (!(e instanceof OperationFailedError)) throw e;
        await status.failed(subject, { code: e.code, message: e.message });
        metrics.addMetric(CONSUMER_METRICS.failed, MetricUnit.Count, 1);
        log.warn('operation failed', { ...ctx, error: { code: e.code, message: e.message } });
        return;
      }
      // A duplicate here was applied by a delivery that did not get to record its outcome: record it now.
      await status.completed(subject, outcome.result);
      if (outcome.duplicate) {
        metrics.addMetric(CONSUMER_METRICS.duplicates, MetricUnit.Count, 1);
        log.info('duplicate skipped: already applied', ctx);
        return;
      }
      metrics.addMetric(CONSUMER_METRICS.processed, MetricUnit.Count, 1);
      const age = now().getTime() - Date.parse(op.timestamp);
      metrics.addMetric(CONSUMER_METRICS.endToEndAge, MetricUnit.Milliseconds, Math.max(0, age));
      log.info('operation completed', ctx);
    } finally {
      log.removeKeys(Object.keys(keys));
    }
  }

  return async (event, context) => {
    // Per invocation: the processor and the child logger hold per-batch state, and the local event source
    // invokes one handler for several shards concurrently.
    const processor = new BatchProcessor(EventType.KinesisDataStreams);
    const log = deps.logger.createChild();
    if (context) log.addContext(context);
    let failedAt: string | undefined;
    const recordHandler = async (record: KinesisStreamRecord): Promise<void> => {
      if (failedAt) throw new SkippedAfterFailureError(failedAt);
      try {
        await processRecord(record, log);
      } catch (e) {
        failedAt = record.kinesis.sequenceNumber;
        log.warn('record failed; it and the rest of the batch will be retried', {
          sequenceNumber: failedAt,
          // An AWS service error's message names the failure; another error's may quote a value of the record.
          error: { name: (e as Error).name, ...(e instanceof Error && '$metadata' in e ? { message: e.message } : {}) },
        });
        throw e;
      }
    };
    try {
      return await processPartialResponse(event, recordHandler, processor, {
        ...(context ? { context } : {}),
        processInParallel: false,
        // Report every failed record rather than throw: the event source retries from the lowest one either way.
        throwOnFullBatchFailure: false,
      });
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
