import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { IDEMPOTENCY_TABLE_KEY } from '../../common/tables';
import { keyedTable, type KeyedTableProps } from './keyedTable';

export type IdempotencyTableProps = KeyedTableProps;

/**
 * The gateway's idempotency table: one item per caller and `Idempotency-Key`, keyed by `scopedKey`
 * (common/tables.ts), expired by DynamoDB TTL 24 hours after the key's first use.
 */
export class IdempotencyTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: IdempotencyTableProps = {}) {
    super(scope, id);
    this.table = keyedTable(this, IDEMPOTENCY_TABLE_KEY, props);
  }
}

/**
 * The idempotency table actions of the gateway's task role: claim a key (conditional PutItem), read it (GetItem),
 * complete, release or take over a claim (conditional UpdateItem), forget a refused one (conditional DeleteItem).
 */
export const IDEMPOTENCY_GATEWAY_ACTIONS = ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;
