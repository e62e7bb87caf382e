import { createMiddleware } from 'hono/factory';
import type { Logger } from '../logger';
import { GATEWAY_METRICS, type Metrics } from '../metrics/Metrics';
import type { GatewayEnv } from '../routes/types';

export interface AccessLogOptions {
  logger: Logger;
  /** Per-operation request metrics (EMF); none when omitted. */
  metrics?: Metrics;
  /** True once the server is stopping: answers then close their connection. */
  draining?: () => boolean;
}

const OPERATION_BY_METHOD: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'list' };

/** A bounded name for what a request did: an operation, `status`, `health`, or `other`. */
export function operationOf(method: string, routePath: string): string {
  if (routePath.startsWith('/api/resources')) return OPERATION_BY_METHOD[method] ?? 'other';
  if (routePath.startsWith('/api/requests')) return 'status';
  if (routePath === '/health' || routePath === '/ready') return 'health';
  return 'other';
}

/**
 * Gives the request its logger (context `log`, carrying the correlation id), then logs one `request` line per
 * answer with its route, status and time, and counts it in the request metrics. While draining, the answer
 * closes its connection.
 */
export function accessLog(o: AccessLogOptions) {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    c.set('log', o.logger.child({ correlationId: c.get('correlationId') }));
    const started = performance.now();
    await next();
    if (o.draining?.()) c.header('Connection', 'close');
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const route = c.req.routePath === '/*' ? undefined : c.req.routePath;
    c.get('log').info('request', { method: c.req.method, path: route, status: c.res.status, ms });
    if (o.metrics) {
      const Operation = operationOf(c.req.method, route ?? '');
      o.metrics.count(GATEWAY_METRICS.requests, 1, { Operation, StatusClass: `${Math.floor(c.res.status / 100)}xx` });
      o.metrics.observe(GATEWAY_METRICS.requestLatency, ms, 'Milliseconds', { Operation });
    }
  });
}
