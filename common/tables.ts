/**
 * Key schemas of the two DynamoDB tables, shared by the infrastructure, the local stack and the code that
 * reads and writes them.
 */

/**
 * Status table: for each requestId, up to two items, told apart by the sort key `kind`:
 * - `accepted`: written by the gateway before its 202, in batches (BatchWriteItem cannot carry a condition);
 * - `outcome`: written by the consumer with `attribute_not_exists`, so the first outcome wins.
 * Two items make "states only move forward" structural: a late or retried acceptance write can never
 * overwrite an outcome, whatever order the writes land in. A read queries both and the outcome wins.
 */
export const STATUS_TABLE_KEY = { partitionKey: 'requestId', sortKey: 'kind' } as const;

/** Values of the status table's sort key. */
export const STATUS_KIND = { accepted: 'accepted', outcome: 'outcome' } as const;

/** Resources table of the consumer stub: one item per resource. */
export const RESOURCES_TABLE_KEY = { partitionKey: 'pk', sortKey: 'resourceId' } as const;

/** The resources table's partition key value for a business, location and resource type. */
export function resourcesPartition(businessId: string, locationId: string, resourceType: string): string {
  // '#' cannot occur in any of the three ids, so the key is unambiguous.
  return `${businessId}#${locationId}#${resourceType}`;
}
