import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { STATUS_TABLE_KEY } from '../../common/tables';
import { keyedTable, type KeyedTableProps } from './keyedTable';

export type StatusTableProps = KeyedTableProps;

/**
 * The status table: each operation's `accepted` item (gateway) and `outcome` item (consumer), keyed by requestId
 * and kind (common/tables.ts), expired by DynamoDB TTL.
 */
export class StatusTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StatusTableProps = {}) {
    super(scope, id);
    this.table = keyedTable(this, STATUS_TABLE_KEY, props);
  }
}

/**
 * The status table actions of the gateway's task role: batch-write `accepted` items (PutItem with batching
 * off) and read a status (Query).
 */
export const STATUS_GATEWAY_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query'] as const;
/**
 * The status table actions of the consumer's role: read a batch's outcomes (BatchGetItem) or one (GetItem), write
 * them in bulk (BatchWriteItem) or once where the first must win (conditional PutItem).
 */
export const STATUS_CONSUMER_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'] as const;
