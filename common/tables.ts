/**
 * Key schemas of the two DynamoDB tables, shared by the infrastructure, the local stack and the code that
 * reads and writes them.
 */

/**
 * Status table: items told apart by the sort key `kind` ({@link STATUS_KIND}). The partition key attribute is
 * named `requestId` (the key schema that infra and the local stack create), and it holds:
 * - for `accepted` and `outcome` items: the operation's requestId (a UUID);
 * - for `idempotency` items: `idem#{sha256(sub)}#{Idempotency-Key}` (never a UUID, so it cannot meet an
 *   operation's items); the operation's requestId is then the item's `operationRequestId`.
 */
export const STATUS_TABLE_KEY = { partitionKey: 'requestId', sortKey: 'kind' } as const;

/**
 * Values of the status table's sort key, all three kinds together:
 * - `accepted`: written by the gateway before its 202, in batches (BatchWriteItem cannot carry a condition);
 * - `outcome`: written by the consumer with `attribute_not_exists`, so the first outcome wins;
 * - `idempotency`: the gateway's record of an `Idempotency-Key` (app/src/idempotency/IdempotencyStore.ts).
 * Separate `accepted` and `outcome` items make "states only move forward" structural: a late or retried
 * acceptance write can never overwrite an outcome, whatever order the writes land in. A read queries both and
 * the outcome wins.
 */
export const STATUS_KIND = { accepted: 'accepted', outcome: 'outcome', idempotency: 'idempotency' } as const;
/** A kind of an operation's status item (an idempotency item is not one). */
export type OperationStatusKind = typeof STATUS_KIND.accepted | typeof STATUS_KIND.outcome;

/** Resources table of the consumer stub: one item per resource. */
export const RESOURCES_TABLE_KEY = { partitionKey: 'pk', sortKey: 'resourceId' } as const;

/** The resources table's partition key value for a business, location and resource type. */
export function resourcesPartition(businessId: string, locationId: string, resourceType: string): string {
  // '#' cannot occur in any of the three ids, so the key is unambiguous.
  return `${businessId}#${locationId}#${resourceType}`;
}
