import * as v from 'valibot';
import {
  BusinessIdSchema,
  DataSchema,
  FilterKeySchema,
  LocationIdSchema,
  ResourceIdSchema,
  ResourceTypeSchema,
} from '../../../contract/operation';

/** Headers every resource route requires (Hono lower-cases header names). */
export const ScopeHeadersSchema = v.object({
  'x-business-id': BusinessIdSchema,
  'x-location-id': LocationIdSchema,
  'x-resource-type': ResourceTypeSchema,
});

/** `{bl}`: the path's `{businessId}-{locationId}`. */
export const CollectionParamsSchema = v.object({ bl: v.pipe(v.string(), v.maxLength(129, 'is too long')) });
export const ItemParamsSchema = v.object({ bl: CollectionParamsSchema.entries.bl, resourceId: ResourceIdSchema });

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
