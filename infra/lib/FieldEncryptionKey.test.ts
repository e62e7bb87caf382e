import * as iam from 'aws-cdk-lib/aws-iam';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { roleStatements, testStack } from '../test/synth';
import { FieldEncryptionKey } from './FieldEncryptionKey';

describe('FieldEncryptionKey', () => {
  const stack = testStack();
  const fieldKey = new FieldEncryptionKey(stack, 'FieldKey');
  const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  fieldKey.grantEncrypt(producer);
  fieldKey.grantDecrypt(consumer);
  const template = Template.fromStack(stack);
  const keyArn = stack.resolve(fieldKey.key.keyArn);

  it('rotates and is retained when it leaves the stack', () => {
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
  });

  it('lets an encrypting grantee only generate data keys', () => {
    expect(roleStatements(template, stack.getLogicalId(producer.node.defaultChild as iam.CfnRole))).toEqual([
      { Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: keyArn },
    ]);
  });

  it('lets a decrypting grantee only decrypt', () => {
    expect(roleStatements(template, stack.getLogicalId(consumer.node.defaultChild as iam.CfnRole))).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn },
    ]);
  });
});
