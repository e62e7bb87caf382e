import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { unlimited, type Limiter } from './createLimiter';

/** BatchGetItem's limit of keys per call. */
const KEYS_PER_CALL = 100;
/** Rounds of re-asking for keys DynamoDB left unprocessed (throttling, or the 16 MB answer limit). */
const MAX_ROUNDS = 6;

/** DynamoDB left keys unprocessed through every round: transient, the batch is retried. */
export class UnprocessedKeysError extends Error {
  override readonly name = 'UnprocessedKeysError';
  readonly code = 'UNPROCESSED_KEYS';
}

/**
 * Every item of `table` with one of `keys`, by BatchGetItem with consistent reads, 100 keys a call, the calls
 * concurrent, each in a slot of `limit`; keys DynamoDB leaves unprocessed are asked again with a short backoff
 * (outside any slot). Missing items are absent. Optionally only `attributes` of each item.
 */
export async function readAllKeys(
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  attributes?: readonly string[],
  limit: Limiter = unlimited,
): Promise<Record<string, unknown>[]> {
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_CALL) chunks.push(keys.slice(i, i + KEYS_PER_CALL));
  const pages = await Promise.all(chunks.map((chunk) => readChunk(client, table, chunk, attributes, limit)));
  return pages.flat();
}

async function readChunk(
  client: DynamoDBDocumentClient,
  table: string,
  keys: Record<string, unknown>[],
  attributes: readonly string[] | undefined,
  limit: Limiter,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  const projection = attributes?.length
    ? { ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', '), ExpressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a])) }
    : {};
  let pending = keys;
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_ROUNDS) throw new UnprocessedKeysError(`${pending.length} keys of ${table} stayed unprocessed`);
    if (round > 0) await sleep(25 * 2 ** round);
    const out = await limit(() => client.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true, ...projection } } })));
    found.push(...((out.Responses?.[table] ?? []) as Record<string, unknown>[]));
    pending = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
  }
  return found;
}
