import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeadLetterCondition } from './retryPolicy';

/** What is known of a record when it is dead-lettered. */
export interface DeadLetter {
  shardId: string;
  streamArn: string;
  record: KinesisRecord;
  condition: DeadLetterCondition;
  /** Invocations that carried the record. */
  attempts: number;
}

/**
 * The local on-failure destination: a JSON-lines file, one entry per record, shaped after Lambda's on-failure
 * payload plus the record itself (locally there is no stream to fetch it from after retention).
 */
export class DeadLetterFile {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  get path(): string {
    return this.#path;
  }

  async append(d: DeadLetter): Promise<void> {
    const r = d.record;
    const arrival = r.ApproximateArrivalTimestamp?.toISOString();
    const entry = {
      timestamp: new Date().toISOString(),
      condition: d.condition,
      approximateInvokeCount: d.attempts,
      KinesisBatchInfo: {
        shardId: d.shardId,
        startSequenceNumber: r.SequenceNumber,
        endSequenceNumber: r.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival,
        approximateArrivalOfLastRecord: arrival,
        batchSize: 1,
        streamArn: d.streamArn,
      },
      record: {
        partitionKey: r.PartitionKey,
        sequenceNumber: r.SequenceNumber,
        data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      },
    };
    await mkdir(dirname(this.#path), { recursive: true });
    await appendFile(this.#path, `${JSON.stringify(entry)}\n`);
  }
}
