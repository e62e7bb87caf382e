/**
 * How failed AWS calls are classified for retry, by the Kinesis publisher and the status store alike (both
 * batch through GroupCommit).
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
