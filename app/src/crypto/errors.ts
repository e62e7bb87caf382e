import { RetryLaterError } from '../errors';

/** The field encryption key could not be used (KMS failed, throttled or refused): nothing was written; retry later. */
export class EncryptionUnavailableError extends RetryLaterError {
  override readonly name = 'EncryptionUnavailableError';
  readonly code = 'ENCRYPTION_UNAVAILABLE';
}
