import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

/** What a whole stream holds, read from TRIM_HORIZON to the tip of every shard. */
export interface StreamCount {
  records: number;
  /** Distinct `requestId`s among the records (a duplicate would make `records` exceed it). */
  distinctRequestIds: number;
  shards: number;
  /** Records per shard id, to show the partition keys spread. */
  perShard: Record<string, number>;
  /** One decoded record, to check what reached the stream (e.g. that a field was encrypted). */
  sample?: Record<string, unknown>;
}

/**
 * Reads every record of `streamName`. Run after the load has drained: a PutRecords acknowledgement means the
 * emulator has stored the record, so nothing is still on its way.
 */
export async function countStream(kinesis: KinesisClient, streamName: string): Promise<StreamCount> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
  const ids = new Set<string>();
  const perShard: Record<string, number> = {};
  let records = 0;
  let sample: Record<string, unknown> | undefined;
  const decoder = new TextDecoder();
  for (const shard of shards) {
    let iterator = (
      await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    let n = 0;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        const msg = JSON.parse(decoder.decode(r.Data)) as Record<string, unknown>;
        sample ??= msg;
        ids.add(String(msg.requestId));
        n++;
      }
      // An empty page at the tip ends the shard; an open shard always hands out a next iterator.
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
    perShard[shard.ShardId!] = n;
    records += n;
  }
  return { records, distinctRequestIds: ids.size, shards: shards.length, perShard, sample };
}
