/**
 * Errors of the consumer stub. The split that matters is retryable or not:
 * - an {@link OperationFailedError} is the operation's final outcome: it is recorded as `failed` in the
 *   status table and the record is NOT retried (retrying cannot change the answer);
 * - anything else (throttling, timeouts, 5xx, network) propagates, lands in `batchItemFailures`, and the
 *   record is delivered again, in order.
 */

/** The operation cannot succeed; its record is recorded as failed and skipped. */
export class OperationFailedError extends Error {
  override name = 'OperationFailedError';
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** patch, update or delete of a resource that does not exist (or was deleted). */
export class NotFoundError extends OperationFailedError {
  override name = 'NotFoundError';
  constructor(resourceId: string) {
    super('NOT_FOUND', `resource ${resourceId} does not exist`);
  }
}

/** create of a resource id that already exists. */
export class ConflictError extends OperationFailedError {
  override name = 'ConflictError';
  constructor(resourceId: string) {
    super('CONFLICT', `resource ${resourceId} already exists`);
  }
}

/** DynamoDB refused the write for good (e.g. the item would exceed 400 KB). */
export class StoreRejectedError extends OperationFailedError {
  override name = 'StoreRejectedError';
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_REJECTED', message, options);
  }
}

/**
 * A record not applied in this invocation (a transient failure of one of its operations, or of one it must
 * follow): reported in `batchItemFailures` so the event source delivers it again, keeping the shard's order.
 */
export class HeldBackError extends Error {
  override name = 'HeldBackError';
  readonly code = 'HELD_BACK';
  constructor(readonly sequenceNumber: string) {
    super(`record ${sequenceNumber} held back for the next delivery`);
  }
}

/** The resource changed under a read-then-conditional-write too many times in a row (retryable). */
export class WriteContentionError extends Error {
  override name = 'WriteContentionError';
  readonly code = 'WRITE_CONTENTION';
  constructor(resourceId: string) {
    super(`resource ${resourceId} kept changing during the write`);
  }
}

/**
 * The invocation came within its deadline margin of the function timeout before this operation started
 * (retryable): it is held for the next delivery rather than left running when Lambda retries.
 */
export class DeadlineReachedError extends Error {
  override name = 'DeadlineReachedError';
  readonly code = 'DEADLINE_REACHED';
  constructor() {
    super('the invocation is within its deadline margin: nothing new is started');
  }
}

export { isConditionalCheckFailed, isValidationError } from '../../common/awsErrors';

/**
 * A value the SDK's marshalling refuses before anything is sent (a number beyond ±(2^53−1), a type DynamoDB
 * has no attribute for, nesting too deep to walk): final, and its message can quote the value, so it is never
 * passed on.
 */
export function isUnmarshallableValue(e: unknown): boolean {
  if (!(e instanceof Error) || '$metadata' in e) return false;
  // Nesting deep enough to overflow the marshaller's recursion (records that did not come through the gateway).
  if (e instanceof RangeError) return true;
  return /Number\.M(?:AX|IN)_SAFE_INTEGER|Unsupported type passed|Special numeric value/.test(e.message);
}
