import { createMiddleware } from 'hono/factory';
import { UriTooLongError } from '../errors';
import type { GatewayEnv } from '../routes/types';

/** The longest URL a request may have, in characters. */
export const MAX_URL_LENGTH = 8192;

/**
 * Refuses a URL longer than `max` with 414. Node bounds the request line and headers together (16 KiB); the
 * URL alone gets a tighter, explicit limit.
 */
export function urlLimit(max = MAX_URL_LENGTH) {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    if (c.req.url.length > max) throw new UriTooLongError(`the URL exceeds ${max} characters`);
    await next();
  });
}
