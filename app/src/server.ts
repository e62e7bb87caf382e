import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createDynamoClient, createKinesisClient } from '../../common/awsClients';
import { ConfigError } from '../../common/ConfigError';
import { keyringFor } from '../../common/fieldEncryption/keyrings';
import { METRICS_SERVICE } from '../../common/metricNames';
import { HTTP_DRAIN_MS } from '../../common/shutdownBudget';
import { TIMED_OUT, withTimeout } from '../../common/withTimeout';
import { MAX_RECORD_BYTES } from '../../contract/operation';
import { BodyBudget } from './admission/BodyBudget';
import { createGatewayServer } from './admission/createGatewayServer';
import { createApp, type AppDeps } from './app';
import { createTokenVerifier } from './auth/verifyToken';
import { loadConfig, type Config } from './config';
import { createFieldEncryptor } from './crypto/FieldEncryptor';
import { IdempotencyStore } from './idempotency/IdempotencyStore';
import { createLogger, type Logger } from './logger';
import { GATEWAY_METRICS, Metrics } from './metrics/Metrics';
import { createPublisher } from './publish/createPublisher';
import { ensureStream } from './publish/ensureStream';
import { streamReadiness } from './publish/streamReadiness';
import { StatusStore } from './status/StatusStore';

type Publishing = Awaited<ReturnType<typeof createPublisher>>;

/** How often the metrics of an interval are written. */
const METRICS_INTERVAL_MS = 10_000;

/** The configuration, or exit 78 (EX_CONFIG) with the message naming the bad variable. */
function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(78);
  }
}

/** The process's Kinesis and DynamoDB clients, with as many sockets as calls may be in flight. */
function createClients(config: Config): { kinesis: KinesisClient; dynamo: DynamoDBDocumentClient } {
  const k = config.kinesis;
  const common = {
    region: config.region,
    maxSockets: (k.batching ? k.maxInFlight : 256) + 2,
    requestTimeoutMs: k.timeoutMs,
    // The batching publisher and the status store retry per item themselves; the unbatched path leaves it to the SDK.
    maxAttempts: k.batching ? 1 : 3,
  };
  return {
    kinesis: createKinesisClient({ ...common, endpoint: k.endpoint }),
    dynamo: createDynamoClient({ ...common, endpoint: config.status.endpoint }),
  };
}

/**
 * Writes the metrics every interval, and once more at exit (a crash must not take the last interval's with it;
 * stdout to a pipe or file is synchronous here). The spool's depth is reported always, 0 without a spool: the
 * SpoolNotEmpty alarm takes silence for a gateway that stopped reporting.
 * @returns stops the interval.
 */
function reportMetrics(metrics: Metrics, spooling: Publishing['spooling']): () => void {
  const timer = setInterval(() => {
    const s = spooling?.state();
    metrics.observe(GATEWAY_METRICS.spoolDepth, s?.depth ?? 0, 'Count');
    metrics.observe(GATEWAY_METRICS.spoolOldestAgeMs, s?.oldestAgeMs ?? 0, 'Milliseconds');
    metrics.flush();
  }, METRICS_INTERVAL_MS);
  timer.unref();
  process.on('exit', () => metrics.flush());
  return () => clearInterval(timer);
}

/** The app's stores and checks that talk to AWS or read keys; a bad key file fails start-up here, not the first request. */
function createStores(config: Config, dynamo: DynamoDBDocumentClient) {
  const k = config.kinesis;
  const fe = config.fieldEncryption;
  return {
    // Status writes batch 25 items at most (BatchWriteItem), records 500: the status store gets more calls in flight.
    statusStore: new StatusStore({ dynamo, tableName: config.status.tableName, batching: k.batching, maxInFlight: k.maxInFlight * 2, retry: k.retry }),
    // The lease must outlast the longest a first attempt can still be publishing (retries until the deadline, a
    // call in flight, the status wait), or a retry takes it over and publishes the same operation while it runs.
    idempotency: new IdempotencyStore({ dynamo, tableName: config.idempotency.tableName, leaseMs: Math.max(30_000, k.retry.deadlineMs + 2 * k.timeoutMs + 5_000) }),
    prepareRecord: fe.sensitiveFields.length > 0 ? createFieldEncryptor({ sensitiveFields: fe.sensitiveFields, keyring: keyringFor(fe) }) : undefined,
    verifyToken: createTokenVerifier({ ...config.auth, cacheSize: config.auth.tokenCacheSize }),
  };
}

/** The shutdown state the app reads: once draining, answers close their connections and /ready says 503. */
interface Lifecycle {
  draining: boolean;
}

/** `/ready`: the stream's readiness and the spool's state, or not ready once draining. */
function readiness(kinesis: KinesisClient, config: Config, spooling: Publishing['spooling'], life: Lifecycle): AppDeps['ready'] {
  const streamReady = streamReadiness(kinesis, config.kinesis.streamName);
  return async () => {
    const spool = spooling?.state();
    if (life.draining) return { ready: false, draining: true, spool };
    return { ...(await streamReady()), spool };
  };
}

/** Starts the HTTP server in front of the app. */
function listen(config: Config, app: ReturnType<typeof createApp>, logger: Logger, metrics: Metrics): Server {
  const http = createGatewayServer({
    fetch: app.fetch,
    budget: new BodyBudget(config.admission.bodyBudgetBytes),
    maxBodyBytes: MAX_RECORD_BYTES,
    logger,
    metrics,
  });
  // Longer than the load balancer's 60 s idle timeout, so the ALB, not the gateway, closes idle connections
  // (otherwise a request can race the close and get a 502).
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  http.listen(config.port, () => {
    const { port } = http.address() as AddressInfo;
    logger.info('gateway listening', { port, stream: config.kinesis.streamName, batching: config.kinesis.batching });
  });
  return http;
}

/**
 * Stops taking connections and lets requests in flight finish for up to HTTP_DRAIN_MS. Keep-alive connections
 * would hold `close()` open: answers now say `Connection: close`, idle sockets are closed as they go idle, and
 * whatever is left after the drain is cut.
 */
async function drainHttp(http: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  const idle = setInterval(() => http.closeIdleConnections(), 100);
  http.closeIdleConnections();
  const drained = await withTimeout(closed, HTTP_DRAIN_MS);
  clearInterval(idle);
  if (drained === TIMED_OUT) http.closeAllConnections();
}

interface Running {
  config: Config;
  logger: Logger;
  http: Server;
  publishing: Publishing;
  statusStore: StatusStore;
  metrics: Metrics;
  stopMetrics: () => void;
}

/**
 * SIGTERM and SIGINT drain: the HTTP server, then what is batched, then the spool within SPOOL_DRAIN_MS; what
 * cannot drain stays on disk for the next start. Both budgets stay inside the ECS stop timeout (common/shutdownBudget.ts).
 */
function stopOnSignals(r: Running, life: Lifecycle): void {
  const shutdown = async (signal: string) => {
    if (life.draining) return;
    life.draining = true;
    r.logger.info('draining', { signal });
    await drainHttp(r.http);
    const { publisher, spooling } = r.publishing;
    await Promise.all([spooling ? spooling.close(r.config.spool.drainMs) : publisher.close(), r.statusStore.close()]);
    r.stopMetrics();
    r.metrics.flush();
    r.logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The gateway's entry: config -> real clients -> createApp -> serve; SIGTERM drains. */
async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, bindings: { service: METRICS_SERVICE.gateway } });
  const { kinesis, dynamo } = createClients(config);
  if (config.kinesis.createStream) {
    await ensureStream(kinesis, config.kinesis.streamName, config.kinesis.shardCount);
    logger.info('stream ready', { stream: config.kinesis.streamName });
  }
  const metrics = new Metrics({ namespace: config.metricsNamespace, defaultDimensions: { service: METRICS_SERVICE.gateway } });
  const publishing = await createPublisher({ kinesis, kinesisConfig: config.kinesis, spoolConfig: config.spool, logger, metrics });
  const stopMetrics = reportMetrics(metrics, publishing.spooling);
  const stores = createStores(config, dynamo);
  const life: Lifecycle = { draining: false };
  const app = createApp({
    ...stores,
    publisher: publishing.publisher,
    logger,
    metrics,
    statusRetentionSeconds: config.status.retentionSeconds,
    maxStatusWaiting: config.status.maxWaiting,
    draining: () => life.draining,
    ready: readiness(kinesis, config, publishing.spooling, life),
  });
  const http = listen(config, app, logger, metrics);
  stopOnSignals({ config, logger, http, publishing, statusStore: stores.statusStore, metrics, stopMetrics }, life);
}

main().catch((e: unknown) => {
  process.stderr.write(`gateway failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
