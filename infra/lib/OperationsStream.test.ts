import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { testStack } from '../test/synth';
import { OperationsStream, type OperationsStreamProps } from './OperationsStream';

function synth(props?: OperationsStreamProps) {
  const stack = testStack();
  const operations = new OperationsStream(stack, 'Operations', props);
  return { template: Template.fromStack(stack), operations, stack };
}

describe('OperationsStream', () => {
  const { template, operations, stack } = synth();

  it('encrypts the stream with its own customer-managed key', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: stack.resolve(operations.key.keyArn) },
    });
  });

  it('rotates the stream key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('is on-demand by default, with no shard count', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      ShardCount: Match.absent(),
    });
  });

  it('is provisioned with the given shard count', () => {
    synth({ shardCount: 4 }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 4,
    });
  });

  it('keeps records 24 hours by default and as long as asked otherwise', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', { RetentionPeriodHours: 24 });
    synth({ retention: Duration.hours(48) }).template.hasResourceProperties('AWS::Kinesis::Stream', {
      RetentionPeriodHours: 48,
    });
  });

  it('retains the stream and its key when they leave the stack', () => {
    template.hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('deletes them when asked to', () => {
    const destroyed = synth({ removalPolicy: RemovalPolicy.DESTROY }).template;
    destroyed.hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Delete' });
    destroyed.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });

  it.each([0, -1, 1.5])('refuses a shard count of %s', (shardCount) => {
    expect(() => synth({ shardCount })).toThrow(/shardCount must be a positive integer/);
  });
});
