import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { isResourceNotFound } from '../../../common/awsErrors';
import { waitUntilActive } from '../../../common/waitUntilActive';

/** Creates the stream if it is missing and waits until it is ACTIVE. For local use (`KINESIS_CREATE_STREAM`); in AWS the infrastructure owns the stream. */
export async function ensureStream(kinesis: KinesisClient, streamName: string, shardCount: number): Promise<void> {
  const describe = async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary?.StreamStatus;
  try {
    await describe();
  } catch (e) {
    if (!isResourceNotFound(e)) throw e;
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  }
  await waitUntilActive(describe, { what: `stream ${streamName}`, timeoutMs: 5000 });
}
