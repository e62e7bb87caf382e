import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { encodeOperation, partitionKey, type ResourceOperation } from '../../contract/operation';

/** Event fixtures in the shape Lambda delivers (after Powertools' tests/helpers/factories.ts). */

let sequence = 49_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/** A Kinesis record around raw bytes. */
export function kinesisRecord(data: Uint8Array | string, o: { partitionKey?: string; arrivedAt?: Date } = {}): KinesisStreamRecord {
  const sequenceNumber = String(sequence++);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: o.partitionKey ?? 'pk',
      sequenceNumber,
      data: bytes.toString('base64'),
      approximateArrivalTimestamp: (o.arrivedAt ?? new Date()).getTime() / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::123456789012:role/consumer',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/resources-operations',
  };
}

/** A Kinesis record carrying an operation, keyed like the gateway keys it. */
export function operationRecord(op: ResourceOperation): KinesisStreamRecord {
  return kinesisRecord(encodeOperation(op), { partitionKey: partitionKey(op) });
}

/** An event of records, in order. */
export function kinesisEvent(...records: KinesisStreamRecord[]): KinesisStreamEvent {
  return { Records: records };
}

type Scope = Pick<ResourceOperation, 'businessId' | 'locationId' | 'resourceType'>;

/** Builders of valid operations in one business, location and type. */
export function operations(scope: Scope, o: { sub?: string; timestamp?: () => string } = {}) {
  const common = () => ({
    ...scope,
    requestId: randomUUID(),
    timestamp: o.timestamp?.() ?? new Date().toISOString(),
    ...(o.sub ? { sub: o.sub } : {}),
  });
  return {
    create: (resourceId: string, data: Record<string, unknown>): ResourceOperation => ({ ...common(), operation: 'create', resourceId, data }),
    update: (resourceId: string, data: Record<string, unknown>): ResourceOperation => ({ ...common(), operation: 'update', resourceId, data }),
    patch: (resourceId: string, data: Record<string, unknown>): ResourceOperation => ({ ...common(), operation: 'patch', resourceId, data }),
    delete: (resourceId: string): ResourceOperation => ({ ...common(), operation: 'delete', resourceId }),
    list: (page = 1, limit = 20, filters?: Record<string, string>): ResourceOperation => ({
      ...common(),
      operation: 'list',
      pagination: { page, limit },
      ...(filters ? { filters } : {}),
    }),
  };
}
