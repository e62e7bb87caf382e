/**
 * Key schemas of the two DynamoDB tables, shared by the infrastructure, the local stack and the code that
 * reads and writes them.
 */

/** Status table: one item per requestId (and idempotency records under the same key space). */
export const STATUS_TABLE_KEY = { partitionKey: 'requestId' } as const;

/** Resources table of the consumer stub: one item per resource. */
export const RESOURCES_TABLE_KEY = { partitionKey: 'pk', sortKey: 'resourceId' } as const;

/** The resources table's partition key value for a business, location and resource type. */
export function resourcesPartition(businessId: string, locationId: string, resourceType: string): string {
  // '#' cannot occur in any of the three ids, so the key is unambiguous.
  return `${businessId}#${locationId}#${resourceType}`;
}
