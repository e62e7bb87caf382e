import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { RetryConfig } from '../config';
import { GroupCommit, RetriesExhaustedError } from './GroupCommit';
import { StreamUnavailableError } from '../errors';
import type { Logger } from '../logger';
import { isResourceNotFound, isRetryableAwsError, isRetryableRecordCode } from '../../../common/awsErrors';
import { ThrottledLog } from '../throttledLog';
import type { AcknowledgedRecord, OutgoingRecord, Publisher } from './Publisher';

export interface BatchPublisherOptions {
  kinesis: KinesisClient;
  streamName: string;
  logger: Logger;
  /** @default 500 (the PutRecords limit) */
  maxBatchRecords?: number;
  /** @default 5 MiB (the PutRecords limit) */
  maxBatchBytes?: number;
  /** @default 2 */
  maxInFlight?: number;
  /** @default 0 */
  lingerMs?: number;
  retry: RetryConfig;
  random?: () => number;
  /** Metrics hooks. */
  onBatch?(info: { items: number; durationMs: number }): void;
  onRetry?(info: { attempt: number; delayMs: number; error: Error; items: number }): void;
}

class RecordFailedError extends Error {
  override readonly name = 'RecordFailedError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * The batching publisher: group commit into PutRecords, per-record results read, only failed records
 * retried (see {@link GroupCommit}). A record's promise resolves with its shard and sequence number.
 */
export class BatchPublisher implements Publisher {
  readonly #commit: GroupCommit<OutgoingRecord, AcknowledgedRecord>;
  readonly #streamName: string;
  // An outage fails every record: one line per 10 s, with how many failed meanwhile, is enough to act on.
  readonly #failureLog: ThrottledLog;

  constructor(o: BatchPublisherOptions) {
    this.#streamName = o.streamName;
    this.#failureLog = new ThrottledLog(o.logger, 'error');
    this.#commit = new GroupCommit<OutgoingRecord, AcknowledgedRecord>({
      maxItems: o.maxBatchRecords ?? 500,
      maxBytes: o.maxBatchBytes ?? 5 * 1024 * 1024,
      sizeOf: (r) => r.data.byteLength + Buffer.byteLength(r.partitionKey),
      maxInFlight: o.maxInFlight ?? 2,
      lingerMs: o.lingerMs,
      retry: o.retry,
      random: o.random,
      isRetryable: isRetryableAwsError,
      onBatch: o.onBatch,
      onRetry: o.onRetry,
      send: async (records) => {
        const res = await o.kinesis.send(
          new PutRecordsCommand({
            StreamName: o.streamName,
            Records: records.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })),
          }),
        );
        return (res.Records ?? []).map((r) =>
          r.ErrorCode
            ? { ok: false as const, retryable: isRetryableRecordCode(r.ErrorCode), error: new RecordFailedError(r.ErrorCode, r.ErrorMessage ?? '') }
            : { ok: true as const, value: { shardId: r.ShardId!, sequenceNumber: r.SequenceNumber! } },
        );
      },
    });
  }

  /** Items queued, in flight or awaiting retry. */
  get pending(): number {
    return this.#commit.pending;
  }

  async publish(record: OutgoingRecord): Promise<AcknowledgedRecord> {
    try {
      return await this.#commit.submit(record);
    } catch (e) {
      throw this.#toGatewayError(e);
    }
  }

  async close(): Promise<void> {
    await this.#commit.idle();
  }

  #toGatewayError(e: unknown): Error {
    const cause = e instanceof RetriesExhaustedError ? (e.cause as Error) : (e as Error);
    const notFound = isResourceNotFound(cause);
    const message = notFound ? 'stream not found: create it or check KINESIS_STREAM_NAME and AWS_REGION' : 'could not put record on the stream';
    this.#failureLog.write(message, { stream: this.#streamName, err: cause });
    return new StreamUnavailableError('the operations stream is unavailable, retry later', notFound ? 5 : 1, { cause: e });
  }
}
