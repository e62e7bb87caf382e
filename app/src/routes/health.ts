import { Hono } from 'hono';

export interface HealthDeps {
  /** Whether the gateway can take operations now (the stream answers, it is not draining), with its details. */
  ready(): Promise<{ ready: boolean }>;
}

/** `GET /health` (the process runs) and `GET /ready` (it can take operations). */
export function createHealthRouter(deps: HealthDeps) {
  return new Hono()
    .get('/health', (c) => c.json({ status: 'ok' }))
    .get('/ready', async (c) => {
      const r = await deps.ready();
      return c.json({ ...r, status: r.ready ? 'ready' : 'not ready' }, r.ready ? 200 : 503);
    });
}
