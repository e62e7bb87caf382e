import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { resourcesPartition } from '../../common/tables';
import { StoreRejectedError, isConditionalCheckFailed, isUnmarshallableValue, isValidationError } from './errors';
import { foldOperations, view, type FoldOptions, type FoldStep, type ResourceItem, type ResourceView } from './foldOperations';
import { unlimited, type Limiter } from './createLimiter';
import { readAllKeys } from './readAllKeys';
import type { ResourceOperation } from '../../contract/operation';

export type { ResourceItem, ResourceView } from './foldOperations';

/** Which resource: business, location, type and id. */
export interface ResourceKey {
  businessId: string;
  locationId: string;
  resourceType: string;
  resourceId: string;
}

/** A page of a list. */
export interface ListPage {
  items: ResourceView[];
  page: number;
  limit: number;
}

export interface ResourceStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /**
   * How many recent requestIds each resource remembers. The status table's outcome item is the long-term
   * record of "already applied" (kept for the status retention); this window only has to cover a redelivery
   * after the resource write succeeded and the outcome write did not, which comes within the same retry
   * cycle. 100 UUIDs cost about 4 KB of the 400 KB item limit.
   * @default 100
   */
  appliedWindow?: number;
  /** How long a tombstone is kept (epoch-seconds TTL attribute `expiresAt`). @default 7 days */
  tombstoneRetentionSeconds?: number;
  now?: () => Date;
}

/** The identity of a resource as a map key. */
export function resourceKeyId(key: ResourceKey): string {
  return `${resourcesPartition(key.businessId, key.locationId, key.resourceType)}\u0000${key.resourceId}`;
}

/**
 * The stub's resource store on DynamoDB, applying each requestId at most once without transactions.
 *
 * The consumer reads the items a batch touches in bulk ({@link readMany}), folds each resource's operations
 * in memory ({@link fold}), and writes the result back with {@link put}: a write conditional on the item being
 * as read (`version`), whose `applied` list holds every requestId the write applies. A redelivered record
 * therefore finds its requestId in `applied` and changes nothing, even after later writes (a late duplicate
 * create after a patch is a no-op, not a reset).
 */
export class ResourceStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #window: number;
  readonly #tombstoneSeconds: number;
  readonly #now: () => Date;

  constructor(o: ResourceStoreOptions) {
    if (!o.tableName) throw new Error('ResourceStore needs a tableName');
    this.#client = o.client;
    this.#table = o.tableName;
    this.#window = o.appliedWindow ?? 100;
    this.#tombstoneSeconds = o.tombstoneRetentionSeconds ?? 7 * 24 * 3600;
    this.#now = o.now ?? (() => new Date());
  }

  /** How many recent requestIds each resource remembers. */
  get appliedWindow(): number {
    return this.#window;
  }

  /**
   * The current items of these resources (consistent reads, 100 keys a call, each call in a slot of `limit`),
   * by {@link resourceKeyId}.
   */
  async readMany(keys: readonly ResourceKey[], limit: Limiter = unlimited): Promise<Map<string, ResourceItem>> {
    const items = await readAllKeys(
      this.#client,
      this.#table,
      keys.map((k) => ({ pk: resourcesPartition(k.businessId, k.locationId, k.resourceType), resourceId: k.resourceId })),
      undefined,
      limit,
    );
    return new Map((items as unknown as ResourceItem[]).map((i) => [`${i.pk}\u0000${i.resourceId}`, i]));
  }

  /** One resource's current item (a consistent read), after a conditional write found it changed. */
  async read(key: ResourceKey): Promise<ResourceItem | undefined> {
    const pk = resourcesPartition(key.businessId, key.locationId, key.resourceType);
    const got = await this.#client.send(new GetCommand({ TableName: this.#table, Key: { pk, resourceId: key.resourceId }, ConsistentRead: true }));
    return got.Item as ResourceItem | undefined;
  }

  /** Applies `ops[from..]` of one resource to `current` in memory, one write's worth (see {@link foldOperations}). */
  fold(key: ResourceKey, current: ResourceItem | undefined, ops: readonly ResourceOperation[], from: number, o: Pick<FoldOptions, 'maxWrites' | 'keep'>): FoldStep {
    return foldOperations(current, ops, from, {
      ...o,
      pk: resourcesPartition(key.businessId, key.locationId, key.resourceType),
      resourceId: key.resourceId,
      appliedWindow: this.#window,
      tombstoneSeconds: this.#tombstoneSeconds,
      now: this.#now(),
    });
  }

  /**
   * Writes a folded item if the resource is still as read: at `readVersion`, or absent when undefined.
   * Returns false when another writer changed it (read again and fold again).
   * @throws StoreRejectedError when DynamoDB can never hold the item (too large, a value it has no type for).
   */
  async put(item: ResourceItem, readVersion: number | undefined): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          ...(readVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': readVersion } }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionalCheckFailed(e)) return false;
      // Fixed messages: DynamoDB's own can quote a value, and these reach the status table and the logs.
      if (isValidationError(e)) throw new StoreRejectedError('the store refused the resource (too large, or a value it cannot hold)', { cause: e });
      if (isUnmarshallableValue(e)) throw new StoreRejectedError('a value of data cannot be stored (a number beyond ±9007199254740991, or nesting too deep)');
      throw e;
    }
  }

  /**
   * One page of the live resources of a business, location and type whose data fields equal every filter,
   * ordered by resource id. A filter value is a string; a field matches when it is that string, or a number
   * or boolean whose `String()` is that string (`"3"` matches `3`, `"true"` matches `true`), or null and the
   * filter is `"null"`. Objects, arrays and missing fields never match.
   */
  async list(scope: Omit<ResourceKey, 'resourceId'>, filters: Record<string, string>, page: number, limit: number): Promise<ListPage> {
    const pk = resourcesPartition(scope.businessId, scope.locationId, scope.resourceType);
    const matches: ResourceView[] = [];
    const wanted = Object.entries(filters);
    let startKey: Record<string, unknown> | undefined;
    // The stub reads the whole partition: fine for a stub, a real service would index its filters.
    do {
      const out = await this.#client.send(
        new QueryCommand({ TableName: this.#table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      for (const item of (out.Items ?? []) as ResourceItem[]) {
        if (item.deleted) continue;
        if (wanted.every(([field, value]) => fieldEquals(item.data[field], value))) matches.push(view(item));
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    // Query returns items in sort-key (resourceId) order already.
    const start = (page - 1) * limit;
    return { items: matches.slice(start, start + limit), page, limit };
  }
}

function fieldEquals(field: unknown, filter: string): boolean {
  if (typeof field === 'string') return field === filter;
  if (typeof field === 'number' || typeof field === 'boolean') return String(field) === filter;
  if (field === null) return filter === 'null';
  return false;
}
