/** One record for the stream. */
export interface OutgoingRecord {
  partitionKey: string;
  data: Uint8Array;
}

/** Where Kinesis put a record. */
export interface AcknowledgedRecord {
  shardId: string;
  sequenceNumber: string;
  spooled?: undefined;
}

/** Where Kinesis put a record, or that it was spooled durably to be replayed (see spool/). */
export type PublishedRecord = AcknowledgedRecord | { spooled: true };

/** Puts records on the stream; `publish` resolves only once Kinesis acknowledged that record (or the spool fsynced it). */
export interface Publisher {
  publish(record: OutgoingRecord): Promise<PublishedRecord>;
  /** Finishes what is in flight. */
  close(): Promise<void>;
}
