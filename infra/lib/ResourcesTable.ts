import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { RESOURCES_TABLE_KEY } from '../../common/tables';
import { keyedTable, type KeyedTableProps } from './keyedTable';

export type ResourcesTableProps = KeyedTableProps;

/**
 * The consumer stub's resources table: one item per resource, partitioned by business, location and type;
 * deleted resources' tombstones expire through the TTL attribute the consumer sets on them.
 */
export class ResourcesTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ResourcesTableProps = {}) {
    super(scope, id);
    this.table = keyedTable(this, RESOURCES_TABLE_KEY, props);
  }
}

/**
 * The resources table actions of the consumer's role (read a batch's resources or one, list a partition,
 * conditional PutItem); nothing else may use the table.
 */
export const RESOURCES_CONSUMER_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'] as const;
