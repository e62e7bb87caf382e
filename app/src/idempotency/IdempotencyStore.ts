import { createHash, randomUUID } from 'node:crypto';
import { isConditionalCheckFailed } from '../../../common/awsErrors';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_TABLE_KEY, TTL_ATTRIBUTE } from '../../../common/tables';
import { IdempotencyKeyReusedError } from '../errors';
import { retryWithin, type StoreRetry } from '../status/retryWithin';
import { IdempotencyKeyInUseError } from './errors';

export interface IdempotencyStoreOptions {
  dynamo: DynamoDBDocumentClient;
  /** The idempotency table (keyed as common/tables.ts `IDEMPOTENCY_TABLE_KEY` says). */
  tableName: string;
  /** How long a key is remembered after its first use. @default 86_400 (24 h) */
  ttlSeconds?: number;
  /**
   * How long a pending claim holds before another request with the same key may take it over: longer than
   * any live attempt takes to publish (the publisher's retry deadline), short enough that a crashed
   * attempt does not block retries for long. @default 30_000
   */
  leaseMs?: number;
  /** How long a duplicate waits for the pending first attempt before answering 409. @default 3_000 */
  waitMs?: number;
  /** Interval of the reads while waiting. @default 50 */
  pollMs?: number;
  /** Epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Retries of each call to the table. @default DEFAULT_STORE_RETRY (status/retryWithin.ts) */
  storeRetry?: StoreRetry;
  random?: () => number;
  /** The pauses between retries. @default timers/promises setTimeout */
  retrySleep?: (ms: number) => Promise<unknown>;
}

/** One use of a key: whose, which key, and the fingerprint of the request it was used with. */
export interface IdempotentRequest {
  sub: string;
  key: string;
  fingerprint: string;
}

/** The ids an attempt publishes with. A takeover reuses the first attempt's, so the consumer sees one requestId. */
export interface AttemptIds {
  requestId: string;
  resourceId?: string;
}

/** What the first `202` is rebuilt from (the body's `data` comes from the request, identical by fingerprint). */
export interface StoredAnswer extends AttemptIds {
  /** `meta.timestamp` of the first answer. */
  timestamp: string;
}

/** The right to accept the operation, held until {@link complete}, {@link release} or {@link discard}. */
export interface ClaimedKey {
  outcome: 'claimed';
  ids: AttemptIds;
  /** Kinesis acknowledged: later requests with the key replay `answer`. */
  complete(answer: StoredAnswer): Promise<void>;
  /** Failed with a 5xx, possibly after reaching the stream: a retry of the same request takes over at once, reusing the ids. */
  release(): Promise<void>;
  /** Refused with a 4xx, nothing was written: the key is forgotten. */
  discard(): Promise<void>;
}

export type Claim = ClaimedKey | { outcome: 'replay'; answer: StoredAnswer };

/** An idempotency item: one caller's use of one key. */
interface IdempotencyItem {
  /** {@link IdempotencyStore.scopedKey}: `{sha256(sub)}#{Idempotency-Key}`. */
  [IDEMPOTENCY_TABLE_KEY.partitionKey]: string;
  fingerprint: string;
  state: 'pending' | 'done';
  /** Random id of the attempt holding the claim. */
  owner: string;
  /** Epoch ms the claim was taken; 0 after a release. */
  claimedAt: number;
  /** The requestId of the operation the key is bound to (a takeover publishes it again). */
  requestId: string;
  /** The resource id a create bound to the key generated. */
  resourceId?: string;
  answer?: StoredAnswer;
  /** The table's TTL attribute. */
  [TTL_ATTRIBUTE]: number;
}

/** A claim's put: no item yet, or only an expired one (TTL deletes lazily, within days, so it may still be there). */
const CREATE_CONDITION = `attribute_not_exists(${IDEMPOTENCY_TABLE_KEY.partitionKey}) OR ${TTL_ATTRIBUTE} <= :nowSeconds`;

/** The ids a claim on `item` publishes with: the first attempt's. */
const idsOf = (item: IdempotencyItem): AttemptIds => ({ requestId: item.requestId, ...(item.resourceId ? { resourceId: item.resourceId } : {}) });

const NAMES: Record<string, string> = { '#state': 'state', '#owner': 'owner', '#answer': 'answer' };
/** The placeholders `expressions` use: DynamoDB refuses unused ones. */
const namesIn = (...expressions: string[]) => Object.fromEntries(Object.entries(NAMES).filter(([n]) => expressions.some((e) => e.includes(n))));

/**
 * `Idempotency-Key` records in the idempotency table. Conditional writes (no transactions, so dynalite serves too)
 * make one attempt per key win across gateway tasks:
 *
 * 1. {@link claim} puts `pending` with the request's fingerprint and ids if no live item exists. If one does:
 *    another fingerprint is 422; `done` replays; `pending` is waited for up to `waitMs`, then 409, unless
 *    its lease ran out (a crashed or failed attempt), in which case this request takes it over with the same ids.
 * 2. The caller publishes, then completes (`done` with the answer), releases (5xx) or discards (4xx) the claim.
 *
 * Each call is retried within a deadline (status/retryWithin.ts), writes included: every write is conditional
 * on the claim's owner, a random id per claim, so a write whose earlier attempt was applied (its answer lost)
 * is told apart by reading the item: it names this claim's owner. A table that does not answer, or cannot be
 * used, is 503 STORE_UNAVAILABLE.
 *
 * @example
 * const claim = await store.claim({ sub, key, fingerprint }, { requestId: crypto.randomUUID() });
 * if (claim.outcome === 'replay') return replay(claim.answer);
 */
export class IdempotencyStore {
  readonly #o: IdempotencyStoreOptions;
  readonly #ttlSeconds: number;
  readonly #leaseMs: number;
  readonly #waitMs: number;
  readonly #pollMs: number;
  readonly #now: () => number;

  constructor(o: IdempotencyStoreOptions) {
    if (!o.tableName) throw new Error('IdempotencyStore needs a tableName');
    this.#o = o;
    this.#ttlSeconds = o.ttlSeconds ?? 86_400;
    this.#leaseMs = o.leaseMs ?? 30_000;
    this.#waitMs = o.waitMs ?? 3_000;
    this.#pollMs = o.pollMs ?? 50;
    this.#now = o.now ?? Date.now;
  }

  /** The item's key: the caller's `sub` hashed (bounded length, no identifiers at rest), then the caller's key. */
  static scopedKey(sub: string, key: string): string {
    return `${createHash('sha256').update(sub).digest('hex')}#${key}`;
  }

  /**
   * Claims `req.key` for an attempt with `ids`, or returns the first answer to replay.
   * @throws IdempotencyKeyReusedError the key was used with another request
   * @throws IdempotencyKeyInUseError the first attempt is still pending after `waitMs`
   * @throws StoreUnavailableError the table did not answer within the retry deadline, or cannot be used
   */
  async claim(req: IdempotentRequest, ids: AttemptIds): Promise<Claim> {
    const scopedKey = IdempotencyStore.scopedKey(req.sub, req.key);
    const owner = randomUUID();
    const deadline = this.#now() + this.#waitMs;
    for (;;) {
      if (await this.#create(scopedKey, req, ids, owner)) return this.#claimed(scopedKey, ids, owner);
      for (;;) {
        const item = await this.#read(scopedKey);
        const now = this.#now();
        // Gone or expired since the put: put again.
        if (!item || item[TTL_ATTRIBUTE] <= Math.floor(now / 1000)) break;
        // This claim's own put or takeover, retried after an attempt that was applied but whose answer was lost.
        if (item.owner === owner && item.state === 'pending') return this.#claimed(scopedKey, idsOf(item), owner);
        if (item.fingerprint !== req.fingerprint) {
          throw new IdempotencyKeyReusedError('this Idempotency-Key was used with a different request in the last 24 hours');
        }
        if (item.state === 'done' && item.answer) return { outcome: 'replay', answer: item.answer };
        if (now - item.claimedAt >= this.#leaseMs) {
          if (await this.#takeOver(scopedKey, item.owner, owner)) return this.#claimed(scopedKey, idsOf(item), owner);
          continue; // another attempt took it over or finished, or this one's retried takeover was applied: look again
        }
        if (now >= deadline) throw new IdempotencyKeyInUseError('a request with this Idempotency-Key is still in progress');
        await sleep(this.#pollMs);
      }
      if (this.#now() >= deadline) throw new IdempotencyKeyInUseError('a request with this Idempotency-Key is still in progress');
    }
  }

  #claimed(scopedKey: string, ids: AttemptIds, owner: string): ClaimedKey {
    return {
      outcome: 'claimed',
      ids,
      // Only the current owner answers: an attempt whose lease another took over must not write over it. A
      // retried write that finds the condition false needs no second look: an earlier attempt applied it, or
      // the claim is another's; either way there is nothing left to do.
      complete: (answer) =>
        this.#update(scopedKey, 'SET #state = :done, #answer = :answer', '#owner = :owner AND #state = :pending', {
          ':done': 'done',
          ':answer': answer,
          ':owner': owner,
          ':pending': 'pending',
        }),
      release: () => this.#update(scopedKey, 'SET claimedAt = :zero', '#owner = :owner AND #state = :pending', { ':zero': 0, ':owner': owner, ':pending': 'pending' }),
      discard: async () => {
        try {
          await this.#send(() =>
            this.#o.dynamo.send(
              new DeleteCommand({
                TableName: this.#o.tableName,
                Key: this.#key(scopedKey),
                ConditionExpression: '#owner = :owner AND #state = :pending',
                ExpressionAttributeNames: namesIn('#owner = :owner AND #state = :pending'),
                ExpressionAttributeValues: { ':owner': owner, ':pending': 'pending' },
              }),
            ),
          );
        } catch (e) {
          if (!isConditionalCheckFailed(e)) throw e;
        }
      },
    };
  }

  #key(scopedKey: string) {
    return { [IDEMPOTENCY_TABLE_KEY.partitionKey]: scopedKey };
  }

  /** Puts a fresh `pending` item unless a live one exists; false when one does (this claim's own, after a retry). */
  async #create(scopedKey: string, req: IdempotentRequest, ids: AttemptIds, owner: string): Promise<boolean> {
    const now = this.#now();
    const item: IdempotencyItem = {
      ...this.#key(scopedKey),
      fingerprint: req.fingerprint,
      state: 'pending',
      owner,
      claimedAt: now,
      requestId: ids.requestId,
      ...(ids.resourceId ? { resourceId: ids.resourceId } : {}),
      [TTL_ATTRIBUTE]: Math.floor(now / 1000) + this.#ttlSeconds,
    };
    try {
      await this.#send(() =>
        this.#o.dynamo.send(
          new PutCommand({
            TableName: this.#o.tableName,
            Item: item,
            ConditionExpression: CREATE_CONDITION,
            ExpressionAttributeValues: { ':nowSeconds': Math.floor(now / 1000) },
          }),
        ),
      );
      return true;
    } catch (e) {
      if (isConditionalCheckFailed(e)) return false;
      throw e;
    }
  }

  /**
   * Takes over a pending claim whose lease ran out, unless another attempt got there first; false also when a
   * retry finds this claim's own takeover applied (the caller reads the item again).
   */
  async #takeOver(scopedKey: string, previousOwner: string, owner: string): Promise<boolean> {
    try {
      await this.#send(() =>
        this.#o.dynamo.send(
          new UpdateCommand({
            TableName: this.#o.tableName,
            Key: this.#key(scopedKey),
            UpdateExpression: 'SET #owner = :owner, claimedAt = :now',
            ConditionExpression: '#owner = :previous AND #state = :pending',
            ExpressionAttributeNames: namesIn('SET #owner', '#state'),
            ExpressionAttributeValues: { ':owner': owner, ':now': this.#now(), ':previous': previousOwner, ':pending': 'pending' },
          }),
        ),
      );
      return true;
    } catch (e) {
      if (isConditionalCheckFailed(e)) return false;
      throw e;
    }
  }

  /** One call to the table, retried within the deadline; 503 STORE_UNAVAILABLE when the table cannot serve it. */
  #send<T>(call: () => Promise<T>): Promise<T> {
    const { storeRetry: retry, random, retrySleep: sleep } = this.#o;
    return retryWithin(call, 'the idempotency store is unavailable', { retry, random, now: this.#now, sleep });
  }

  async #read(scopedKey: string): Promise<IdempotencyItem | undefined> {
    const res = await this.#send(() => this.#o.dynamo.send(new GetCommand({ TableName: this.#o.tableName, Key: this.#key(scopedKey), ConsistentRead: true })));
    return res.Item as IdempotencyItem | undefined;
  }

  /** A conditional update; losing the condition (another attempt finished or took over) is not an error. */
  async #update(scopedKey: string, expression: string, condition: string, values: Record<string, unknown>): Promise<void> {
    try {
      await this.#send(() =>
        this.#o.dynamo.send(
          new UpdateCommand({
            TableName: this.#o.tableName,
            Key: this.#key(scopedKey),
            UpdateExpression: expression,
            ConditionExpression: condition,
            ExpressionAttributeNames: namesIn(expression, condition),
            ExpressionAttributeValues: values,
          }),
        ),
      );
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
    }
  }
}
