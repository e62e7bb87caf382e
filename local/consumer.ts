/**
 * The local consumer process: the consumer stub's handler behind an emulation of Lambda's Kinesis event
 * source mapping. The launcher (local/start.ts) spawns it; `tsx local/consumer.ts` runs it alone.
 *
 * Environment: KINESIS_ENDPOINT, DYNAMODB_ENDPOINT (required); KINESIS_STREAM_NAME (resources-operations);
 * STATUS_TABLE_NAME (operation-status); RESOURCES_TABLE_NAME (resources); STATUS_RETENTION_DAYS (7);
 * DATA_DIR (.data); AWS_REGION (us-east-1); LOG_LEVEL (info); CONSUMER_BATCH_SIZE (100);
 * CONSUMER_MAX_RETRIES (3); CONSUMER_POLL_INTERVAL_MS (200).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as v from 'valibot';
import { createDynamoClient, createKinesisClient } from '../common/awsClients';
import { envInt, envUrl, parseEnv } from '../common/env';
import { readConfig } from '../consumer-stub/src/config';
import { createHandlerFromConfig } from '../consumer-stub/src/createHandlerFromConfig';
import { EventSourceMapping } from './eventSourceMapping';
import { ensureTables } from './provision';

const count = (fallback: string, max: number) => v.optional(envInt(1, max), fallback);

const EnvSchema = v.object({
  KINESIS_ENDPOINT: envUrl,
  DYNAMODB_ENDPOINT: envUrl,
  KINESIS_STREAM_NAME: v.optional(v.pipe(v.string(), v.minLength(1)), 'resources-operations'),
  DATA_DIR: v.optional(v.pipe(v.string(), v.minLength(1)), '.data'),
  CONSUMER_BATCH_SIZE: count('100', 10_000),
  CONSUMER_MAX_RETRIES: count('3', 10_000),
  CONSUMER_POLL_INTERVAL_MS: count('200', 60_000),
});

/** How long to wait for the stream the gateway side provisions. */
const STREAM_WAIT_MS = 120_000;

async function main(): Promise<void> {
  const env = parseEnv(EnvSchema, process.env, (m) => new Error(`invalid local consumer configuration: ${m}`));
  const config = readConfig({
    STATUS_TABLE_NAME: 'operation-status',
    RESOURCES_TABLE_NAME: 'resources',
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
    maxRetries: env.CONSUMER_MAX_RETRIES,
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

async function waitForStream(kinesis: ReturnType<typeof createKinesisClient>, streamName: string, logger: Logger) {
  const deadline = Date.now() + STREAM_WAIT_MS;
  let logged = false;
  for (;;) {
    try {
      const out = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      if (out.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    }
    if (Date.now() > deadline) throw new Error(`stream ${streamName} did not become ACTIVE within ${STREAM_WAIT_MS} ms`);
    if (!logged) logger.info('waiting for the stream', { streamName });
    logged = true;
    await sleep(250);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`consumer failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
