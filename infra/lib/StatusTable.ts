import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { STATUS_TABLE_KEY } from '../../common/tables';
import { STATUS_TTL_ATTRIBUTE } from '../../contract/status';

export interface StatusTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The status table: items keyed by requestId and kind (see common/tables.ts), written by the gateway and the
 * consumer, expired by DynamoDB TTL.
 * On-demand billing, encrypted at rest, point-in-time recovery on.
 */
export class StatusTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StatusTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: STATUS_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      // Each requestId has an `accepted` item (gateway), an `outcome` item (consumer) and maybe an idempotency item.
      sortKey: { name: STATUS_TABLE_KEY.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: STATUS_TTL_ATTRIBUTE,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // AWS-owned keys would not show in the account; the AWS-managed key does, and needs no key grants.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}

/**
 * The status table actions of the gateway's task role: batch-write `accepted` items (PutItem with batching
 * off), read a status (Query), keep idempotency records (conditional Put, Get, Update, Delete).
 */
export const STATUS_GATEWAY_ACTIONS = [
  'dynamodb:BatchWriteItem',
  'dynamodb:PutItem',
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
] as const;
/**
 * The status table actions of the consumer's role: read a batch's outcomes (BatchGetItem) or one (GetItem), write
 * them in bulk (BatchWriteItem) or once where the first must win (conditional PutItem).
 */
export const STATUS_CONSUMER_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'] as const;
