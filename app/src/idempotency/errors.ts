import { GatewayError } from '../errors';

/**
 * Another request with the same `Idempotency-Key` (and the same fingerprint) is still being accepted, and did
 * not finish while this one waited. Retrying after `Retry-After` replays its answer.
 */
export class IdempotencyKeyInUseError extends GatewayError {
  override readonly name = 'IdempotencyKeyInUseError';
  readonly code = 'IDEMPOTENCY_KEY_IN_USE';
  readonly status = 409;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}
