import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isResourceNotFound } from '../common/awsErrors';
import { IDEMPOTENCY_TABLE_KEY, RESOURCES_TABLE_KEY, STATUS_TABLE_KEY } from '../common/tables';
import { waitUntilActive } from '../common/waitUntilActive';

export { ensureStream } from '../app/src/publish/ensureStream';

async function ensureTable(dynamo: DynamoDBClient, input: ConstructorParameters<typeof CreateTableCommand>[0]) {
  const status = async () => (await dynamo.send(new DescribeTableCommand({ TableName: input.TableName }))).Table?.TableStatus;
  try {
    await status();
  } catch (e) {
    if (!isResourceNotFound(e)) throw e;
    await dynamo.send(new CreateTableCommand(input));
  }
  await waitUntilActive(status, { what: `table ${input.TableName}` });
}

/** A pay-per-request table keyed by string attributes, as all of ours are (infra's tables are checked against it). */
export function tableInput(name: string, key: { partitionKey: string; sortKey?: string }) {
  const attributes = key.sortKey ? [key.partitionKey, key.sortKey] : [key.partitionKey];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: attributes.map((a) => ({ AttributeName: a, AttributeType: 'S' as const })),
    KeySchema: attributes.map((a, i) => ({ AttributeName: a, KeyType: i === 0 ? ('HASH' as const) : ('RANGE' as const) })),
  };
}

/** The local tables by name; each one given is created if missing. */
export interface TableNames {
  statusTable: string;
  idempotencyTable?: string;
  resourcesTable?: string;
}

/** Creates the tables named in `names` if missing. Local use only (dynalite has no UpdateTimeToLive). */
export async function ensureTables(dynamo: DynamoDBClient, names: TableNames): Promise<void> {
  await ensureTable(dynamo, tableInput(names.statusTable, STATUS_TABLE_KEY));
  if (names.idempotencyTable) await ensureTable(dynamo, tableInput(names.idempotencyTable, IDEMPOTENCY_TABLE_KEY));
  if (names.resourcesTable) await ensureTable(dynamo, tableInput(names.resourcesTable, RESOURCES_TABLE_KEY));
}
