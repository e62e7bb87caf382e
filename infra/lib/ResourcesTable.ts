import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { RESOURCES_TABLE_KEY } from '../../common/tables';
import { STATUS_TTL_ATTRIBUTE } from '../../contract/status';

export interface ResourcesTableProps {
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The consumer stub's resources table: one item per resource, partitioned by business, location and type.
 * On-demand billing, encrypted at rest, point-in-time recovery on; deleted resources' tombstones expire
 * through the TTL attribute the consumer sets on them.
 */
export class ResourcesTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ResourcesTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: RESOURCES_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: RESOURCES_TABLE_KEY.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: STATUS_TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}

/**
 * The resources table actions of the consumer's role (read a batch's resources or one, list a partition,
 * conditional PutItem); nothing else may use the table.
 */
export const RESOURCES_CONSUMER_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'] as const;
