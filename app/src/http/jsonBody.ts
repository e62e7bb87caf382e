import { createMiddleware } from 'hono/factory';
import { WriteBodySchema } from '../routes/schemas';
import type { GatewayEnv } from '../routes/types';
import { ValidationError } from '../errors';
import { parseOrThrow } from '../validation/validate';

/** Parses the context's `bodyText` (see strictUtf8Body) as a write's JSON body into `body`; 400 otherwise. */
export function jsonBody() {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    let json: unknown;
    try {
      json = JSON.parse(c.get('bodyText'));
    } catch {
      throw new ValidationError('the request is invalid', [{ field: 'json', message: 'the body is not valid JSON' }]);
    }
    c.set('body', parseOrThrow(WriteBodySchema, json, 'json'));
    await next();
  });
}
