import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** The local stack's account id, in every ARN the emulation makes. */
export const LOCAL_ACCOUNT = '000000000000';

/** Who the events come from and go to: the same for every invocation of one mapping. */
export interface InvocationTarget {
  streamArn: string;
  region: string;
  functionName: string;
  memoryMb: number;
  timeoutMs: number;
}

/** A Kinesis record in the shape Lambda delivers it. */
export function toLambdaRecord(target: InvocationTarget, shardId: string, r: KinesisRecord): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: r.PartitionKey!,
      sequenceNumber: r.SequenceNumber!,
      data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${r.SequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${target.functionName}-role`,
    awsRegion: target.region,
    eventSourceARN: target.streamArn,
  };
}

/** The invocation's context, its remaining time counted from now against the function's timeout. */
export function lambdaContext(target: InvocationTarget): Context {
  const { functionName, region } = target;
  const deadline = Date.now() + target.timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: String(target.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
