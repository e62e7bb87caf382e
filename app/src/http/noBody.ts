import { createMiddleware } from 'hono/factory';
import { ValidationError } from '../errors';

/** Refuses with 400 a body on a request that takes none (DELETE, a list): it would be silently ignored. */
export function noBody() {
  return createMiddleware(async (c, next) => {
    // A request has a body only with one of these headers (RFC 9112 section 6.3); reading the stream to find
    // out would cost every request a full WHATWG Request (see bodyLimit).
    const length = c.req.header('content-length');
    const chunked = c.req.header('transfer-encoding') !== undefined;
    if (chunked || (length !== undefined && length.trim() !== '0')) {
      throw new ValidationError('the request is invalid', [{ field: 'body', message: `${c.req.method} takes no body` }]);
    }
    await next();
  });
}
