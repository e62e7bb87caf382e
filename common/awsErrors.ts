/**
 * How failed AWS calls are classified, in one place for the gateway, the consumer and the local stack:
 * retryable or not, and the few named answers the code acts on.
 */

const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  // DynamoDB's account-level request throttling.
  'RequestLimitExceeded',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const RETRYABLE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH']);

/** Whether a failed AWS call (not a per-item failure) should be retried: throttling, timeouts, 5xx, network. */
export function isRetryableAwsError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const err = e as Error & { code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (RETRYABLE_CALL_ERRORS.has(err.name)) return true;
  if (err.code && RETRYABLE_NETWORK_CODES.has(err.code)) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return err.$retryable !== undefined;
}

/**
 * Per-record `ErrorCode`s of PutRecords worth retrying: throughput, KMS throttling and internal failures, not a
 * problem with the record or its key.
 */
const RETRYABLE_RECORD_CODES = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'KMSThrottlingException']);

/** Whether a record that PutRecords refused with `errorCode` (the call itself succeeded) should be sent again. */
export function isRetryableRecordCode(errorCode: string): boolean {
  return RETRYABLE_RECORD_CODES.has(errorCode);
}

/** A conditional write's condition did not hold (DynamoDB `ConditionalCheckFailedException`). */
export function isConditionalCheckFailed(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** DynamoDB's answer to a request that can never succeed as sent (an item too large, say). */
export function isValidationError(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'ValidationException';
}

/** The stream or table does not exist, or is not yet ACTIVE (Kinesis and DynamoDB alike). */
export function isResourceNotFound(e: unknown): boolean {
  return e instanceof Error && e.name === 'ResourceNotFoundException';
}

/** The caller's credentials were refused, or may not make the call (`AccessDeniedException`, `UnrecognizedClientException`). */
export function isAccessDenied(e: unknown): boolean {
  const name = (e as Error | undefined)?.name;
  return name === 'AccessDeniedException' || name === 'UnrecognizedClientException';
}

/** A Kinesis shard iterator was used after it expired (5 minutes): a new one must be made. */
export function isExpiredIterator(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'ExpiredIteratorException';
}

/** Kinesis refused an argument, e.g. a starting sequence number that is not of this stream. */
export function isInvalidArgument(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'InvalidArgumentException';
}

/**
 * The call names a table, stream or key that does not exist, or credentials that may not use it: no retry
 * helps until an operator acts. The dependency is unusable; the request that needed it was not at fault.
 */
export function isUnusableAwsResource(e: unknown): boolean {
  return isResourceNotFound(e) || isAccessDenied(e);
}
