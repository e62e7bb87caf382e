import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { logicalId, roleStatements, synthGatewayStack, testStack } from '../test/synth';
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

describe('the field key in the whole stack', () => {
  const { stack, template } = synthGatewayStack();
  const keyId = stack.getLogicalId(stack.fieldKey.key.node.defaultChild as kms.CfnKey);

  /** Every role's actions on the field key, from every IAM policy of the stack (a `*` resource counts too). */
  function actionsOnFieldKey(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>) {
        const resources = JSON.stringify(st.Resource);
        const kmsActions = [st.Action].flat().filter((a) => a.startsWith('kms:') || a === '*');
        if (kmsActions.length === 0 || !(resources.includes(`"${keyId}"`) || resources === '"*"')) continue;
        for (const role of policy.Properties.Roles as Array<{ Ref: string }>) (out[role.Ref] ??= []).push(...kmsActions);
      }
    }
    return out;
  }

  it('lets the gateway only generate data keys and the consumer only decrypt, and no other role use it', () => {
    expect(actionsOnFieldKey()).toEqual({
      [logicalId(template, 'AWS::IAM::Role', 'GatewayTaskRole')]: ['kms:GenerateDataKey'],
      [logicalId(template, 'AWS::IAM::Role', 'ConsumerRole')]: ['kms:Decrypt'],
    });
  });

  it('has a key policy that only delegates to the account, so IAM grants alone decide who uses it', () => {
    expect(template.findResources('AWS::KMS::Key')[keyId]?.Properties.KeyPolicy.Statement).toEqual([
      { Action: 'kms:*', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Resource: '*' },
    ]);
  });
});
