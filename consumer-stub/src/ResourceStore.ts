import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { resourcesPartition } from '../../common/tables';
import {
  ConflictError,
  NotFoundError,
  StoreRejectedError,
  WriteContentionError,
  isConditionalCheckFailed,
  isUnmarshallableValue,
  isValidationError,
} from './errors';

/** Which resource: business, location, type and id. */
export interface ResourceKey {
  businessId: string;
  locationId: string;
  resourceType: string;
  resourceId: string;
}

/** A resource as clients see it: its data fields plus `id`. */
export type ResourceView = Record<string, unknown> & { id: string };

/** What a write did: applied now, or already applied by an earlier delivery of the same requestId. */
export interface WriteOutcome {
  duplicate: boolean;
  /** The resource after the write (or, for a duplicate, as it is now); absent when it is deleted. */
  resource?: ResourceView;
}

/** A page of a list. */
export interface ListPage {
  items: ResourceView[];
  page: number;
  limit: number;
}

/** An item of the resources table. */
interface ResourceItem {
  pk: string;
  resourceId: string;
  data: Record<string, unknown>;
  /** A tombstone keeps `applied` after a delete, so a late duplicate create cannot resurrect the resource. */
  deleted: boolean;
  /** The last {@link ResourceStoreOptions.appliedWindow} requestIds applied to this item, oldest first. */
  applied: string[];
  /** Bumped by every write; the optimistic-concurrency guard of read-then-write. */
  version: number;
  updatedAt: string;
  /** Epoch seconds; set on tombstones only, for a TTL on the resources table. */
  expiresAt?: number;
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

/** Write attempts when another writer changes the item between our read and our conditional write. */
const MAX_WRITE_ATTEMPTS = 3;

/**
 * The stub's resource store on DynamoDB, applying each requestId at most once without transactions.
 *
 * Every write reads the item (consistently), decides, and writes it back with a condition that the item
 * is unchanged (`version`) and has not seen this requestId (`NOT contains(applied, :rid)`). A redelivered
 * record therefore finds its requestId in `applied` and changes nothing, even after later writes
 * (a late duplicate create after a patch is a no-op, not a reset).
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

  /** Stores a new resource; {@link ConflictError} when a live one has the id. */
  create(key: ResourceKey, data: Record<string, unknown>, requestId: string): Promise<WriteOutcome> {
    return this.#write(key, requestId, (current) => {
      if (current && !current.deleted) throw new ConflictError(key.resourceId);
      return { data, deleted: false };
    });
  }

  /** Replaces a resource's data; {@link NotFoundError} when there is no live resource. */
  replace(key: ResourceKey, data: Record<string, unknown>, requestId: string): Promise<WriteOutcome> {
    return this.#write(key, requestId, (current) => {
      if (!current || current.deleted) throw new NotFoundError(key.resourceId);
      return { data, deleted: false };
    });
  }

  /** Merges top-level fields into a resource's data (a field set to null is stored as null). */
  patch(key: ResourceKey, data: Record<string, unknown>, requestId: string): Promise<WriteOutcome> {
    return this.#write(key, requestId, (current) => {
      if (!current || current.deleted) throw new NotFoundError(key.resourceId);
      return { data: { ...current.data, ...data }, deleted: false };
    });
  }

  /** Deletes a resource, leaving a tombstone; {@link NotFoundError} when there is no live resource. */
  delete(key: ResourceKey, requestId: string): Promise<WriteOutcome> {
    return this.#write(key, requestId, (current) => {
      if (!current || current.deleted) throw new NotFoundError(key.resourceId);
      return { data: {}, deleted: true };
    });
  }

  /**
   * One page of the live resources of a business, location and type whose data fields equal every filter,
   * ordered by resource id. A filter value is a string; a field matches when it is that string, or a number
   * or boolean whose `String()` is that string (`"3"` matches `3`, `"true"` matches `true`), or null and the
   * filter is `"null"`. Objects, arrays and missing fields never match.
   */
  async list(
    scope: Omit<ResourceKey, 'resourceId'>,
    filters: Record<string, string>,
    page: number,
    limit: number,
  ): Promise<ListPage> {
    const pk = resourcesPartition(scope.businessId, scope.locationId, scope.resourceType);
    const matches: ResourceView[] = [];
    const wanted = Object.entries(filters);
    let startKey: Record<string, unknown> | undefined;
    // The stub reads the whole partition: fine for a stub, a real service would index its filters.
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
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

  async #write(
    key: ResourceKey,
    requestId: string,
    decide: (current: ResourceItem | undefined) => { data: Record<string, unknown>; deleted: boolean },
  ): Promise<WriteOutcome> {
    const pk = resourcesPartition(key.businessId, key.locationId, key.resourceType);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const got = await this.#client.send(
        new GetCommand({ TableName: this.#table, Key: { pk, resourceId: key.resourceId }, ConsistentRead: true }),
      );
      const current = got.Item as ResourceItem | undefined;
      if (current?.applied.includes(requestId)) {
        return { duplicate: true, ...(current.deleted ? {} : { resource: view(current) }) };
      }
      const next = decide(current);
      const now = this.#now();
      const item: ResourceItem = {
        pk,
        resourceId: key.resourceId,
        data: next.data,
        deleted: next.deleted,
        applied: [...keepLast(current?.applied ?? [], this.#window - 1), requestId],
        version: (current?.version ?? 0) + 1,
        updatedAt: now.toISOString(),
        ...(next.deleted ? { expiresAt: Math.floor(now.getTime() / 1000) + this.#tombstoneSeconds } : {}),
      };
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: item,
            ...(current
              ? {
                  ConditionExpression: '#version = :version AND NOT contains(#applied, :rid)',
                  ExpressionAttributeNames: { '#version': 'version', '#applied': 'applied' },
                  ExpressionAttributeValues: { ':version': current.version, ':rid': requestId },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
      } catch (e) {
        if (isConditionalCheckFailed(e)) continue; // changed since our read: decide again on fresh state
        // Fixed messages: DynamoDB's own can quote a value, and these reach the status table and the logs.
        if (isValidationError(e)) throw new StoreRejectedError('the store refused the resource (too large, or a value it cannot hold)', { cause: e });
        if (isUnmarshallableValue(e)) throw new StoreRejectedError('a value of data cannot be stored (a number beyond ±9007199254740991, or nesting too deep)');
        throw e;
      }
      return { duplicate: false, ...(next.deleted ? {} : { resource: view(item) }) };
    }
    throw new WriteContentionError(key.resourceId);
  }
}

function view(item: ResourceItem): ResourceView {
  return { ...item.data, id: item.resourceId };
}

function fieldEquals(field: unknown, filter: string): boolean {
  if (typeof field === 'string') return field === filter;
  if (typeof field === 'number' || typeof field === 'boolean') return String(field) === filter;
  if (field === null) return filter === 'null';
  return false;
}

/** The last `n` items (none for n <= 0; `slice(-0)` would keep them all). */
function keepLast<T>(items: readonly T[], n: number): T[] {
  return n > 0 ? items.slice(-n) : [];
}
