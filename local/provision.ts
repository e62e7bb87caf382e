import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException as TableNotFound,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { RESOURCES_TABLE_KEY, STATUS_TABLE_KEY } from '../common/tables';

export { ensureStream } from '../app/src/publish/ensureStream';

async function ensureTable(dynamo: DynamoDBClient, input: ConstructorParameters<typeof CreateTableCommand>[0]) {
  try {
    await dynamo.send(new DescribeTableCommand({ TableName: input.TableName }));
    return;
  } catch (e) {
    if (!(e instanceof TableNotFound) && (e as Error).name !== 'ResourceNotFoundException') throw e;
  }
  await dynamo.send(new CreateTableCommand(input));
  for (let i = 0; i < 100; i++) {
    const d = await dynamo.send(new DescribeTableCommand({ TableName: input.TableName }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
    await sleep(50);
  }
  throw new Error(`table ${input.TableName} did not become ACTIVE`);
}

/** Creates the status and resources tables if missing. Local use only (dynalite has no UpdateTimeToLive). */
export async function ensureTables(
  dynamo: DynamoDBClient,
  names: { statusTable: string; resourcesTable?: string },
): Promise<void> {
  await ensureTable(dynamo, {
    TableName: names.statusTable,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: STATUS_TABLE_KEY.partitionKey, AttributeType: 'S' },
      { AttributeName: STATUS_TABLE_KEY.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: STATUS_TABLE_KEY.partitionKey, KeyType: 'HASH' },
      { AttributeName: STATUS_TABLE_KEY.sortKey, KeyType: 'RANGE' },
    ],
  });
  if (names.resourcesTable) {
    await ensureTable(dynamo, {
      TableName: names.resourcesTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: RESOURCES_TABLE_KEY.partitionKey, AttributeType: 'S' },
        { AttributeName: RESOURCES_TABLE_KEY.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: RESOURCES_TABLE_KEY.partitionKey, KeyType: 'HASH' },
        { AttributeName: RESOURCES_TABLE_KEY.sortKey, KeyType: 'RANGE' },
      ],
    });
  }
}
