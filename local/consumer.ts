/**
 * The local consumer process: the consumer stub's handler behind an emulation of Lambda's Kinesis event
 * source mapping. The launcher (local/start.ts) spawns it; `tsx local/consumer.ts` runs it alone.
 *
 * Environment: KINESIS_ENDPOINT, DYNAMODB_ENDPOINT (required); KINESIS_STREAM_NAME (resources-operations);
 * STATUS_TABLE_NAME (operation-status); RESOURCES_TABLE_NAME (resources); STATUS_RETENTION_DAYS (7);
 * DATA_DIR (.data); AWS_REGION (us-east-1); LOG_LEVEL (info); and the event source's settings, whose defaults
 * are the deployed mapping's (consumer-stub/src/eventSourceSettings.ts, infra/lib/ConsumerStub.ts):
 * - CONSUMER_BATCH_SIZE (CONSUMER_SETTINGS.batchSize): records per invocation at most;
 * - CONSUMER_BATCHING_WINDOW_SECONDS (CONSUMER_SETTINGS.maxBatchingWindowSeconds): how long records may wait
 *   for a batch to fill;
 * - CONSUMER_MAX_RETRIES (10000): retries of a failing record before it is dead-lettered;
 * - CONSUMER_MAX_RECORD_AGE_SECONDS (half the stream's retention, at most 604800): a failing or unread record
 *   older than this is dead-lettered;
 * - CONSUMER_POLL_INTERVAL_MS (1000): the pause of an idle shard between two reads (a backlog has none).
 * Dead-lettered records go to DATA_DIR/consumer/dead-letter.jsonl.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { join, resolve } from 'node:path';
import * as v from 'valibot';
import { createDynamoClient, createKinesisClient } from '../common/awsClients';
import { envInt, envNonEmpty, envUrl, parseEnv } from '../common/env';
import { LOCAL_DEFAULTS } from '../common/localDefaults';
import { waitUntilActive } from '../common/waitUntilActive';
import { readConfig } from '../consumer-stub/src/config';
import { createHandlerFromConfig } from '../consumer-stub/src/createHandlerFromConfig';
import { CONSUMER_SETTINGS } from '../consumer-stub/src/eventSourceSettings';
import { EventSourceMapping } from './eventSourceMapping';
import { ensureTables } from './provision';
import { MAX_RECORD_AGE_SECONDS, MAX_RETRY_ATTEMPTS } from './retryPolicy';

const int = (min: number, max: number, fallback?: number) => (fallback === undefined ? v.optional(envInt(min, max)) : v.optional(envInt(min, max), String(fallback)));

const EnvSchema = v.object({
  KINESIS_ENDPOINT: envUrl,
  DYNAMODB_ENDPOINT: envUrl,
  KINESIS_STREAM_NAME: v.optional(envNonEmpty, LOCAL_DEFAULTS.streamName),
  DATA_DIR: v.optional(envNonEmpty, LOCAL_DEFAULTS.dataDir),
  CONSUMER_BATCH_SIZE: int(1, 10_000, CONSUMER_SETTINGS.batchSize),
  CONSUMER_BATCHING_WINDOW_SECONDS: int(0, 300, CONSUMER_SETTINGS.maxBatchingWindowSeconds),
  CONSUMER_MAX_RETRIES: int(0, MAX_RETRY_ATTEMPTS, MAX_RETRY_ATTEMPTS),
  CONSUMER_MAX_RECORD_AGE_SECONDS: int(60, MAX_RECORD_AGE_SECONDS),
  CONSUMER_POLL_INTERVAL_MS: int(1, 60_000, 1000),
});

/** How long to wait for the stream the gateway side provisions. */
const STREAM_WAIT_MS = 120_000;

async function main(): Promise<void> {
  const env = parseEnv(EnvSchema, process.env, (m) => new Error(`invalid local consumer configuration: ${m}`));
  const config = readConfig({
    STATUS_TABLE_NAME: LOCAL_DEFAULTS.statusTableName,
    RESOURCES_TABLE_NAME: LOCAL_DEFAULTS.resourcesTableName,
    ...process.env,
  });
  const logger = new Logger({ serviceName: 'consumer', logLevel: config.logLevel });
  const dataDir = resolve(env.DATA_DIR);

  const dynamo = createDynamoClient({ region: config.region, endpoint: env.DYNAMODB_ENDPOINT });
  const kinesis = createKinesisClient({ region: config.region, endpoint: env.KINESIS_ENDPOINT });
  // The document client sends table commands unchanged through its DynamoDBClient's stack.
  await ensureTables(dynamo as unknown as DynamoDBClient, {
    statusTable: config.statusTableName,
    resourcesTable: config.resourcesTableName,
  });
  await waitForStream(kinesis, env.KINESIS_STREAM_NAME, logger);

  const mapping = new EventSourceMapping({
    kinesis,
    streamName: env.KINESIS_STREAM_NAME,
    handler: createHandlerFromConfig({ ...config, dynamoEndpoint: env.DYNAMODB_ENDPOINT }, { dynamo, logger }),
    batchSize: env.CONSUMER_BATCH_SIZE,
    maxBatchingWindowSeconds: env.CONSUMER_BATCHING_WINDOW_SECONDS,
    maxRetries: env.CONSUMER_MAX_RETRIES,
    maxRecordAgeSeconds: env.CONSUMER_MAX_RECORD_AGE_SECONDS,
    pollIntervalMs: env.CONSUMER_POLL_INTERVAL_MS,
    checkpointDir: join(dataDir, 'consumer', 'checkpoints', env.KINESIS_STREAM_NAME),
    deadLetterFile: join(dataDir, 'consumer', 'dead-letter.jsonl'),
    logger: logger.createChild({ serviceName: 'event-source-mapping' }),
    region: config.region,
  });
  await mapping.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    await mapping.stop();
    kinesis.destroy();
    dynamo.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

function waitForStream(kinesis: KinesisClient, streamName: string, logger: Logger): Promise<void> {
  return waitUntilActive(
    async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary?.StreamStatus,
    { what: `stream ${streamName}`, timeoutMs: STREAM_WAIT_MS, intervalMs: 250, onWaiting: () => logger.info('waiting for the stream', { streamName }) },
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`consumer failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
