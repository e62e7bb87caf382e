import * as v from 'valibot';
import {
  BusinessIdSchema,
  DataSchema,
  FilterKeySchema,
  LocationIdSchema,
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
export const CORRELATION_ID_PATTERN = '^[A-Za-z0-9_-]{1,128}$';
export const CorrelationIdSchema = v.pipe(v.string(), v.regex(new RegExp(CORRELATION_ID_PATTERN)));

/** `{bl}`: the path's `{businessId}-{locationId}`. */
export const CollectionParamsSchema = v.object({ bl: v.pipe(v.string(), v.maxLength(129, 'is too long')) });
export const ItemParamsSchema = v.object({ bl: CollectionParamsSchema.entries.bl, resourceId: ResourceIdSchema });

/** Path of the status route. */
export const StatusParamsSchema = v.object({ requestId: RequestIdSchema });

/** Body of create, update and patch. */
export const WriteBodySchema = v.object({ data: DataSchema });
export type WriteBody = v.InferOutput<typeof WriteBodySchema>;

const MAX_FILTERS = 20;

/** Bounds and defaults of a list's integer query parameters; the validator and the document share them. */
export const LIST_PAGE = { minimum: 1, maximum: 1_000_000, default: 1 } as const;
export const LIST_LIMIT = { minimum: 1, maximum: 100, default: 20 } as const;

/** A query string integer (the document types it `integer`): coerced here, within `bounds`. */
const queryInteger = (name: string, bounds: { minimum: number; maximum: number }) =>
  v.pipe(
    v.string(`${name} must appear once`),
    v.regex(/^\d{1,7}$/, `${name} must be an integer`),
    v.transform(Number),
    v.minValue(bounds.minimum, `${name} must be at least ${bounds.minimum}`),
    v.maxValue(bounds.maximum, `${name} must be at most ${bounds.maximum}`),
  );

/** Query of list: `page`, `limit` ({@link LIST_PAGE}, {@link LIST_LIMIT}), every other parameter a filter. */
export const ListQuerySchema = v.pipe(
  v.objectWithRest(
    { page: v.optional(queryInteger('page', LIST_PAGE), String(LIST_PAGE.default)), limit: v.optional(queryInteger('limit', LIST_LIMIT), String(LIST_LIMIT.default)) },
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

const TimestampSchema = v.pipe(v.string(), v.isoTimestamp());

const WRITE_OPERATIONS = ['create', 'update', 'patch', 'delete'] as const;

const acceptedMeta = <O extends v.GenericSchema>(operation: O) =>
  v.object({ businessId: BusinessIdSchema, locationId: LocationIdSchema, resourceType: ResourceTypeSchema, operation, timestamp: TimestampSchema });

/**
 * The `202` body of a write: `data` echoes the request's `data` fields (none for delete) next to the resource
 * `id`, `status: "processing"` and the operation's `requestId`.
 */
export const AcceptedWriteBodySchema = v.object({
  success: v.literal(true),
  data: v.looseObject({ id: ResourceIdSchema, status: v.literal('processing'), requestId: RequestIdSchema }),
  meta: acceptedMeta(v.picklist(WRITE_OPERATIONS)),
});
/** The `202` body of a list: its page comes later, as the `result` of its status. */
export const AcceptedListBodySchema = v.object({
  success: v.literal(true),
  data: v.object({ status: v.literal('processing'), requestId: RequestIdSchema }),
  meta: acceptedMeta(v.literal('list')),
});
/** Either `202` body. */
export const AcceptedBodySchema = v.union([AcceptedWriteBodySchema, AcceptedListBodySchema]);
export type AcceptedBody = v.InferOutput<typeof AcceptedBodySchema>;

/** A resource as the consumer stores it: its fields and its `id`. */
export const ResourceViewSchema = v.looseObject({ id: ResourceIdSchema });
/** A list's page. */
export const ListPageSchema = v.object({
  items: v.array(ResourceViewSchema),
  page: v.pipe(v.number(), v.integer(), v.minValue(LIST_PAGE.minimum)),
  limit: v.pipe(v.number(), v.integer(), v.minValue(LIST_LIMIT.minimum), v.maxValue(LIST_LIMIT.maximum)),
});

const statusFields = {
  requestId: RequestIdSchema,
  status: v.picklist(['processing', 'completed', 'failed']),
  businessId: BusinessIdSchema,
  locationId: LocationIdSchema,
  resourceType: ResourceTypeSchema,
  resourceId: v.optional(ResourceIdSchema),
  /** True when the operation completed but its result was too large to keep (read the resource instead). */
  resultOmitted: v.optional(v.literal(true)),
  error: v.optional(v.object({ code: v.string(), message: v.string() })),
  acceptedAt: TimestampSchema,
  updatedAt: TimestampSchema,
};

/**
 * An operation's status; `result`, once completed, is per operation: the resource for create, update and
 * patch, the page for list, none for delete.
 */
export const StatusSchema = v.variant('operation', [
  ...(['create', 'update', 'patch'] as const).map((op) => v.object({ ...statusFields, operation: v.literal(op), result: v.optional(ResourceViewSchema) })),
  v.object({ ...statusFields, operation: v.literal('delete') }),
  v.object({ ...statusFields, operation: v.literal('list'), result: v.optional(ListPageSchema) }),
]);

/** The `200` body of `GET /api/requests/{requestId}`. */
export const StatusBodySchema = v.object({ success: v.literal(true), data: StatusSchema });
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
