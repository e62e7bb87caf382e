import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { STATUS_KIND } from '../../common/tables';
import type { OperationName } from '../../contract/operation';
import { expiresAt, type OperationError, type StatusItem } from '../../contract/status';
import { isConditionalCheckFailed, isValidationError } from './errors';

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

export interface StatusRecorderOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** TTL of outcome items. @default 7 days */
  retentionSeconds?: number;
  now?: () => Date;
}

/**
 * The consumer's side of the status table: the `outcome` item of a requestId (see common/tables.ts).
 * The first outcome wins (`attribute_not_exists`), and the gateway only ever writes the `accepted` item,
 * so a completed or failed operation never goes back to processing.
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

  async #put(subject: OutcomeSubject, outcome: Pick<StatusItem, 'status' | 'result' | 'resultOmitted' | 'error'>): Promise<boolean> {
    const now = this.#now();
    const item = {
      ...subject,
      kind: STATUS_KIND.outcome,
      ...outcome,
      updatedAt: now.toISOString(),
      expiresAt: expiresAt(now, this.#retention),
    };
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
