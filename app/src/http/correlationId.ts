import { createMiddleware } from 'hono/factory';
import * as v from 'valibot';
import { CorrelationIdSchema } from '../routes/schemas';
import type { GatewayEnv } from '../routes/types';

/** The header that carries a request's correlation id, in and out. */
export const CORRELATION_HEADER = 'X-Request-ID';

/**
 * Sets the context's `correlationId`: the caller's `X-Request-ID` when it matches {@link CorrelationIdSchema},
 * else a fresh UUID (a bad one is replaced, never refused), and returns it on the answer.
 */
export function correlationId(newId: () => string = () => crypto.randomUUID()) {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const sent = c.req.header(CORRELATION_HEADER);
    const id = sent !== undefined && v.is(CorrelationIdSchema, sent) ? sent : newId();
    c.set('correlationId', id);
    c.header(CORRELATION_HEADER, id);
    await next();
  });
}
