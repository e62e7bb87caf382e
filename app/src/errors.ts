import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** One problem with one field of a request, as reported in `error.details`. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Base of every error the gateway answers with: a stable `code` and the HTTP status it maps to. */
export abstract class GatewayError extends Error {
  abstract readonly code: string;
  abstract readonly status: ContentfulStatusCode;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string> = {};
  constructor(
    message: string,
    readonly details?: FieldIssue[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class ValidationError extends GatewayError {
  override readonly name = 'ValidationError';
  readonly code = 'VALIDATION_ERROR';
  readonly status = 400;
}

export class UnauthorizedError extends GatewayError {
  override readonly name = 'UnauthorizedError';
  readonly code = 'UNAUTHORIZED';
  readonly status = 401;
  override readonly headers = { 'WWW-Authenticate': 'Bearer' };
}

export class ForbiddenError extends GatewayError {
  override readonly name = 'ForbiddenError';
  readonly code = 'FORBIDDEN';
  readonly status = 403;
}

export class NotFoundError extends GatewayError {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND';
  readonly status = 404;
}

export class PayloadTooLargeError extends GatewayError {
  override readonly name = 'PayloadTooLargeError';
  readonly code = 'PAYLOAD_TOO_LARGE';
  readonly status = 413;
}

export class UriTooLongError extends GatewayError {
  override readonly name = 'UriTooLongError';
  readonly code = 'URI_TOO_LONG';
  readonly status = 414;
}

/** A known path asked with a method it does not take; `Allow` lists those it does. */
export class MethodNotAllowedError extends GatewayError {
  override readonly name = 'MethodNotAllowedError';
  readonly code = 'METHOD_NOT_ALLOWED';
  readonly status = 405;
  override readonly headers: Record<string, string>;
  constructor(message: string, allow: readonly string[]) {
    super(message);
    this.headers = { Allow: allow.join(', ') };
  }
}

export class UnsupportedMediaTypeError extends GatewayError {
  override readonly name = 'UnsupportedMediaTypeError';
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  readonly status = 415;
}

export class IdempotencyKeyReusedError extends GatewayError {
  override readonly name = 'IdempotencyKeyReusedError';
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  readonly status = 422;
}

/** A dependency cannot take the operation now (503); the client should retry after `retryAfterSeconds`. */
export abstract class RetryLaterError extends GatewayError {
  readonly status = 503;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterSeconds = 1, options?: ErrorOptions) {
    super(message, undefined, options);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/** Kinesis (or the spool) cannot take the operation now. */
export class StreamUnavailableError extends RetryLaterError {
  override readonly name = 'StreamUnavailableError';
  readonly code = 'STREAM_UNAVAILABLE';
}

/** The status table (a status read) or the idempotency table (an `Idempotency-Key`) does not answer now. */
export class StoreUnavailableError extends RetryLaterError {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'STORE_UNAVAILABLE';
}

export class InternalError extends GatewayError {
  override readonly name = 'InternalError';
  readonly code = 'INTERNAL_ERROR';
  readonly status = 500;
}
