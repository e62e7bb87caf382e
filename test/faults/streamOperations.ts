import { splitRecord } from '../../contract/aggregate';
import type { StreamRecord } from '../../app/test/harness';

/** One operation read back from the stream, at its place: a record carries one, or several (an aggregate). */
export interface StreamOperation {
  requestId: string;
  partitionKey: string;
  shardId: string;
}

/** The operations on the stream in order (shard by shard, in sequence order, an aggregate's in its order). */
export function streamOperations(records: StreamRecord[]): StreamOperation[] {
  return records.flatMap((r) =>
    splitRecord(r.bytes).map((op) => ({
      requestId: (JSON.parse(Buffer.from(op).toString('utf8')) as { requestId: string }).requestId,
      partitionKey: r.partitionKey,
      shardId: r.shardId,
    })),
  );
}

/** Positions of first appearance of each requestId on the stream: the first decides its effect, duplicates come later. */
export function firstPositions(records: StreamRecord[]): Map<string, number> {
  const first = new Map<string, number>();
  streamOperations(records).forEach((op, i) => first.has(op.requestId) || first.set(op.requestId, i));
  return first;
}
