import * as v from 'valibot';
import {
  BusinessIdSchema,
  LocationIdSchema,
  OPERATIONS,
  ResourceIdSchema,
  ResourceTypeSchema,
  type ResourceOperation,
} from '../../contract/operation';
import type { OutcomeSubject } from './StatusRecorder';

/** The fields of a valid operation that its outcome item repeats. */
export function subjectOf(op: ResourceOperation): OutcomeSubject {
  return {
    requestId: op.requestId,
    operation: op.operation,
    businessId: op.businessId,
    locationId: op.locationId,
    resourceType: op.resourceType,
    ...('resourceId' in op ? { resourceId: op.resourceId } : {}),
    ...(op.sub === undefined ? {} : { sub: op.sub }),
    ...(op.correlationId === undefined ? {} : { correlationId: op.correlationId }),
    acceptedAt: op.timestamp,
  };
}

const pick = <T>(schema: v.GenericSchema<unknown, T>, value: unknown): T | undefined =>
  v.is(schema, value) ? (value as T) : undefined;

/**
 * What can be trusted of an invalid record that still carried a valid requestId: each identity field that
 * passes its own schema. The status read authorizes on business, location and type, so an outcome without
 * them is visible to nobody, which is the safe default.
 */
export function salvageSubject(bytes: Uint8Array, requestId: string, arrivedAt: Date): OutcomeSubject {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (parsed && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  } catch {
    // not JSON: only the requestId is known
  }
  const operation = OPERATIONS.find((o) => o === raw.operation);
  const timestamp = pick(v.pipe(v.string(), v.isoTimestamp()), raw.timestamp);
  const fields = {
    operation,
    businessId: pick(BusinessIdSchema, raw.businessId),
    locationId: pick(LocationIdSchema, raw.locationId),
    resourceType: pick(ResourceTypeSchema, raw.resourceType),
    resourceId: pick(ResourceIdSchema, raw.resourceId),
    // Bounded like the other strings: an outcome item must fit in DynamoDB's 400 KB whatever the record held.
    sub: pick(v.pipe(v.string(), v.maxLength(1024)), raw.sub),
    correlationId: pick(v.pipe(v.string(), v.maxLength(128)), raw.correlationId),
  };
  const known = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  return { ...known, requestId, acceptedAt: timestamp ?? arrivedAt.toISOString() };
}
