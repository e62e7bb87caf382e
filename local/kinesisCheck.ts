import { DescribeStreamSummaryCommand, ListShardsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { parseArgs } from 'node:util';
import { createKinesisClient } from '../common/awsClients';
import { isAccessDenied, isResourceNotFound } from '../common/awsErrors';
import { LOCAL_DEFAULTS } from '../common/localDefaults';
import { encodeOperation, partitionKey, type ResourceOperation } from '../contract/operation';

/**
 * `npm run kinesis:check [-- --local] [-- --put]`: checks that a stream is there and takes records. Describes
 * the stream (status, shards, encryption); with --put writes one well-formed operation and prints its shard and
 * sequence number. Uses KINESIS_STREAM_NAME, AWS_REGION and KINESIS_ENDPOINT (--local: the local stack's
 * kinesalite, on LOCAL_KINESIS_PORT).
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { values } = parseArgs({ options: { put: { type: 'boolean', default: false }, local: { type: 'boolean', default: false } } });
const streamName = process.env.KINESIS_STREAM_NAME || LOCAL_DEFAULTS.streamName;
const region = process.env.AWS_REGION || LOCAL_DEFAULTS.region;
const endpoint = values.local ? `http://127.0.0.1:${process.env.LOCAL_KINESIS_PORT || LOCAL_DEFAULTS.kinesisPort}` : process.env.KINESIS_ENDPOINT || undefined;
const kinesis = createKinesisClient({ region, endpoint, maxAttempts: 2, requestTimeoutMs: 5000 });

const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o, null, 2)}\n`);

try {
  const s = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary!;
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
  out({
    stream: s.StreamName,
    arn: s.StreamARN,
    status: s.StreamStatus,
    mode: s.StreamModeDetails?.StreamMode ?? 'PROVISIONED',
    openShards: s.OpenShardCount,
    shards: shards.map((x) => x.ShardId),
    retentionHours: s.RetentionPeriodHours,
    encryption: s.EncryptionType,
    keyId: s.KeyId,
    endpoint: endpoint ?? `AWS (${region})`,
  });
  if (values.put) {
    const op: ResourceOperation = {
      operation: 'create',
      businessId: 'business-123',
      locationId: 'location-456',
      resourceType: 'appointment',
      resourceId: `appointment-${crypto.randomUUID()}`,
      data: { patientName: 'Kinesis Check', appointmentTime: new Date().toISOString(), service: 'consultation' },
      timestamp: new Date().toISOString(),
      requestId: crypto.randomUUID(),
      sub: 'kinesis-check',
    };
    op.data = { ...op.data, id: op.resourceId };
    const r = await kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: partitionKey(op), Data: encodeOperation(op) }));
    out({ put: 'ok', requestId: op.requestId, partitionKey: partitionKey(op), shardId: r.ShardId, sequenceNumber: r.SequenceNumber });
  }
  process.exit(0);
} catch (e) {
  const err = e as Error;
  const hint =
    isResourceNotFound(err)
      ? `stream "${streamName}" not found in ${endpoint ?? region}: create it, or check KINESIS_STREAM_NAME and AWS_REGION`
      : isAccessDenied(err)
        ? 'access denied: check the credentials and their kinesis:DescribeStreamSummary / PutRecord permissions'
        : (err as { code?: string }).code === 'ECONNREFUSED'
          ? `nothing listens at ${endpoint}: is the local stack running (npm start)?`
          : err.message;
  process.stderr.write(`kinesis check failed: ${hint}\n`);
  process.exit(1);
}
