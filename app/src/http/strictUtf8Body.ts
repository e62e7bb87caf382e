import { createMiddleware } from 'hono/factory';
import { ValidationError } from '../errors';
import type { GatewayEnv } from '../routes/types';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the body and decodes it strictly into the context's `bodyText`: invalid UTF-8 is refused with 400
 * rather than silently turned into U+FFFD.
 */
export function strictUtf8Body() {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    let text: string;
    try {
      text = STRICT_UTF8.decode(await c.req.arrayBuffer());
    } catch {
      throw new ValidationError('the request is invalid', [{ field: 'json', message: 'the body is not valid UTF-8' }]);
    }
    c.set('bodyText', text);
    await next();
  });
}
