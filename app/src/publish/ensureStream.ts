import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ResourceNotFoundException as StreamNotFound,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';

/** Creates the stream if it is missing and waits until it is ACTIVE. For local use (`KINESIS_CREATE_STREAM`); in AWS the infrastructure owns the stream. */
export async function ensureStream(kinesis: KinesisClient, streamName: string, shardCount: number): Promise<void> {
  try {
    await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  } catch (e) {
    if (!(e instanceof StreamNotFound) && (e as Error).name !== 'ResourceNotFoundException') throw e;
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  }
  for (let i = 0; i < 100; i++) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await sleep(50);
  }
  throw new Error(`stream ${streamName} did not become ACTIVE`);
}
