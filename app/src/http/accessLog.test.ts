import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { GATEWAY_METRICS, METRICS_SERVICE } from '../../../common/metricNames';
import { createLogger } from '../logger';
import { Metrics } from '../metrics/Metrics';
import type { GatewayEnv } from '../routes/types';
import { accessLog, operationOf } from './accessLog';
import { correlationId } from './correlationId';

function setup(o: { draining?: boolean } = {}) {
  const lines: Record<string, unknown>[] = [];
  const emf: Record<string, unknown>[] = [];
  const logger = createLogger({ sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const metrics = new Metrics({ namespace: 'Test', defaultDimensions: { service: METRICS_SERVICE.gateway }, sink: (l) => emf.push(JSON.parse(l) as Record<string, unknown>) });
  const app = new Hono<GatewayEnv>();
  app.use(correlationId(() => 'corr-1'));
  app.use(accessLog({ logger, metrics, draining: () => o.draining ?? false }));
  app.post('/api/resources/:scope', (c) => {
    c.get('log').info('inside');
    return c.json({ ok: true }, 202);
  });
  return { app, lines, emf, metrics };
}

describe('accessLog', () => {
  it('logs one request line per answer with its route, status and time, on a logger carrying the correlation id', async () => {
    const { app, lines } = setup();
    expect((await app.request('/api/resources/b-l', { method: 'POST' })).status).toBe(202);
    expect(lines.map((l) => l.message)).toEqual(['inside', 'request']);
    expect(lines[0]).toMatchObject({ correlationId: 'corr-1' });
    expect(lines[1]).toMatchObject({ correlationId: 'corr-1', method: 'POST', path: '/api/resources/:scope', status: 202 });
    expect(typeof lines[1]!.ms).toBe('number');
  });

  it('logs no route for a request that matched none', async () => {
    const { app, lines } = setup();
    expect((await app.request('/nowhere')).status).toBe(404);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.path).toBeUndefined();
  });

  it('counts the request and its latency by operation and status class', async () => {
    const { app, emf, metrics } = setup();
    await app.request('/api/resources/b-l', { method: 'POST' });
    metrics.flush();
    const counted = emf.find((d) => GATEWAY_METRICS.requests in d);
    expect(counted).toMatchObject({ Operation: 'create', StatusClass: '2xx', [GATEWAY_METRICS.requests]: 1 });
    expect(emf.find((d) => GATEWAY_METRICS.requestLatency in d)).toMatchObject({ Operation: 'create' });
  });

  it('asks the client to close its connection only while draining', async () => {
    expect((await setup().app.request('/api/resources/b-l', { method: 'POST' })).headers.get('Connection')).toBeNull();
    expect((await setup({ draining: true }).app.request('/api/resources/b-l', { method: 'POST' })).headers.get('Connection')).toBe('close');
  });
});

describe('operationOf', () => {
  it.each([
    ['POST', '/api/resources/:scope', 'create'],
    ['PUT', '/api/resources/:scope/:id', 'update'],
    ['PATCH', '/api/resources/:scope/:id', 'patch'],
    ['DELETE', '/api/resources/:scope/:id', 'delete'],
    ['GET', '/api/resources/:scope', 'list'],
    ['HEAD', '/api/resources/:scope', 'other'],
    ['GET', '/api/requests/:requestId', 'status'],
    ['GET', '/health', 'health'],
    ['GET', '/ready', 'health'],
    ['GET', '/openapi.json', 'other'],
  ])('names %s %s %s', (method, route, name) => {
    expect(operationOf(method, route)).toBe(name);
  });
});
