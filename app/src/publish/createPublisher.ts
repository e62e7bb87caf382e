import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { GATEWAY_METRICS, type Metrics } from '../metrics/Metrics';
import { openSharedSpool } from './spool/sharedSpoolDir';
import { Spool } from './spool/Spool';
import { SpoolingPublisher } from './SpoolingPublisher';
import { UnbatchedPublisher } from './UnbatchedPublisher';
import { BatchPublisher } from './BatchPublisher';
import type { Publisher } from './Publisher';

export interface PublisherDeps {
  kinesis: KinesisClient;
  kinesisConfig: Config['kinesis'];
  spoolConfig: Config['spool'];
  logger: Logger;
  metrics?: Metrics;
}

/**
 * The gateway's publisher as configured: group commit into PutRecords backed by the durable spool, or, with
 * batching off, the seed's one PutRecord per request (the benchmark's reference, without a spool).
 */
export async function createPublisher(d: PublisherDeps): Promise<{ publisher: Publisher; spooling?: SpoolingPublisher }> {
  const k = d.kinesisConfig;
  const m = d.metrics;
  if (!k.batching) return { publisher: new UnbatchedPublisher({ kinesis: d.kinesis, streamName: k.streamName, logger: d.logger }) };
  const direct = new BatchPublisher({
    kinesis: d.kinesis,
    streamName: k.streamName,
    logger: d.logger,
    maxBatchRecords: k.maxBatchRecords,
    maxBatchBytes: k.maxBatchBytes,
    maxInFlight: k.maxInFlight,
    lingerMs: k.lingerMs,
    retry: k.retry,
    onBatch: ({ items, durationMs }) => {
      m?.observe(GATEWAY_METRICS.recordsPerPutRecords, items, 'Count');
      m?.observe(GATEWAY_METRICS.putRecordsLatency, durationMs, 'Milliseconds');
    },
    onRetry: ({ items }) => m?.count(GATEWAY_METRICS.putRecordsRetries, items),
  });
  const spooling = new SpoolingPublisher({
    inner: direct,
    spool: d.spoolConfig.shared
      ? await openSharedSpool({ root: d.spoolConfig.dir, maxBytes: d.spoolConfig.maxBytes, logger: d.logger })
      : await Spool.open({ dir: d.spoolConfig.dir, maxBytes: d.spoolConfig.maxBytes, logger: d.logger }),
    kinesis: d.kinesis,
    streamName: k.streamName,
    deadlineMs: k.retry.deadlineMs,
    callTimeoutMs: k.timeoutMs,
    replayBackoff: { baseMs: k.retry.baseMs * 2, capMs: 5000 },
    logger: d.logger,
    onSpooled: () => m?.count(GATEWAY_METRICS.spoolFallbacks),
    onReplayed: (n) => m?.count(GATEWAY_METRICS.spoolReplayed, n),
  }).start();
  return { publisher: spooling, spooling };
}
