/**
 * How Kinesis failures are treated, as the seed's Error Handling section says: throughput and internal
 * failures are retried with backoff; a missing stream or a key problem is the operator's to fix.
 */

/** Per-record `ErrorCode`s of PutRecords worth retrying. */
const RETRYABLE_RECORD_CODES = new Set(['ProvisionedThroughputExceededException', 'InternalFailure', 'KMSThrottlingException']);

export function isRetryableRecordError(code: string): boolean {
  return RETRYABLE_RECORD_CODES.has(code);
}

/** Whether the error says the stream does not exist (or is not yet ACTIVE). */
export { isResourceNotFound as isStreamNotFound } from '../../../common/awsErrors';
