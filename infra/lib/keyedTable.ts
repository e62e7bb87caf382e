import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TTL_ATTRIBUTE } from '../../common/tables';

export interface KeyedTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A table of this stack, keyed by string attributes as common/tables.ts names them: on-demand billing, encrypted
 * at rest with the AWS-managed key (AWS-owned keys would not show in the account; the AWS-managed key does, and
 * needs no key grants), point-in-time recovery on, items expired by TTL on `expiresAt`, retained by default.
 */
export function keyedTable(scope: Construct, key: { partitionKey: string; sortKey?: string }, props: KeyedTableProps = {}): dynamodb.Table {
  return new dynamodb.Table(scope, 'Table', {
    partitionKey: { name: key.partitionKey, type: dynamodb.AttributeType.STRING },
    ...(key.sortKey ? { sortKey: { name: key.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
    timeToLiveAttribute: TTL_ATTRIBUTE,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
}
