import { Hono, type MiddlewareHandler } from 'hono';
import { GatewayError } from '../src/errors';
import type { GatewayEnv } from '../src/routes/types';

/**
 * A Hono app with `middleware` in front of a handler that echoes what it saw; a GatewayError answers as
 * `{ code, details }` with its status and headers, as app.onError does.
 */
export function middlewareApp(...middleware: MiddlewareHandler<GatewayEnv>[]) {
  const app = new Hono<GatewayEnv>();
  for (const m of middleware) app.use(m);
  app.all('*', (c) => c.json({ ok: true, bodyText: c.get('bodyText'), body: c.get('body'), correlationId: c.get('correlationId') }));
  app.onError((err, c) => {
    if (!(err instanceof GatewayError)) throw err;
    for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
    return c.json({ code: err.code, message: err.message, details: err.details }, err.status);
  });
  return app;
}
