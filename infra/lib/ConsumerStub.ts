import { fileURLToPath } from 'node:url';
import { Duration, Names, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KinesisConsumerEventSource, KinesisEventSource, SqsDlq, type KinesisEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE, METRICS_SERVICE } from '../../common/metricNames';
import { CONSUMER_SETTINGS, maxBatchSizeFor, timeoutSecondsFor } from '../../consumer-stub/src/eventSourceSettings';
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
   * Records per invocation, at most `maxBatchSizeFor()` (the function timeout grows with it).
   * @default CONSUMER_SETTINGS.batchSize
   */
  readonly batchSize?: number;
  /**
   * Concurrent batches per shard (1 to 10); order per partition key is kept at any value.
   * @default CONSUMER_SETTINGS.parallelizationFactor
   */
  readonly parallelizationFactor?: number;
  /**
   * Read through an enhanced fan-out consumer of its own: records pushed over HTTP/2 (about 70 ms from put
   * to read instead of about 200 ms to 1 s polling), with 2 MB/s per shard that no other reader shares.
   * @default false
   */
  readonly fanOut?: boolean;
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
   * @default DEFAULT_METRICS_NAMESPACE
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
 * The consumer stub: a Lambda function behind a Kinesis event source mapping (on the stream, or on an enhanced
 * fan-out consumer of it) that reads from the oldest record, reports per-record failures, bisects failing
 * batches, retries transient failures until a record is half the retention old and then sends the failed
 * batch's description to an encrypted SQS queue. Its settings come from consumer-stub/src/eventSourceSettings.ts.
 */
export class ConsumerStub extends Construct {
  public readonly function: nodejs.NodejsFunction;
  /** Where batches that exhausted their retries (or aged out) are described, for an operator to replay. */
  public readonly onFailureQueue: sqs.Queue;
  public readonly eventSource: KinesisEventSource | KinesisConsumerEventSource;
  /** The enhanced fan-out consumer, when `fanOut` is set. */
  public readonly streamConsumer?: kinesis.StreamConsumer;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ConsumerStubProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? CONSUMER_SETTINGS.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > maxBatchSizeFor()) {
      throw new Error(`ConsumerStub: batchSize must be an integer from 1 to ${maxBatchSizeFor()}, got ${batchSize}`);
    }
    this.onFailureQueue = this.#buildOnFailureQueue();
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    this.function = this.#buildFunction(props, batchSize);
    if (props.fanOut) {
      this.streamConsumer = new kinesis.StreamConsumer(this, 'FanOut', {
        stream: props.stream,
        streamConsumerName: Names.uniqueResourceName(this, { maxLength: 128 }),
      });
    }
    this.eventSource = this.#buildEventSource(props, batchSize);
    this.function.addEventSource(this.eventSource);

    // Only what the handler calls: a compromised or buggy consumer cannot delete resources or the gateway's items.
    props.statusTable.grant(this.function, ...STATUS_CONSUMER_ACTIONS);
    props.resourcesTable.grant(this.function, ...RESOURCES_CONSUMER_ACTIONS);
    props.fieldEncryptionKey.grantDecrypt(this.function);
  }

  #buildOnFailureQueue(): sqs.Queue {
    const queue = new sqs.Queue(this, 'OnFailureQueue', {
      // SQS-managed keys: the messages are batch descriptions (shard, sequence numbers), not the records.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the last stop of failed batches (the event source on-failure destination); nothing consumes it but an operator.',
    });
    return queue;
  }

  #buildFunction(props: ConsumerStubProps, batchSize: number): nodejs.NodejsFunction {
    // An own role, so the function gets log-write on its group only instead of a managed policy on all groups.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(role);
    const fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry ?? `${REPO_ROOT}consumer-stub/src/handler.ts`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: CONSUMER_SETTINGS.memoryMb,
      // Long enough for a full batch in the worst case the handler still completes (throttled retries included).
      timeout: Duration.seconds(timeoutSecondsFor(batchSize)),
      role,
      logGroup: this.logGroup,
      environment: {
        RESOURCES_TABLE_NAME: props.resourcesTable.tableName,
        STATUS_TABLE_NAME: props.statusTable.tableName,
        STATUS_RETENTION_DAYS: String(props.statusRetentionDays ?? 7),
        FIELD_ENCRYPTION_KEY_ARN: props.fieldEncryptionKey.key.keyArn,
        POWERTOOLS_SERVICE_NAME: METRICS_SERVICE.consumer,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
        // Stack traces point into the TypeScript sources of the bundle.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Nothing external: the AWS SDK and Smithy versions of package-lock.json, the ones the tests ran
        // against, are bundled, rather than whatever the Lambda runtime ships (options such as
        // throwOnRequestTimeout behave by version).
        externalModules: [],
      },
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to Node.js 22, the runtime the gateway image and the local stack use; they move to a new major together.',
    });
    return fn;
  }

  #buildEventSource(props: ConsumerStubProps, batchSize: number): KinesisEventSource | KinesisConsumerEventSource {
    const retention = props.streamRetention ?? Duration.hours(24);
    const settings: KinesisEventSourceProps = {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize,
      maxBatchingWindow: Duration.seconds(CONSUMER_SETTINGS.maxBatchingWindowSeconds),
      parallelizationFactor: props.parallelizationFactor ?? CONSUMER_SETTINGS.parallelizationFactor,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      // Bounded, but by age: only transient failures reach the event source (the handler settles poison records),
      // and five quick retries would give up on a few minutes of throttling and lose the records behind it.
      retryAttempts: props.retryAttempts ?? 10_000,
      // Half the retention, capped by Lambda's 7-day limit: the rest is the operator's window to re-read it.
      maxRecordAge: Duration.seconds(Math.min(retention.toSeconds() / 2, Duration.days(7).toSeconds())),
      onFailure: new SqsDlq(this.onFailureQueue),
    };
    return this.streamConsumer
      ? new KinesisConsumerEventSource(this.streamConsumer, settings)
      : new KinesisEventSource(props.stream, settings);
  }
}
