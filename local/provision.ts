import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isResourceNotFound } from '../common/awsErrors';
import { RESOURCES_TABLE_KEY, STATUS_TABLE_KEY } from '../common/tables';
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

/** A pay-per-request table keyed by two string attributes, as both of ours are (infra's tables are checked against it). */
export function tableInput(name: string, key: { partitionKey: string; sortKey: string }) {
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: key.partitionKey, AttributeType: 'S' as const },
      { AttributeName: key.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: key.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: key.sortKey, KeyType: 'RANGE' as const },
    ],
  };
}

/** Creates the status and resources tables if missing. Local use only (dynalite has no UpdateTimeToLive). */
export async function ensureTables(
  dynamo: DynamoDBClient,
  names: { statusTable: string; resourcesTable?: string },
): Promise<void> {
  await ensureTable(dynamo, tableInput(names.statusTable, STATUS_TABLE_KEY));
  if (names.resourcesTable) await ensureTable(dynamo, tableInput(names.resourcesTable, RESOURCES_TABLE_KEY));
}
