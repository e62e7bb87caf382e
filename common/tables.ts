/**
 * Key schemas of the three DynamoDB tables, shared by the infrastructure, the local stack and the code that
 * reads and writes them.
 */

/**
 * Status table: an operation's items, keyed by its requestId and told apart by the sort key `kind`
 * ({@link STATUS_KIND}).
 */
export const STATUS_TABLE_KEY = { partitionKey: 'requestId', sortKey: 'kind' } as const;

/**
 * Values of the status table's sort key:
 * - `accepted`: written by the gateway before its 202, in batches (BatchWriteItem cannot carry a condition);
 * - `outcome`: written by the consumer with `attribute_not_exists`, so the first outcome wins.
 * Separate `accepted` and `outcome` items make "states only move forward" structural: a late or retried
 * acceptance write can never overwrite an outcome, whatever order the writes land in. A read queries both and
 * the outcome wins.
 */
export const STATUS_KIND = { accepted: 'accepted', outcome: 'outcome' } as const;
/** A kind of an operation's status item. */
export type OperationStatusKind = (typeof STATUS_KIND)[keyof typeof STATUS_KIND];

/**
 * Idempotency table of the gateway (app/src/idempotency/IdempotencyStore.ts): one item per caller and
 * `Idempotency-Key`, keyed by `scopedKey`, which holds `{sha256(sub)}#{Idempotency-Key}` (a key is the caller's
 * own: two callers may use the same one). Its own table, not the status table: it is keyed by another id, lives
 * 24 hours rather than the status retention, and only the gateway uses it.
 */
export const IDEMPOTENCY_TABLE_KEY = { partitionKey: 'scopedKey' } as const;

/**
 * The TTL attribute of all three tables (epoch seconds): `expiresAt` on a status, an idempotency record and a
 * deleted resource's tombstone.
 */
export const TTL_ATTRIBUTE = 'expiresAt';

/** Resources table of the consumer stub: one item per resource. */
export const RESOURCES_TABLE_KEY = { partitionKey: 'pk', sortKey: 'resourceId' } as const;

/** The resources table's partition key value for a business, location and resource type. */
export function resourcesPartition(businessId: string, locationId: string, resourceType: string): string {
  // '#' cannot occur in any of the three ids, so the key is unambiguous.
  return `${businessId}#${locationId}#${resourceType}`;
}
