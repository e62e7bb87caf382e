import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';
import { createDynamoClient } from '../../common/awsClients';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureTables } from '../../local/provision';

/** What a consumer suite gets: dynalite with the two tables, its client, and the lines the handler logged. */
export interface ConsumerTables {
  readonly emulators: Emulators;
  readonly dynamo: DynamoDBDocumentClient;
  /** The JSON lines Logger and Metrics wrote to stdout and stderr during the current test. */
  readonly output: string[];
}

/**
 * Registers a suite's set-up: the emulators with a status and a resources table, and, per test, a capture of
 * stdout and stderr (kept for assertions, out of the test output). The object is filled in before the first test.
 */
export function useConsumerTables(tables: { statusTable: string; resourcesTable: string }): ConsumerTables {
  const fx = { output: [] as string[] } as { emulators: Emulators; dynamo: DynamoDBDocumentClient; output: string[] };
  beforeAll(async () => {
    fx.emulators = await startEmulators();
    fx.dynamo = createDynamoClient({ region: 'us-east-1', endpoint: fx.emulators.dynamoEndpoint });
    // The document client sends table commands unchanged through the same stack.
    await ensureTables(fx.dynamo as unknown as DynamoDBClient, tables);
  });
  afterAll(async () => {
    fx.dynamo?.destroy();
    await fx.emulators?.close();
  });
  beforeEach(() => {
    fx.output = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        fx.output.push(...String(chunk).split('\n').filter(Boolean));
        return true;
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return {
    get emulators() { return fx.emulators; },
    get dynamo() { return fx.dynamo; },
    get output() { return fx.output; },
  };
}
