import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { MalformedRequestError } from '../admission/errors';
import { isClientFault } from '../admission/isClientFault';
import { GatewayError, InternalError, PayloadTooLargeError, ValidationError } from '../errors';
import type { Logger } from '../logger';
import type { GatewayEnv } from '../routes/types';

/** Maps any thrown value to the gateway's error shape. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isClientFault(err)) return new MalformedRequestError('the request was cut off or malformed', undefined, { cause: err });
  if (err instanceof HTTPException) {
    // Hono's own refusals: malformed JSON (400) and the body limit (413).
    if (err.status === 413) return new PayloadTooLargeError('the body is too large');
    if (err.status < 500) return new ValidationError(err.message || 'the request is invalid');
  }
  return new InternalError('internal error', undefined, { cause: err });
}

/**
 * The one answer to any error (`app.onError`, `app.notFound`): the error's status, headers and
 * `{success: false, error: {code, message, details?}}`; a 5xx is logged with its cause, on the request's
 * logger when it has one.
 */
export function errorResponder(logger: Logger) {
  return (c: Context<GatewayEnv>, err: unknown) => {
    const e = toGatewayError(err);
    if (e.status >= 500) (c.get('log') ?? logger).error(e.message, { code: e.code, err: e.cause ?? err });
    for (const [k, v] of Object.entries(e.headers)) c.header(k, v);
    return c.json(
      { success: false as const, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } },
      e.status,
    );
  };
}
