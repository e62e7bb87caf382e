import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/**
 * The bare reference: a Hono route that parses the JSON body and echoes it, served by @hono/node-server like
 * the gateway. Its CPU per request is the floor any Hono gateway on this machine pays (HTTP, routing, JSON).
 * Run as its own process: `PORT=... node --import tsx bench/bareEcho.ts`.
 */
const app = new Hono();
app.post('/api/resources/:bl', async (c) => c.json(await c.req.json(), 202));
app.get('/health', (c) => c.json({ status: 'ok' }));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
