/** One record for the stream. */
export interface OutgoingRecord {
  partitionKey: string;
  data: Uint8Array;
}

/** Where Kinesis put a record. */
export interface PublishedRecord {
  shardId: string;
  sequenceNumber: string;
}

/** Puts records on the stream; `publish` resolves only once Kinesis acknowledged that record. */
export interface Publisher {
  publish(record: OutgoingRecord): Promise<PublishedRecord>;
  /** Finishes what is in flight. */
  close(): Promise<void>;
}
