import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { createDynamoClient, createKinesisClient } from '../../common/awsClients';
import { keyringFor } from '../../common/fieldEncryption/keyrings';
import { createApp } from './app';
import { createFieldEncryptor } from './crypto/FieldEncryptor';
import { createTokenVerifier } from './auth/verifyToken';
import { ConfigError, loadConfig } from './config';
import { answerClientErrorsAsJson } from './http/clientError';
import { createLogger } from './logger';
import { GATEWAY_METRICS, Metrics } from './metrics/Metrics';
import { createPublisher } from './publish/createPublisher';
import { ensureStream } from './publish/ensureStream';
import { streamReadiness } from './publish/streamReadiness';
import { IdempotencyStore } from './idempotency/IdempotencyStore';
import { StatusStore } from './status/StatusStore';

/** How long SIGTERM lets requests in flight finish; with SPOOL_DRAIN_MS it stays inside the ECS stop timeout. */
const HTTP_DRAIN_MS = 10_000;

/** The gateway's entry: config -> real clients -> createApp -> serve; SIGTERM drains. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const logger = createLogger({ level: config.logLevel, bindings: { service: 'gateway' } });
  const { kinesis: k } = config;
  const inFlight = k.batching ? k.maxInFlight : 256;
  const kinesis = createKinesisClient({
    region: config.region,
    endpoint: k.endpoint,
    maxSockets: inFlight + 2,
    requestTimeoutMs: k.timeoutMs,
    // The batching publisher retries per record itself; the direct one leaves it to the SDK.
    maxAttempts: k.batching ? 1 : 3,
  });
  const dynamo = createDynamoClient({
    region: config.region,
    endpoint: config.status.endpoint,
    maxSockets: inFlight + 2,
    requestTimeoutMs: k.timeoutMs,
    maxAttempts: k.batching ? 1 : 3,
  });

  if (k.createStream) {
    await ensureStream(kinesis, k.streamName, k.shardCount);
    logger.info('stream ready', { stream: k.streamName });
  }

  const metrics = new Metrics({ namespace: config.metricsNamespace, defaultDimensions: { service: 'gateway' } });
  const { publisher, spooling } = await createPublisher({ kinesis, kinesisConfig: k, spoolConfig: config.spool, logger, metrics });
  const flushMetrics = setInterval(() => {
    // Always, 0 without a spool: the SpoolNotEmpty alarm takes silence for a gateway that stopped reporting.
    const s = spooling?.state();
    metrics.observe(GATEWAY_METRICS.spoolDepth, s?.depth ?? 0, 'Count');
    metrics.observe(GATEWAY_METRICS.spoolOldestAgeMs, s?.oldestAgeMs ?? 0, 'Milliseconds');
    metrics.flush();
  }, 10_000);
  flushMetrics.unref();
  // A crash must not take the last interval's metrics with it (stdout to a pipe or file is synchronous here).
  process.on('exit', () => metrics.flush());
  // Status writes batch 25 items at most (BatchWriteItem), records 500: the status store gets more calls in flight.
  const statusStore = new StatusStore({ dynamo, tableName: config.status.tableName, batching: k.batching, maxInFlight: k.maxInFlight * 2, retry: k.retry });
  // A bad key file fails start-up here, not the first request.
  const fe = config.fieldEncryption;
  const prepareRecord = fe.sensitiveFields.length > 0 ? createFieldEncryptor({ sensitiveFields: fe.sensitiveFields, keyring: keyringFor(fe) }) : undefined;
  // The lease must outlast the longest a first attempt can still be publishing (retries until the deadline, a call
  // in flight, the status wait), or a retry takes it over and publishes the same operation while it still runs.
  const idempotency = new IdempotencyStore({
    dynamo,
    tableName: config.status.tableName,
    leaseMs: Math.max(30_000, k.retry.deadlineMs + 2 * k.timeoutMs + 5_000),
  });
  const verifyToken = createTokenVerifier({ ...config.auth, cacheSize: config.auth.tokenCacheSize });
  const streamReady = streamReadiness(kinesis, k.streamName);
  let draining = false;

  const app = createApp({
    verifyToken,
    publisher,
    statusStore,
    idempotency,
    prepareRecord,
    logger,
    metrics,
    statusRetentionSeconds: config.status.retentionSeconds,
    maxStatusWaiting: config.status.maxWaiting,
    draining: () => draining,
    ready: async () => {
      const spool = spooling?.state();
      if (draining) return { ready: false, draining: true, spool };
      return { ...(await streamReady()), spool };
    },
  });

  const http = serve({ fetch: app.fetch, port: config.port }, (info) => {
    logger.info('gateway listening', { port: info.port, stream: k.streamName, batching: k.batching });
  }) as Server;
  answerClientErrorsAsJson(http);
  // Longer than the load balancer's 60 s idle timeout, so the ALB, not the gateway, closes idle connections
  // (otherwise a request can race the close and get a 502).
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;

  const shutdown = async (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info('draining', { signal });
    // Stop taking connections; let in-flight requests finish; flush what is batched; drain the spool within
    // SPOOL_DRAIN_MS (shorter than the ECS stop timeout); what cannot drain stays on disk for the next start.
    // Keep-alive connections would hold close() open: answers now say `Connection: close`, idle sockets are
    // closed as they go idle, and after HTTP_DRAIN_MS whatever is left is cut.
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    const idle = setInterval(() => http.closeIdleConnections(), 100);
    http.closeIdleConnections();
    let cut: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (cut = setTimeout(resolve, HTTP_DRAIN_MS)))]);
    clearInterval(idle);
    clearTimeout(cut);
    http.closeAllConnections();
    await Promise.all([spooling ? spooling.close(config.spool.drainMs) : publisher.close(), statusStore.close()]);
    clearInterval(flushMetrics);
    metrics.flush();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`gateway failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
