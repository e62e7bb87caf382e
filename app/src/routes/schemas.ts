import * as v from 'valibot';
import {
  BusinessIdSchema,
  DataSchema,
  FilterKeySchema,
  LocationIdSchema,
  OPERATIONS,
  RequestIdSchema,
  ResourceIdSchema,
  ResourceTypeSchema,
} from '../../../contract/operation';

// Request and response schemas of the HTTP API. The routes validate with them and the OpenAPI document
// (app/src/openapi/) is generated from them, so the two cannot drift apart.

/** Headers every resource route requires (Hono lower-cases header names). */
export const ScopeHeadersSchema = v.object({
  'x-business-id': BusinessIdSchema,
  'x-location-id': LocationIdSchema,
  'x-resource-type': ResourceTypeSchema,
});

/** `Idempotency-Key`: 1-128 visible ASCII characters (no spaces or control characters). */
export const IdempotencyKeySchema = v.pipe(
  v.string(),
  v.regex(/^[\x21-\x7E]{1,128}$/, 'must be 1-128 visible ASCII characters'),
);

/** Headers of a write (create, update, patch, delete): the scope, and an optional `Idempotency-Key`. */
export const WriteHeadersSchema = v.object({
  ...ScopeHeadersSchema.entries,
  'idempotency-key': v.optional(IdempotencyKeySchema),
});

/**
 * `X-Request-ID`: a correlation id the caller may choose; one that does not match is replaced by a generated
 * UUID (not refused). Short and visible, so it cannot forge log fields.
 */
// What Hono's requestId middleware keeps ([\w=-]) and ours allows, both: anything else gets a fresh UUID.
export const CorrelationIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,128}$/));

/** `{bl}`: the path's `{businessId}-{locationId}`. */
export const CollectionParamsSchema = v.object({ bl: v.pipe(v.string(), v.maxLength(129, 'is too long')) });
export const ItemParamsSchema = v.object({ bl: CollectionParamsSchema.entries.bl, resourceId: ResourceIdSchema });

/** Path of the status route. */
export const StatusParamsSchema = v.object({ requestId: RequestIdSchema });

/** Body of create, update and patch. */
export const WriteBodySchema = v.object({ data: DataSchema });

const MAX_FILTERS = 20;
const intString = (name: string, min: number, max: number) =>
  v.pipe(
    v.string(`${name} must appear once`),
    v.regex(/^\d{1,6}$/, `${name} must be an integer`),
    v.transform(Number),
    v.minValue(min, `${name} must be at least ${min}`),
    v.maxValue(max, `${name} must be at most ${max}`),
  );

/** Query of list: `page` (>= 1, default 1), `limit` (1..100, default 20), every other parameter a filter. */
export const ListQuerySchema = v.pipe(
  v.objectWithRest(
    { page: v.optional(intString('page', 1, 1_000_000), '1'), limit: v.optional(intString('limit', 1, 100), '20') },
    v.pipe(v.string('a filter must appear once'), v.maxLength(256, 'a filter value must be at most 256 characters')),
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const keys: string[] = Object.keys(dataset.value as object).filter((k: string) => k !== 'page' && k !== 'limit');
    if (keys.length > MAX_FILTERS) addIssue({ message: `at most ${MAX_FILTERS} filters` });
    for (const k of keys) {
      const ok = v.safeParse(FilterKeySchema, k).success;
      if (!ok) addIssue({ message: `filter name "${k.slice(0, 64)}" must be 1-64 of A-Z a-z 0-9 _ . -` });
    }
  }),
  v.transform(({ page, limit, ...filters }) => ({ pagination: { page, limit }, filters: filters as Record<string, string> })),
);

const OperationNameSchema = v.picklist(OPERATIONS);
const TimestampSchema = v.pipe(v.string(), v.isoTimestamp());

/**
 * The `202` body of every resource route (the seed's shape): `data` echoes the request's `data` fields next
 * to the resource `id` (all but list), `status: "processing"` and the operation's `requestId`.
 */
export const AcceptedBodySchema = v.object({
  success: v.literal(true),
  data: v.looseObject({
    id: v.optional(ResourceIdSchema),
    status: v.literal('processing'),
    requestId: RequestIdSchema,
  }),
  meta: v.object({
    businessId: BusinessIdSchema,
    locationId: LocationIdSchema,
    resourceType: ResourceTypeSchema,
    operation: OperationNameSchema,
    timestamp: TimestampSchema,
  }),
});
export type AcceptedBody = v.InferOutput<typeof AcceptedBodySchema>;

/** The `200` body of `GET /api/requests/{requestId}`. */
export const StatusBodySchema = v.object({
  success: v.literal(true),
  data: v.object({
    requestId: RequestIdSchema,
    status: v.picklist(['processing', 'completed', 'failed']),
    operation: OperationNameSchema,
    businessId: BusinessIdSchema,
    locationId: LocationIdSchema,
    resourceType: ResourceTypeSchema,
    resourceId: v.optional(ResourceIdSchema),
    /** The consumer's result: the resource for create/update/patch, `{items, page, limit}` for list. */
    result: v.optional(v.unknown()),
    /** True when the operation completed but its result was too large to keep (read the resource instead). */
    resultOmitted: v.optional(v.literal(true)),
    error: v.optional(v.object({ code: v.string(), message: v.string() })),
    acceptedAt: TimestampSchema,
    updatedAt: TimestampSchema,
  }),
});
export type StatusBody = v.InferOutput<typeof StatusBodySchema>;

/** The body of every error answer; `details` names each bad field of a 400. */
export const ErrorBodySchema = v.object({
  success: v.literal(false),
  error: v.object({
    code: v.string(),
    message: v.string(),
    details: v.optional(v.array(v.object({ field: v.string(), message: v.string() }))),
  }),
});
export type ErrorBody = v.InferOutput<typeof ErrorBodySchema>;
