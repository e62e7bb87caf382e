import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { GATEWAY_METRICS } from '../../../common/metricNames';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/Metrics';
import { BatchPublisher } from './BatchPublisher';
import type { Publisher } from './Publisher';
import { openSharedSpool } from './spool/sharedSpoolDir';
import { Spool } from './spool/Spool';
import type { SpoolFiles } from './spool/SpoolFiles';
import { SpoolingPublisher } from './SpoolingPublisher';
import { UnbatchedPublisher } from './UnbatchedPublisher';

export interface PublisherDeps {
  kinesis: KinesisClient;
  kinesisConfig: Config['kinesis'];
  spoolConfig: Config['spool'];
  logger: Logger;
  metrics?: Metrics;
  /** The spool's file system (a test's fault layer). @default node:fs/promises */
  spoolFiles?: SpoolFiles;
}

/** Largest pause between replay rounds that failed. */
const REPLAY_BACKOFF_CAP_MS = 5000;

/**
 * The gateway's publisher as configured: group commit into PutRecords backed by the durable spool, or, with
 * batching off, one PutRecord per request (the benchmark's reference, without a spool).
 */
export async function createPublisher(d: PublisherDeps): Promise<{ publisher: Publisher; spooling?: SpoolingPublisher }> {
  const k = d.kinesisConfig;
  if (!k.batching) return { publisher: new UnbatchedPublisher({ kinesis: d.kinesis, streamName: k.streamName, logger: d.logger }) };
  const m = d.metrics;
  const spooling = new SpoolingPublisher({
    direct: createBatchPublisher(d),
    spool: await openSpool(d),
    kinesis: d.kinesis,
    streamName: k.streamName,
    deadlineMs: k.retry.deadlineMs,
    callTimeoutMs: k.timeoutMs,
    replayBackoff: { baseMs: k.retry.baseMs * 2, capMs: REPLAY_BACKOFF_CAP_MS },
    logger: d.logger,
    onSpooled: () => m?.count(GATEWAY_METRICS.spoolFallbacks),
    onReplayed: (n) => m?.count(GATEWAY_METRICS.spoolReplayed, n),
  }).start();
  return { publisher: spooling, spooling };
}

function createBatchPublisher(d: PublisherDeps): BatchPublisher {
  const k = d.kinesisConfig;
  const m = d.metrics;
  return new BatchPublisher({
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
}

function openSpool(d: PublisherDeps): Promise<Spool> {
  const s = d.spoolConfig;
  const onRecordsLost = (n: number) => d.metrics?.count(GATEWAY_METRICS.spoolRecordsLost, n);
  return s.shared
    ? openSharedSpool({ root: s.dir, maxBytes: s.maxBytes, logger: d.logger, onRecordsLost })
    : Spool.open({ dir: s.dir, maxBytes: s.maxBytes, logger: d.logger, onRecordsLost, files: d.spoolFiles });
}
