import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { createApp } from '../app/src/app';
import { createTokenVerifier } from '../app/src/auth/verifyToken';
import { loadConfig } from '../app/src/config';
import { createLogger } from '../app/src/logger';
import { Metrics } from '../app/src/metrics/Metrics';
import type { Publisher } from '../app/src/publish/Publisher';

/**
 * The gateway's floor: the same app, configuration, token verifier, logger and metrics as `app/src/server.ts`,
 * with a publisher and a status store that acknowledge at once and call nothing. What it costs per request is
 * what the gateway spends before any AWS SDK call: HTTP, Hono's middleware, the token, validation, the record's
 * encoding, the access line and the 202. The `floor` scenario measures it beside `bare` and `batching`, so a run
 * shows how much of the gateway's CPU the SDK calls take and how much the HTTP path does.
 * Run as its own process: `PORT=... JWT_SECRET=... node --import tsx bench/gatewayFloor.ts`.
 */
const config = loadConfig();
const logger = createLogger({ level: config.logLevel, bindings: { service: 'gateway' } });
const metrics = new Metrics({ namespace: config.metricsNamespace, defaultDimensions: { service: 'gateway' } });
setInterval(() => metrics.flush(), 10_000).unref();
let sequence = 0;
const publisher: Publisher = {
  publish: async () => ({ shardId: 'shardId-000000000000', sequenceNumber: String(++sequence) }),
  close: async () => {},
};
const statusStore = { recordAccepted: async () => {}, get: async () => undefined };

const app = createApp({
  verifyToken: createTokenVerifier({ ...config.auth, cacheSize: config.auth.tokenCacheSize }),
  publisher,
  statusStore,
  logger,
  metrics,
  statusRetentionSeconds: config.status.retentionSeconds,
  ready: async () => ({ ready: true }),
});
const server = serve({ fetch: app.fetch, port: config.port, hostname: '127.0.0.1' }) as Server;
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
