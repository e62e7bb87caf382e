import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamRecord } from 'aws-lambda';
import { CONSUMER_METRICS } from '../../common/metricNames';
import type { BatchOutcome } from './processBatch';
import type { Entry, EntryResult } from './types';

export interface ReportTarget {
  log: Logger;
  metrics: Metrics;
  now: Date;
}

/**
 * Logs and metrics of one invocation. Each line about an operation carries its requestId (and correlationId);
 * none quotes a value of a record. Counts are one metric value per invocation; `RecordsHeldBack` is emitted
 * every time, zero included, so its alarm always has data.
 */
export function reportBatch(records: readonly KinesisStreamRecord[], outcome: BatchOutcome, t: ReportTarget): void {
  const counts = { processed: 0, failed: outcome.poison.length, duplicates: 0 };
  for (const p of outcome.poison) {
    t.log.error('poison record skipped', {
      ...(p.error.requestId ? { requestId: p.error.requestId } : {}),
      sequenceNumber: records[p.record]!.kinesis.sequenceNumber,
      error: { code: p.error.code, message: p.message },
    });
  }
  for (const e of outcome.entries) {
    const r = outcome.results.get(e)!;
    logEntry(t.log, e, r, records[e.record]!.kinesis.sequenceNumber);
    if (r.kind === 'failed') counts.failed++;
    else if (r.kind === 'completed' && r.duplicate) counts.duplicates++;
    else if (r.kind === 'completed') {
      counts.processed++;
      t.metrics.addMetric(CONSUMER_METRICS.endToEndAge, MetricUnit.Milliseconds, Math.max(0, t.now.getTime() - Date.parse(e.op.timestamp)));
    }
  }
  t.metrics.addMetric(CONSUMER_METRICS.processed, MetricUnit.Count, counts.processed);
  t.metrics.addMetric(CONSUMER_METRICS.failed, MetricUnit.Count, counts.failed);
  t.metrics.addMetric(CONSUMER_METRICS.duplicates, MetricUnit.Count, counts.duplicates);
  t.metrics.addMetric(CONSUMER_METRICS.heldBack, MetricUnit.Count, outcome.heldRecords.size);
  t.log.info('batch done', { records: records.length, operations: outcome.entries.length, ...counts, heldBack: outcome.heldRecords.size });
  if (outcome.heldRecords.size > 0) {
    const lowest = Math.min(...outcome.heldRecords);
    t.log.warn('records held back; the event source delivers again from the lowest', {
      heldBack: outcome.heldRecords.size,
      sequenceNumber: records[lowest]!.kinesis.sequenceNumber,
      error: describeError(outcome.error),
    });
  }
}

function logEntry(log: Logger, e: Entry, r: EntryResult, sequenceNumber: string): void {
  const { op } = e;
  const about = {
    requestId: op.requestId,
    ...(op.correlationId ? { correlationId: op.correlationId } : {}),
    operation: op.operation,
    ...('resourceId' in op ? { resourceId: op.resourceId } : {}),
  };
  if (r.kind === 'failed') log.warn('operation failed', { ...about, error: r.error });
  else if (r.kind === 'held') log.debug('operation held back', { ...about, sequenceNumber, ...(r.error ? { error: describeError(r.error) } : {}) });
  else if (r.duplicate) log.debug('duplicate skipped', about);
  else log.debug('operation completed', about);
}

/** An AWS service error's message names the failure; another error's may quote a value of the record. */
function describeError(e: unknown): { name: string; message?: string } | undefined {
  if (!(e instanceof Error)) return e === undefined ? undefined : { name: typeof e };
  return { name: e.name, ...('$metadata' in e || 'code' in e ? { message: e.message } : {}) };
}
