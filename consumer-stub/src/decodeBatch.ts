import type { KinesisStreamRecord } from 'aws-lambda';
import { splitRecord } from '../../contract/aggregate';
import { InvalidOperationError, decodeOperation } from '../../contract/operation';
import { describeInvalidRecord } from './describeInvalidRecord';
import type { Entry } from './types';

/** An operation that is not valid: retrying cannot fix it, so it is recorded `failed` (when it has a requestId) and skipped. */
export interface PoisonEntry {
  record: number;
  bytes: Uint8Array;
  error: InvalidOperationError;
  /** Why it is invalid, naming paths and expectations but none of its values. */
  message: string;
  arrivedAt: Date;
}

/** A batch's operations in stream order, and those that are poison. */
export interface DecodedBatch {
  entries: Entry[];
  poison: PoisonEntry[];
}

/** Decodes every record of a batch, splitting aggregate records into their operations, in order. */
export function decodeBatch(records: readonly KinesisStreamRecord[]): DecodedBatch {
  const entries: Entry[] = [];
  const poison: PoisonEntry[] = [];
  records.forEach((r, record) => {
    for (const bytes of splitRecord(Buffer.from(r.kinesis.data, 'base64'))) {
      try {
        entries.push({ record, op: decodeOperation(bytes) });
      } catch (e) {
        if (!(e instanceof InvalidOperationError)) throw e;
        poison.push({ record, bytes, error: e, message: describeInvalidRecord(bytes), arrivedAt: new Date(r.kinesis.approximateArrivalTimestamp * 1000) });
      }
    }
  });
  return { entries, poison };
}
