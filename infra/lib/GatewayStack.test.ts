import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { synthGatewayStack } from '../test/synth';

const ALL_OPTIONS = {
  shardCount: 4,
  retentionHours: 48,
  alarmEmail: 'ops@example.com',
  jwtJwksUrl: 'https://issuer.example/.well-known/jwks.json',
  jwtIssuer: 'https://issuer.example/',
  jwtAudience: 'resource-gateway',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
  desiredCount: 3,
  spoolVolume: 'efs',
  sensitiveFields: ['patientName'],
} as const;

const configurations = [
  ['the defaults', synthGatewayStack()],
  ['every option set', synthGatewayStack({ ...ALL_OPTIONS, sensitiveFields: [...ALL_OPTIONS.sensitiveFields] })],
] as const;

describe('GatewayStack', () => {
  const [, { stack, template }] = configurations[0];

  it('outputs the gateway URL, the dashboard URL and the stream name', () => {
    template.hasOutput('GatewayUrl', {
      Value: { 'Fn::Join': ['', ['http://', stack.resolve(stack.gateway.service.loadBalancer.loadBalancerDnsName)]] },
    });
    template.hasOutput('DashboardUrl', { Value: Match.anyValue() });
    template.hasOutput('StreamName', { Value: stack.resolve(stack.operations.stream.streamName) });
  });

  it('keeps the tables\' logical ids, since a changed one replaces its table and every item in it', () => {
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table')).sort()).toEqual(['IdempotencyTable48612DF4', 'ResourcesTable26BAE828', 'StatusTable410D4755']);
  });

  it('outputs an https gateway URL when a certificate is given', () => {
    const [, https] = configurations[1];
    https.template.hasOutput('GatewayUrl', {
      Value: { 'Fn::Join': ['', ['https://', https.stack.resolve(https.stack.gateway.service.loadBalancer.loadBalancerDnsName)]] },
    });
  });

  it('outputs the JWT secret ARN only in secret mode', () => {
    template.hasOutput('JwtSecretArn', { Value: stack.resolve(stack.gateway.jwtSecret!.secretArn) });
    expect(configurations[1][1].template.findOutputs('JwtSecretArn')).toEqual({});
  });

  it.each(configurations)('grants no wildcard action in any IAM policy with %s', (_, { template: t }) => {
    const actions = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((s) => [s.Action].flat()),
    );
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it.each(configurations)('passes the cdk-nag AwsSolutions checks with %s, every exception acknowledged', (_, { stack: s }) => {
    const report = new AwsSolutionsChecks().validateScope(s);
    const findings = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });
});
