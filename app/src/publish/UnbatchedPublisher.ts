import { PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { StreamUnavailableError } from '../errors';
import type { Logger } from '../logger';
import { isResourceNotFound } from '../../../common/awsErrors';
import type { OutgoingRecord, PublishedRecord, Publisher } from './Publisher';

/**
 * One awaited PutRecord per request, retried by the SDK's own retry strategy, without a spool: the
 * benchmark's reference for what batching buys (`KINESIS_BATCHING=false`).
 */
export class UnbatchedPublisher implements Publisher {
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #o: { kinesis: KinesisClient; streamName: string; logger: Logger };

  constructor(o: { kinesis: KinesisClient; streamName: string; logger: Logger }) {
    this.#o = o;
  }

  async publish(record: OutgoingRecord): Promise<PublishedRecord> {
    const p = this.#o.kinesis.send(new PutRecordCommand({ StreamName: this.#o.streamName, Data: record.data, PartitionKey: record.partitionKey }));
    this.#inFlight.add(p);
    try {
      const r = await p;
      return { shardId: r.ShardId!, sequenceNumber: r.SequenceNumber! };
    } catch (e) {
      this.#o.logger.error(isResourceNotFound(e) ? 'stream not found' : 'could not put record on the stream', { stream: this.#o.streamName, err: e });
      throw new StreamUnavailableError('the operations stream is unavailable, retry later', isResourceNotFound(e) ? 5 : 1, { cause: e });
    } finally {
      this.#inFlight.delete(p);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
