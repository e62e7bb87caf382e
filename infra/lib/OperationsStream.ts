import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface OperationsStreamProps {
  /**
   * Number of shards of a provisioned stream; `'on-demand'` lets Kinesis scale the shards itself.
   * @default 'on-demand'
   */
  readonly shardCount?: number | 'on-demand';
  /**
   * How long records stay readable on the stream (24 hours to 365 days).
   * @default Duration.hours(24)
   */
  readonly retention?: Duration;
  /**
   * What happens to the stream and its key when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Kinesis stream that carries resource operations from the gateway to the consumer, encrypted at rest
 * with a customer-managed KMS key that rotates yearly.
 */
export class OperationsStream extends Construct {
  public readonly stream: kinesis.Stream;
  /** The customer-managed key the stream is encrypted with. */
  public readonly key: kms.Key;
  /** How long records stay on the stream. */
  public readonly retention: Duration;

  constructor(scope: Construct, id: string, props: OperationsStreamProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const shardCount = props.shardCount ?? 'on-demand';
    if (shardCount !== 'on-demand' && (!Number.isInteger(shardCount) || shardCount < 1)) {
      throw new Error(`OperationsStream: shardCount must be a positive integer or 'on-demand', got ${shardCount}`);
    }
    this.retention = props.retention ?? Duration.hours(24);

    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the resource operations stream at rest',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.stream = new kinesis.Stream(this, 'Stream', {
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: this.key,
      retentionPeriod: this.retention,
      ...(shardCount === 'on-demand'
        ? { streamMode: kinesis.StreamMode.ON_DEMAND }
        : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount }),
      removalPolicy,
    });
    Validations.of(this.stream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason: 'A customer-managed key is required: its policy, not the account-wide aws/kinesis key, decides who can read operations.',
    });
  }
}
