import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GatewayStack, type GatewayStackProps } from '../lib/GatewayStack';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

// One cloud assembly directory per test worker, removed when it exits (apps default to a new one each).
const outdir = mkdtempSync(join(tmpdir(), 'infra-test-'));
process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));

/**
 * An app with the feature flags of cdk.json (so tests see what `cdk synth` makes) that skips asset bundling
 * unless asked: the templates are the same, and tests stay fast.
 */
export function testApp(options: { outdir?: string; bundling?: boolean } = {}): App {
  const bundling = options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] };
  return new App({ outdir: options.outdir ?? outdir, context: { ...cdkJson.context, ...bundling } });
}

/** An empty stack in a test app, for testing one construct. */
export function testStack(): Stack {
  return new Stack(testApp(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

export interface SynthesizedGatewayStack {
  stack: GatewayStack;
  template: Template;
}

/** Synthesizes the whole stack with the given settings (into `app`, by default a new test app). */
export function synthGatewayStack(props: GatewayStackProps = {}, app: App = testApp()): SynthesizedGatewayStack {
  const stack = new GatewayStack(app, 'ResourceGateway', {
    env: { account: '123456789012', region: 'eu-west-1' },
    ...props,
  });
  return { stack, template: Template.fromStack(stack) };
}

/** The actions of every statement of the IAM policies attached to a role (by its logical id prefix). */
export function roleStatements(template: Template, roleLogicalId: string): Array<{ Action: unknown; Resource: unknown }> {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The logical id of the one resource of a type whose id starts with a prefix. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

