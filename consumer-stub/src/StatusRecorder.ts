import { BatchWriteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { STATUS_KIND } from '../../common/tables';
import type { OperationName } from '../../contract/operation';
import { expiresAt, type OperationError, type StatusItem } from '../../contract/status';
import { unlimited, type Limiter } from './createLimiter';
import { isConditionalCheckFailed, isValidationError } from './errors';
import { readAllKeys } from './readAllKeys';

/** What the outcome item repeats from the record, so it alone answers a status read. */
export interface OutcomeSubject {
  requestId: string;
  operation?: OperationName;
  businessId?: string;
  locationId?: string;
  resourceType?: string;
  resourceId?: string;
  sub?: string;
  correlationId?: string;
  /** When the gateway accepted the operation (the record's `timestamp`). */
  acceptedAt: string;
}

/**
 * An outcome to record: `completed` with its result, or `failed` with its error. `ifAbsent`: written alone and
 * conditionally (`attribute_not_exists`), so an outcome already recorded stays; for an outcome another
 * delivery may be writing at the same time (see {@link StatusRecorder.recordAll}).
 */
export type Outcome = { subject: OutcomeSubject; ifAbsent?: boolean } & ({ status: 'completed'; result?: unknown } | { status: 'failed'; error: OperationError });

/** BatchWriteItem's limit of items per call. */
const ITEMS_PER_CALL = 25;
/** Rounds of re-sending items DynamoDB left unprocessed before they are given back as unwritten. */
const MAX_WRITE_ROUNDS = 5;

export interface StatusRecorderOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** TTL of outcome items. @default 7 days */
  retentionSeconds?: number;
  now?: () => Date;
}

/**
 * The consumer's side of the status table: the `outcome` item of a requestId (see common/tables.ts).
 * The first outcome wins, and the gateway only ever writes the `accepted` item, so a completed or failed
 * operation never goes back to processing. Single writes ({@link completed}, {@link failed}) are conditional
 * (`attribute_not_exists`); bulk writes ({@link recordAll}) cannot carry a condition, and keep the rule by
 * what they write, with the outcomes another delivery may also be writing sent alone and conditionally
 * (`ifAbsent`): see consumer-stub/README.md, "Bulk outcome writes".
 */
export class StatusRecorder {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retention: number | undefined;
  readonly #now: () => Date;

  constructor(o: StatusRecorderOptions) {
    if (!o.tableName) throw new Error('StatusRecorder needs a tableName');
    this.#client = o.client;
    this.#table = o.tableName;
    this.#retention = o.retentionSeconds;
    this.#now = o.now ?? (() => new Date());
  }

  /** Which of these requestIds already have an outcome (consistent reads, 100 a call, each call in a slot of `limit`). */
  async recorded(requestIds: readonly string[], limit: Limiter = unlimited): Promise<Set<string>> {
    const unique = [...new Set(requestIds)];
    const items = await readAllKeys(this.#client, this.#table, unique.map((requestId) => ({ requestId, kind: STATUS_KIND.outcome })), ['requestId'], limit);
    return new Set(items.map((i) => i.requestId as string));
  }

  /**
   * Writes outcomes in bulk (BatchWriteItem, 25 a call, the calls concurrent, each in a slot of `limit`;
   * unprocessed items sent again). A call DynamoDB refuses as invalid (an item too large, say) is written item
   * by item with the fallbacks of {@link completed} and {@link failed}; so is every `ifAbsent` outcome, whose
   * condition a bulk write cannot carry. Returns the requestIds whose outcome could not be written, with the
   * error, so their records are delivered again; one outcome per requestId (the first given).
   */
  async recordAll(outcomes: readonly Outcome[], limit: Limiter = unlimited): Promise<{ unwritten: Set<string>; error?: unknown }> {
    const byId = new Map<string, Outcome>();
    for (const o of outcomes) if (!byId.has(o.subject.requestId)) byId.set(o.subject.requestId, o);
    const bulk = [...byId.values()].filter((o) => !o.ifAbsent);
    const alone = [...byId.values()].filter((o) => o.ifAbsent);
    const chunks: Outcome[][] = [];
    for (let i = 0; i < bulk.length; i += ITEMS_PER_CALL) chunks.push(bulk.slice(i, i + ITEMS_PER_CALL));
    const unwritten = new Set<string>();
    let error: unknown;
    const attempt = async (written: Outcome[], write: () => Promise<string[]>) => {
      try {
        for (const id of await write()) unwritten.add(id);
      } catch (e) {
        error ??= e;
        for (const o of written) unwritten.add(o.subject.requestId);
      }
    };
    await Promise.all([
      ...chunks.map((chunk) => attempt(chunk, () => this.#writeChunk(chunk, limit))),
      ...alone.map((o) => attempt([o], async () => (await limit(() => this.#record(o)), []))),
    ]);
    return { unwritten, ...(error === undefined ? {} : { error }) };
  }

  /** One outcome with its condition (`attribute_not_exists`): false when one was already recorded. */
  #record(o: Outcome): Promise<boolean> {
    return o.status === 'completed' ? this.completed(o.subject, o.result) : this.failed(o.subject, o.error);
  }

  async #writeChunk(chunk: Outcome[], limit: Limiter): Promise<string[]> {
    const now = this.#now();
    let pending = chunk.map((o) => ({ PutRequest: { Item: this.#item(o.subject, o.status === 'completed' ? { status: 'completed', ...(o.result === undefined ? {} : { result: o.result }) } : { status: 'failed', error: { code: o.error.code, message: o.error.message } }, now) } }));
    try {
      for (let round = 0; pending.length > 0; round++) {
        if (round >= MAX_WRITE_ROUNDS) return pending.map((p) => p.PutRequest.Item.requestId);
        if (round > 0) await sleep(25 * 2 ** round);
        const out = await limit(() => this.#client.send(new BatchWriteCommand({ RequestItems: { [this.#table]: pending } })));
        pending = (out.UnprocessedItems?.[this.#table] ?? []) as typeof pending;
      }
      return [];
    } catch (e) {
      if (!isValidationError(e)) throw e;
      await Promise.all(chunk.map((o) => limit(() => this.#record(o))));
      return [];
    }
  }

  /** The recorded outcome of a requestId, if there is one. */
  async outcome(requestId: string): Promise<StatusItem | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { requestId, kind: STATUS_KIND.outcome }, ConsistentRead: true }),
    );
    return out.Item as StatusItem | undefined;
  }

  /**
   * Records `completed` with its result. Returns false when an outcome was already recorded.
   * A result too large for a status item (400 KB) is left out (`resultOmitted`): the operation did complete, and
   * a client that retried it as failed would apply it a second time.
   */
  async completed(subject: OutcomeSubject, result?: unknown): Promise<boolean> {
    try {
      return await this.#put(subject, { status: 'completed', ...(result === undefined ? {} : { result }) });
    } catch (e) {
      if (!isValidationError(e) || result === undefined) throw e;
      return this.#put(subject, { status: 'completed', resultOmitted: true });
    }
  }

  /** Records `failed` with its error. Returns false when an outcome was already recorded. */
  async failed(subject: OutcomeSubject, error: OperationError): Promise<boolean> {
    try {
      return await this.#put(subject, { status: 'failed', error: { code: error.code, message: error.message } });
    } catch (e) {
      if (!isValidationError(e)) throw e;
      // DynamoDB refused the item (too large, say): record the failure with what is sure to fit, rather than
      // retry a write that cannot succeed and hold the shard.
      // The scope stays (its ids are bounded by the contract): the status read authorizes on it.
      const { requestId, acceptedAt, operation, businessId, locationId, resourceType } = subject;
      const reduced = Object.fromEntries(Object.entries({ operation, businessId, locationId, resourceType }).filter(([, x]) => x !== undefined));
      return this.#put({ requestId, acceptedAt, ...reduced }, { status: 'failed', error: { code: error.code, message: error.message.slice(0, 1024) } });
    }
  }

  #item(subject: OutcomeSubject, outcome: Pick<StatusItem, 'status' | 'result' | 'resultOmitted' | 'error'>, now: Date) {
    return { ...subject, kind: STATUS_KIND.outcome, ...outcome, updatedAt: now.toISOString(), expiresAt: expiresAt(now, this.#retention) };
  }

  async #put(subject: OutcomeSubject, outcome: Pick<StatusItem, 'status' | 'result' | 'resultOmitted' | 'error'>): Promise<boolean> {
    const item = this.#item(subject, outcome, this.#now());
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(requestId)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionalCheckFailed(e)) return false;
      throw e;
    }
  }
}
