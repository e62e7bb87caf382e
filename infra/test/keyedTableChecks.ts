import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { expect, it } from 'vitest';
import { tableInput } from '../../local/provision';
import { testStack } from './synth';

/**
 * The checks every table of the stack must pass (infra/lib/keyedTable.ts): keyed as the code and the local stack
 * key it, TTL on `expiresAt`, on-demand billing, encrypted at rest, point-in-time recovery, retained. Called
 * inside a table's `describe`; `keySchema` is the key spelled out, so a change of the shared key is seen too.
 */
export function itIsAKeyedTable(build: (stack: Stack) => void, key: { partitionKey: string; sortKey?: string }, keySchema: unknown[]): void {
  const stack = testStack();
  build(stack);
  const template = Template.fromStack(stack);

  it(`is keyed by ${keySchema.map((k) => (k as { AttributeName: string }).AttributeName).join(' and ')}, as the code and the local stack key it, and expires items by expiresAt`, () => {
    const local = tableInput('table', key);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: local.KeySchema,
      AttributeDefinitions: local.AttributeDefinitions,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(local.KeySchema).toEqual(keySchema);
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
}
