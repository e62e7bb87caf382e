import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { STATUS_KIND, STATUS_TABLE_KEY } from '../../../common/tables';
import type { StatusItem } from '../../../contract/status';
import { isRetryableAwsError } from '../../../common/awsErrors';
import type { RetryConfig } from '../config';
import { GroupCommit } from '../publish/GroupCommit';
import { retryWithin, type StoreRetry } from './retryWithin';

/** The gateway's side of the status table: the `accepted` item it writes, and reads of an operation's status. */
export interface StatusStoreOptions {
  dynamo: DynamoDBDocumentClient;
  tableName: string;
  /** Group accepted writes into BatchWriteItem; off writes one conditional PutItem per request. @default true */
  batching?: boolean;
  /** @default 4 */
  maxInFlight?: number;
  retry: RetryConfig;
  /** Retries of {@link StatusStore.get}. @default DEFAULT_STORE_RETRY (status/retryWithin.ts) */
  readRetry?: StoreRetry;
  random?: () => number;
  /** @default Date.now */
  now?: () => number;
  /** @default timers/promises setTimeout */
  sleep?: (ms: number) => Promise<unknown>;
}

/** As the document client marshalls (common/awsClients.ts). */
const MARSHALL = { removeUndefinedValues: true, convertClassInstanceToMap: false } as const;

/** 25 is BatchWriteItem's limit. */
const MAX_BATCH_ITEMS = 25;

class UnprocessedError extends Error {
  override readonly name = 'UnprocessedError';
}

export class StatusStore {
  readonly #o: StatusStoreOptions;
  readonly #commit?: GroupCommit<StatusItem, void>;

  constructor(o: StatusStoreOptions) {
    this.#o = o;
    if (o.batching === false) return;
    this.#commit = new GroupCommit<StatusItem, void>({
      maxItems: MAX_BATCH_ITEMS,
      maxInFlight: o.maxInFlight ?? 4,
      retry: o.retry,
      random: o.random,
      isRetryable: isRetryableAwsError,
      // The low-level command with items marshalled here: the document client's translation middleware walks
      // the whole batch again on the way in and out, a tenth of the gateway's CPU under load (profiled).
      send: async (items) => {
        // One put per key: BatchWriteItem refuses a whole batch that names a key twice, and a request retried
        // with its Idempotency-Key reuses its requestId, so it can meet its first attempt here. The later item
        // wins, as a second PutItem would.
        const puts = [...new Map(items.map((i) => [i.requestId, i])).values()];
        const res = await o.dynamo.send(
          new BatchWriteItemCommand({ RequestItems: { [o.tableName]: puts.map((i) => ({ PutRequest: { Item: marshall(i, MARSHALL) } })) } }),
        );
        const unprocessed = new Set(
          (res.UnprocessedItems?.[o.tableName] ?? []).map((r) => r.PutRequest?.Item?.[STATUS_TABLE_KEY.partitionKey]?.S),
        );
        return items.map((i) =>
          unprocessed.has(i.requestId)
            ? { ok: false as const, retryable: true, error: new UnprocessedError('unprocessed by BatchWriteItem') }
            : { ok: true as const, value: undefined },
        );
      },
    });
  }

  /**
   * Writes the `accepted` item (status `processing`). It can never overwrite the consumer's outcome, which is
   * a separate item; see common/tables.ts.
   */
  async recordAccepted(item: Omit<StatusItem, 'kind' | 'status'>): Promise<void> {
    const full: StatusItem = { ...item, kind: STATUS_KIND.accepted, status: 'processing' };
    if (this.#commit) return this.#commit.submit(full);
    await this.#o.dynamo.send(
      new PutCommand({ TableName: this.#o.tableName, Item: full, ConditionExpression: 'attribute_not_exists(requestId)' }),
    );
  }

  /**
   * The operation's status: its outcome when there is one, else its acceptance; undefined if unknown.
   * A failed read is retried within a deadline (status/retryWithin.ts): a read is safe to repeat.
   * @throws StoreUnavailableError the table did not answer within the read deadline, or cannot be used
   */
  async get(requestId: string): Promise<StatusItem | undefined> {
    const { readRetry: retry, random, now, sleep } = this.#o;
    return retryWithin(() => this.#query(requestId), 'the status store is unavailable', { retry, random, now, sleep });
  }

  async #query(requestId: string): Promise<StatusItem | undefined> {
    const res = await this.#o.dynamo.send(
      new QueryCommand({
        TableName: this.#o.tableName,
        KeyConditionExpression: '#id = :id',
        ExpressionAttributeNames: { '#id': STATUS_TABLE_KEY.partitionKey },
        ExpressionAttributeValues: { ':id': requestId },
        ConsistentRead: true,
      }),
    );
    const items = (res.Items ?? []) as StatusItem[];
    return items.find((i) => i.kind === STATUS_KIND.outcome) ?? items.find((i) => i.kind === STATUS_KIND.accepted);
  }

  async close(): Promise<void> {
    await this.#commit?.idle();
  }
}
