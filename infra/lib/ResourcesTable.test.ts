import { Template } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { testStack } from '../test/synth';
import { ResourcesTable } from './ResourcesTable';

describe('ResourcesTable', () => {
  const stack = testStack();
  new ResourcesTable(stack, 'Resources');
  const template = Template.fromStack(stack);

  it('is keyed by pk and resourceId', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'resourceId', KeyType: 'RANGE' },
      ],
    });
  });

  it('bills on demand, is encrypted at rest and keeps point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('expires tombstones of deleted resources through the expiresAt TTL attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('is retained when it leaves the stack', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});
