import { encodeOperation, MAX_RECORD_BYTES, partitionKey, recordSize, type ResourceOperation } from '../../../contract/operation';
import { expiresAt, type StatusItem } from '../../../contract/status';
import { PayloadTooLargeError } from '../errors';
import type { Logger } from '../logger';
import { withTimeout } from '../../../common/withTimeout';
import type { PublishedRecord, Publisher } from '../publish/Publisher';

/** The status table as the acceptor needs it. */
export interface AcceptedStatusWriter {
  recordAccepted(item: Omit<StatusItem, 'kind' | 'status'>): Promise<void>;
}

export interface OperationAcceptorOptions {
  publisher: Publisher;
  statusStore: AcceptedStatusWriter;
  statusRetentionSeconds: number;
  /**
   * How long the answer waits for the status write once the record is acknowledged; past it the write goes on
   * in the background (a slow status table must not hold the 202). @default 1000
   */
  statusWaitMs?: number;
  /** Told when the status write failed while the record was accepted. */
  onStatusWriteFailure?(): void;
  /**
   * Turns the operation into the record that goes on the stream (field encryption). The answer to the
   * client and the status item are built from the original. @default identity
   */
  prepareRecord?(op: ResourceOperation): Promise<ResourceOperation>;
}

/**
 * Accepting an operation: its record is checked against Kinesis' size limit, then put on the stream while
 * its `processing` status is written. Resolves once Kinesis acknowledged the record; a failed status write
 * alone does not fail the operation.
 */
export class OperationAcceptor {
  readonly #o: OperationAcceptorOptions;

  constructor(o: OperationAcceptorOptions) {
    this.#o = o;
  }

  /** Encodes `op` and throws {@link PayloadTooLargeError} if the record would exceed Kinesis' 1 MiB limit. */
  encode(op: ResourceOperation): { data: Uint8Array; partitionKey: string } {
    const data = encodeOperation(op);
    const key = partitionKey(op);
    const size = recordSize(data, key);
    if (size > MAX_RECORD_BYTES) {
      throw new PayloadTooLargeError(`the operation's record would be ${size} bytes; Kinesis takes at most ${MAX_RECORD_BYTES}`);
    }
    return { data, partitionKey: key };
  }

  async accept(op: ResourceOperation, log: Logger): Promise<PublishedRecord> {
    const record = this.encode(this.#o.prepareRecord ? await this.#o.prepareRecord(op) : op);
    const acceptedAt = new Date(op.timestamp);
    const status = this.#o.statusStore
      .recordAccepted({
        requestId: op.requestId,
        correlationId: op.correlationId,
        sub: op.sub,
        operation: op.operation,
        businessId: op.businessId,
        locationId: op.locationId,
        resourceType: op.resourceType,
        resourceId: 'resourceId' in op ? op.resourceId : undefined,
        acceptedAt: op.timestamp,
        updatedAt: op.timestamp,
        expiresAt: expiresAt(acceptedAt, this.#o.statusRetentionSeconds),
      })
      .catch((err: unknown) => {
        this.#o.onStatusWriteFailure?.();
        log.warn('status write failed; the operation stands', { err });
      });
    const published = await this.#o.publisher.publish(record);
    await withTimeout(status, this.#o.statusWaitMs ?? 1000);
    if (log.isEnabled('debug')) {
      if (published.spooled) log.debug('record spooled', { partitionKey: record.partitionKey });
      else log.debug('record sent', { partitionKey: record.partitionKey, shardId: published.shardId, sequenceNumber: published.sequenceNumber });
    }
    return published;
  }
}
