import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RESOURCES_CONSUMER_ACTIONS } from './ResourcesTable';
import { STATUS_CONSUMER_ACTIONS } from './StatusTable';
import type { FieldEncryptionKey } from './FieldEncryptionKey';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ConsumerStubProps {
  /** The stream the consumer reads; read access (and decrypt on its key) is granted. */
  readonly stream: kinesis.IStream;
  /** The status table the consumer completes or fails requests in. */
  readonly statusTable: dynamodb.ITable;
  /** The table the stub applies operations to. */
  readonly resourcesTable: dynamodb.ITable;
  /** The key of encrypted fields; the consumer may only decrypt with it. */
  readonly fieldEncryptionKey: FieldEncryptionKey;
  /**
   * How long the stream keeps records. Records older than half of it go to the on-failure queue, leaving the
   * other half for an operator to re-read them from the stream.
   * @default Duration.hours(24)
   */
  readonly streamRetention?: Duration;
  /**
   * Records per invocation (1 to 10,000).
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Concurrent batches per shard (1 to 10); order per partition key is kept at any value.
   * @default 1
   */
  readonly parallelizationFactor?: number;
  /**
   * Retries of a failing batch (after bisection) before its records go to the on-failure queue. The handler
   * settles poison records and business failures itself, so what fails here is transient (throttling, a KMS or
   * DynamoDB outage, a timeout): by default the record age, not a count, ends the retries.
   * @default 10000 (Lambda's maximum)
   */
  readonly retryAttempts?: number;
  /**
   * Days a status item is kept (written into the item's TTL attribute).
   * @default 7
   */
  readonly statusRetentionDays?: number;
  /**
   * CloudWatch namespace of the consumer's embedded-format metrics.
   * @default 'ResourceGateway'
   */
  readonly metricsNamespace?: string;
  /**
   * Powertools log level.
   * @default 'INFO'
   */
  readonly logLevel?: string;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The handler's source file (exporting `handler`).
   * @default consumer-stub/src/handler.ts of this repository
   */
  readonly entry?: string;
}

/**
 * The consumer stub: a Lambda function behind a Kinesis event source mapping that reads from the oldest
 * record, reports per-record failures, bisects failing batches, retries a bounded number of times and then
 * sends the failed batch's description to an encrypted SQS queue.
 */
export class ConsumerStub extends Construct {
  public readonly function: nodejs.NodejsFunction;
  /** Where batches that exhausted their retries (or aged out) are described, for an operator to replay. */
  public readonly onFailureQueue: sqs.Queue;
  public readonly eventSource: KinesisEventSource;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ConsumerStubProps) {
    super(scope, id);
    const retention = props.streamRetention ?? Duration.hours(24);

    this.onFailureQueue = new sqs.Queue(this, 'OnFailureQueue', {
      // SQS-managed keys: the messages are batch descriptions (shard, sequence numbers), not the records.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.onFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the last stop of failed batches (the event source on-failure destination); nothing consumes it but an operator.',
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    // An own role, so the function gets log-write on its group only instead of a managed policy on all groups.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry ?? `${REPO_ROOT}consumer-stub/src/handler.ts`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      // A batch of 100 records is a few hundred DynamoDB calls; a minute leaves room for throttling retries.
      timeout: Duration.minutes(1),
      role,
      logGroup: this.logGroup,
      environment: {
        RESOURCES_TABLE_NAME: props.resourcesTable.tableName,
        STATUS_TABLE_NAME: props.statusTable.tableName,
        STATUS_RETENTION_DAYS: String(props.statusRetentionDays ?? 7),
        FIELD_ENCRYPTION_KEY_ARN: props.fieldEncryptionKey.key.keyArn,
        POWERTOOLS_SERVICE_NAME: 'consumer',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'ResourceGateway',
        // Stack traces point into the TypeScript sources of the bundle.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        target: 'node22',
        minify: true,
        sourceMap: true,
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to Node.js 22, the runtime the gateway image and the local stack use; they move to a new major together.',
    });

    this.eventSource = new KinesisEventSource(props.stream, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      parallelizationFactor: props.parallelizationFactor ?? 1,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      // Bounded, but by age: only transient failures reach the event source (the handler settles poison records),
      // and five quick retries would give up on a few minutes of throttling and lose the records behind it.
      retryAttempts: props.retryAttempts ?? 10_000,
      // Half the retention, capped by Lambda's 7-day limit: the rest is the operator's window to re-read it.
      maxRecordAge: Duration.seconds(Math.min(retention.toSeconds() / 2, Duration.days(7).toSeconds())),
      onFailure: new SqsDlq(this.onFailureQueue),
    });
    this.function.addEventSource(this.eventSource);

    // Only what the handler calls: a compromised or buggy consumer cannot delete resources or the gateway's items.
    props.statusTable.grant(this.function, ...STATUS_CONSUMER_ACTIONS);
    props.resourcesTable.grant(this.function, ...RESOURCES_CONSUMER_ACTIONS);
    props.fieldEncryptionKey.grantDecrypt(this.function);
  }
}
