import * as v from 'valibot';

/**
 * The stream message: one record per resource operation, a {@link ResourceOperation} as UTF-8 JSON. Every
 * record names its tenant scope (`businessId`, `locationId`, `resourceType`), the `operation`, its `requestId`
 * and `timestamp`; create, update and patch carry `resourceId` and `data`, delete `resourceId`, list
 * `pagination` and optional `filters`. Gateway and consumer both import this module; nothing else defines the
 * message.
 */

/** Operations a permission and a record may name. */
export const OPERATIONS = ['create', 'update', 'patch', 'delete', 'list'] as const;
export type OperationName = (typeof OPERATIONS)[number];

/** Kinesis' limit for one record: data blob plus partition key. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export const BusinessIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -'));
export const LocationIdSchema = BusinessIdSchema;
export const ResourceTypeSchema = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must start with a letter, then up to 63 of A-Z a-z 0-9 _ -'),
);
export const ResourceIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 of A-Z a-z 0-9 _ . : -'));
export const RequestIdSchema = v.pipe(v.string(), v.uuid('must be a UUID'));
export const FilterKeySchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -'));

/** A resource's fields: any JSON object. */
export const DataSchema = v.custom<Record<string, unknown>>(
  (d) => typeof d === 'object' && d !== null && !Array.isArray(d),
  'must be a JSON object',
);
export const FiltersSchema = v.pipe(
  v.record(FilterKeySchema, v.string()),
  v.check((f) => Object.keys(f).length <= 20, 'at most 20 filters'),
);
export const PaginationSchema = v.object({
  page: v.pipe(v.number(), v.integer(), v.minValue(1)),
  limit: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
});

const base = {
  businessId: BusinessIdSchema,
  locationId: LocationIdSchema,
  resourceType: ResourceTypeSchema,
  timestamp: v.pipe(v.string(), v.isoTimestamp()),
  requestId: RequestIdSchema,
  // The members below are optional: a record is complete without them, and a writer that has none omits them.
  /** The caller's `sub`, for audit and status ownership. */
  sub: v.optional(v.string()),
  /** The accepting HTTP request's correlation id (`X-Request-ID`), for tracing across logs. */
  correlationId: v.optional(v.pipe(v.string(), v.maxLength(128))),
  /** Names of `data` fields (or list `filters`) whose values are ciphertexts (`encryptedField.ts`). */
  encryptedFields: v.optional(v.array(v.string())),
};

export const ResourceOperationSchema = v.variant('operation', [
  v.object({ ...base, operation: v.literal('create'), resourceId: ResourceIdSchema, data: DataSchema }),
  v.object({ ...base, operation: v.literal('update'), resourceId: ResourceIdSchema, data: DataSchema }),
  v.object({ ...base, operation: v.literal('patch'), resourceId: ResourceIdSchema, data: DataSchema }),
  v.object({ ...base, operation: v.literal('delete'), resourceId: ResourceIdSchema }),
  v.object({
    ...base,
    operation: v.literal('list'),
    filters: v.optional(FiltersSchema),
    pagination: PaginationSchema,
  }),
]);

export type ResourceOperation = v.InferOutput<typeof ResourceOperationSchema>;

/** `{businessId}-{locationId}-{resourceType}`: one shard, hence one order, per business, location and type. */
export function partitionKey(op: Pick<ResourceOperation, 'businessId' | 'locationId' | 'resourceType'>): string {
  return `${op.businessId}-${op.locationId}-${op.resourceType}`;
}

/** The record's bytes as they go on the stream. */
export function encodeOperation(op: ResourceOperation): Uint8Array {
  return Buffer.from(JSON.stringify(op), 'utf8');
}

/** Size Kinesis counts against {@link MAX_RECORD_BYTES}: data plus partition key. */
export function recordSize(data: Uint8Array, key: string): number {
  return data.byteLength + Buffer.byteLength(key, 'utf8');
}

/** Why a record could not be decoded; carries the requestId when the bytes held one. */
export class InvalidOperationError extends Error {
  override readonly name = 'InvalidOperationError';
  readonly code = 'INVALID_OPERATION';
  constructor(
    message: string,
    readonly requestId?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Parses and validates a record's bytes; throws {@link InvalidOperationError} for anything not a valid operation. */
export function decodeOperation(bytes: Uint8Array): ResourceOperation {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new InvalidOperationError('record is not JSON', undefined, { cause });
  }
  const result = v.safeParse(ResourceOperationSchema, json);
  if (result.success) return result.output;
  const rid = (json as { requestId?: unknown } | null)?.requestId;
  const requestId = typeof rid === 'string' && v.is(RequestIdSchema, rid) ? rid : undefined;
  const issues = result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`).join('; ');
  throw new InvalidOperationError(`record is not a valid operation: ${issues}`, requestId);
}
