import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient, createKinesisClient } from '../../common/awsClients';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureStream, ensureTables } from '../../local/provision';
import { signToken } from '../../local/signToken';
import { createApp, type AppDeps } from '../src/app';
import { createTokenVerifier } from '../src/auth/verifyToken';
import type { RetryConfig } from '../src/config';
import { createLogger, type Logger } from '../src/logger';
import { BatchPublisher } from '../src/publish/BatchPublisher';
import type { Publisher } from '../src/publish/Publisher';
import { StatusStore } from '../src/status/StatusStore';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';
export const REGION = 'us-east-1';
export const FAST_RETRY: RetryConfig = { baseMs: 5, capMs: 20, maxAttempts: 4, deadlineMs: 2000 };

/** A record read back from the stream. */
export interface StreamRecord {
  partitionKey: string;
  shardId: string;
  sequenceNumber: string;
  json: Record<string, unknown>;
  bytes: Buffer;
}

/** Every record on every shard of `streamName`, shard by shard, in sequence order. */
export async function readStream(kinesis: KinesisClient, streamName: string): Promise<StreamRecord[]> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
  const out: StreamRecord[] = [];
  for (const shard of shards) {
    let it = (
      await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (it) {
      const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      for (const rec of r.Records ?? []) {
        const bytes = Buffer.from(rec.Data!);
        out.push({ partitionKey: rec.PartitionKey!, shardId: shard.ShardId!, sequenceNumber: rec.SequenceNumber!, json: JSON.parse(bytes.toString('utf8')), bytes });
      }
      if ((r.Records ?? []).length === 0) break;
      it = r.NextShardIterator;
    }
  }
  return out;
}

export interface Harness {
  emulators: Emulators;
  kinesis: KinesisClient;
  dynamo: DynamoDBDocumentClient;
  streamName: string;
  statusTable: string;
  resourcesTable: string;
  logs: string[];
  logger: Logger;
  /** Builds a gateway app on the harness' emulators; `publisher` replaces the real one (e.g. a fault double). */
  app(overrides?: Partial<AppDeps>): ReturnType<typeof createApp>;
  statusStore: StatusStore;
  token(permissions: string[], sub?: string): Promise<string>;
  records(): Promise<StreamRecord[]>;
  close(): Promise<void>;
}

let counter = 0;

/** Starts in-process kinesalite and dynalite, a fresh stream (2 shards) and tables, and a debug logger capturing lines. */
export async function startHarness(): Promise<Harness> {
  const emulators = await startEmulators();
  const suffix = `${process.pid}-${++counter}`;
  const streamName = `ops-${suffix}`;
  const statusTable = `status-${suffix}`;
  const resourcesTable = `resources-${suffix}`;
  const kinesis = createKinesisClient({ region: REGION, endpoint: emulators.kinesisEndpoint, maxAttempts: 1 });
  const dynamo = createDynamoClient({ region: REGION, endpoint: emulators.dynamoEndpoint, maxAttempts: 1 });
  await ensureStream(kinesis, streamName, 2);
  await ensureTables(dynamo, { statusTable, resourcesTable });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (l) => logs.push(l) });
  const statusStore = new StatusStore({ dynamo, tableName: statusTable, retry: FAST_RETRY });
  const publishers: Publisher[] = [];
  return {
    emulators,
    kinesis,
    dynamo,
    streamName,
    statusTable,
    resourcesTable,
    logs,
    logger,
    statusStore,
    app(overrides = {}) {
      const publisher = overrides.publisher ?? new BatchPublisher({ kinesis, streamName, logger, retry: FAST_RETRY });
      publishers.push(publisher);
      return createApp({
        verifyToken: createTokenVerifier({ secret: new TextEncoder().encode(TEST_SECRET) }),
        publisher,
        statusStore,
        logger,
        ready: async () => ({ ready: true }),
        statusRetentionSeconds: 3600,
        ...overrides,
      });
    },
    token: (permissions, sub = 'alice') => signToken(TEST_SECRET, { sub, permissions }),
    records: () => readStream(kinesis, streamName),
    async close() {
      await Promise.all(publishers.map((p) => p.close()));
      await statusStore.close();
      kinesis.destroy();
      dynamo.destroy();
      await emulators.close();
    },
  };
}
