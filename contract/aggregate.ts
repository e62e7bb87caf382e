import { MAX_RECORD_BYTES } from './operation';

/**
 * An aggregate record: several operations of one partition key carried in one Kinesis record, in stream
 * order. The gateway's spool replayer writes them to drain a busy key faster than one record per key per
 * PutRecords call allows, keeping the key's order (the operations of one record cannot be reordered).
 *
 * Wire form (UTF-8 JSON): `{"aggregate":1,"operations":[<operation>,<operation>,...]}`, each element exactly
 * the bytes of a plain record. A record without the `aggregate` member is a plain operation.
 * The consumer splits a record into its operations with {@link splitRecord} and applies them in order.
 */

/** Version of the aggregate wire form. */
export const AGGREGATE_VERSION = 1;

/** Operations one aggregate carries at most (the spool replayer's cap; the consumer's time budget counts on it). */
export const MAX_AGGREGATE_OPERATIONS = 100;

const PREFIX = Buffer.from(`{"aggregate":${AGGREGATE_VERSION},"operations":[`, 'utf8');
const SUFFIX = Buffer.from(']}', 'utf8');
const COMMA = Buffer.from(',', 'utf8');

/** Bytes an aggregate adds to the sum of its operations' bytes. */
export function aggregateOverhead(count: number): number {
  return PREFIX.byteLength + SUFFIX.byteLength + Math.max(0, count - 1);
}

/**
 * Joins encoded operations (each the bytes of a plain record, all of one partition key) into one aggregate
 * record, without parsing them again. The caller keeps the result within {@link MAX_RECORD_BYTES}.
 */
export function encodeAggregate(operations: readonly Uint8Array[]): Uint8Array {
  if (operations.length === 0) throw new RangeError('an aggregate holds at least one operation');
  const parts: Uint8Array[] = [PREFIX];
  operations.forEach((op, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(op);
  });
  parts.push(SUFFIX);
  const out = Buffer.concat(parts);
  if (out.byteLength > MAX_RECORD_BYTES) throw new RangeError(`aggregate of ${out.byteLength} bytes exceeds ${MAX_RECORD_BYTES}`);
  return out;
}

/**
 * The operations a record carries, in order, each as the bytes of a plain record: the record itself when it
 * is not an aggregate (including a record that is not JSON at all, which `decodeOperation` then refuses).
 * An aggregate whose `operations` is not an array of objects is returned whole, to be refused as one.
 */
export function splitRecord(bytes: Uint8Array): Uint8Array[] {
  // Cheap test first: only an aggregate starts with its fixed prefix (plain records start with another member).
  if (bytes.byteLength < PREFIX.byteLength || !Buffer.from(bytes.buffer, bytes.byteOffset, PREFIX.byteLength).equals(PREFIX)) {
    return [bytes];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return [bytes];
  }
  const ops = (parsed as { operations?: unknown }).operations;
  if (!Array.isArray(ops) || ops.length === 0 || !ops.every((o) => typeof o === 'object' && o !== null && !Array.isArray(o))) {
    return [bytes];
  }
  return ops.map((o) => Buffer.from(JSON.stringify(o), 'utf8'));
}
