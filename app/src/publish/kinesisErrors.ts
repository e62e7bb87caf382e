/**
 * How Kinesis failures are treated, as the seed's Error Handling section says: throughput and internal
 * failures are retried with backoff; a missing stream or a key problem is the operator's to fix.
 */

/** Per-record `ErrorCode`s of PutRecords worth retrying. */
const RETRYABLE_RECORD_CODES = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'KMSThrottlingException']);

export function isRetryableRecordError(code: string): boolean {
  return RETRYABLE_RECORD_CODES.has(code);
}

const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const RETRYABLE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH']);

/** Whether a failed Kinesis call (not a per-record failure) should be retried. */
export function isRetryableCallError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const err = e as Error & { code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (RETRYABLE_CALL_ERRORS.has(err.name)) return true;
  if (err.code && RETRYABLE_NETWORK_CODES.has(err.code)) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  return err.$retryable !== undefined;
}

/** Whether the error says the stream does not exist (or is not yet ACTIVE). */
export function isStreamNotFound(e: unknown): boolean {
  return e instanceof Error && e.name === 'ResourceNotFoundException';
}
