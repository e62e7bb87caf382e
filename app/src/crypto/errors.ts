import { GatewayError } from '../errors';

/** The field encryption key could not be used (KMS failed, throttled or refused): nothing was written; retry later. */
export class EncryptionUnavailableError extends GatewayError {
  override readonly name = 'EncryptionUnavailableError';
  readonly code = 'ENCRYPTION_UNAVAILABLE';
  readonly status = 503;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterSeconds = 1, options?: ErrorOptions) {
    super(message, undefined, options);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}
