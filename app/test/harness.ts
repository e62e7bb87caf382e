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
import { DocumentedResponses, type OpenApiDocument } from './documentedResponses';

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
  idempotencyTable: string;
  resourcesTable: string;
  logs: string[];
  logger: Logger;
  /**
   * Builds a gateway app on the harness' emulators; `publisher` replaces the real one (e.g. a fault double).
   * Its `request` checks every answer against the app's OpenAPI document and throws on an undocumented one.
   */
  app(overrides?: Partial<AppDeps>): ReturnType<typeof createApp>;
  statusStore: StatusStore;
  token(permissions: string[], sub?: string): Promise<string>;
  records(): Promise<StreamRecord[]>;
  close(): Promise<void>;
}

let counter = 0;

type App = ReturnType<typeof createApp>;

/**
 * `app` whose `request` checks each answer against the document the app serves (documentedResponses.ts), so
 * every app test is also a test of the document: an undocumented status, header or body fails it.
 */
export function documented(app: App): App {
  const request = app.request;
  let guard: Promise<DocumentedResponses> | undefined;
  app.request = (async (input: Parameters<App['request']>[0], init?: RequestInit, ...rest: unknown[]) => {
    const res = await (request as (...a: unknown[]) => Promise<Response>)(input, init, ...rest);
    guard ??= Promise.resolve(request('/openapi.json')).then(async (r) => new DocumentedResponses((await r.json()) as OpenApiDocument));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = typeof input === 'string' ? input : input instanceof Request ? input.url : input.toString();
    const problems = await (await guard).problems(method, url, res.clone());
    if (problems.length > 0) throw new Error(`an answer the OpenAPI document does not describe:\n${problems.join('\n')}`);
    return res;
  }) as App['request'];
  return app;
}

/** Starts in-process kinesalite and dynalite, a fresh stream (2 shards) and tables, and a debug logger capturing lines. */
export async function startHarness(): Promise<Harness> {
  const emulators = await startEmulators();
  const suffix = `${process.pid}-${++counter}`;
  const streamName = `ops-${suffix}`;
  const statusTable = `status-${suffix}`;
  const idempotencyTable = `idempotency-${suffix}`;
  const resourcesTable = `resources-${suffix}`;
  const kinesis = createKinesisClient({ region: REGION, endpoint: emulators.kinesisEndpoint, maxAttempts: 1 });
  const dynamo = createDynamoClient({ region: REGION, endpoint: emulators.dynamoEndpoint, maxAttempts: 1 });
  await ensureStream(kinesis, streamName, 2);
  await ensureTables(dynamo, { statusTable, idempotencyTable, resourcesTable });
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
    idempotencyTable,
    resourcesTable,
    logs,
    logger,
    statusStore,
    app(overrides = {}) {
      const publisher = overrides.publisher ?? new BatchPublisher({ kinesis, streamName, logger, retry: FAST_RETRY });
      publishers.push(publisher);
      return documented(
        createApp({
          verifyToken: createTokenVerifier({ secret: new TextEncoder().encode(TEST_SECRET) }),
          publisher,
          statusStore,
          logger,
          ready: async () => ({ ready: true }),
          statusRetentionSeconds: 3600,
          ...overrides,
        }),
      );
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
