import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TABLE_KEY } from '../../common/tables';
import { tableInput } from '../../local/provision';
import { testStack } from '../test/synth';
import { IdempotencyTable } from './IdempotencyTable';

describe('IdempotencyTable', () => {
  const stack = testStack();
  new IdempotencyTable(stack, 'Idempotency');
  const template = Template.fromStack(stack);

  it('is keyed by scopedKey alone, as the code and the local stack key it, and expires items by expiresAt', () => {
    const local = tableInput('idempotency', IDEMPOTENCY_TABLE_KEY);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: local.KeySchema,
      AttributeDefinitions: local.AttributeDefinitions,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(local.KeySchema).toEqual([{ AttributeName: 'scopedKey', KeyType: 'HASH' }]);
  });

  it('bills on demand, is encrypted at rest and keeps point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('is retained when it leaves the stack', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});
