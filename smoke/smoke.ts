/**
 * `npm run smoke`: the post-deploy check of a gateway. It reads the stack's outputs (or takes --url and a token),
 * then checks, in order, stopping with a non-zero exit and a message naming the step at the first failure:
 * health, readiness, one operation accepted and followed to `completed`, a refused request that writes nothing,
 * and with --alarm-test one alarm set to ALARM and back to OK (the operator should get both e-mails).
 *
 * @example
 *   npm run smoke                                     # stack ResourceGateway in the default region, secret mode
 *   npm run smoke -- --url https://gw.example --token-command 'my-idp token --scope b:l:smoketest:*'
 *   npm run smoke -- --alarm-test
 */
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand, paginateListStackResources } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { signToken } from '../local/signToken';

/** A failed check; its message says what was expected and what came back. */
class SmokeError extends Error {
  override readonly name = 'SmokeError';
}

interface SmokeOptions {
  url: string;
  token: string;
  /** The tenant scope the token may write in. */
  businessId: string;
  locationId: string;
  resourceType: string;
  /** How long an operation may take to complete, in ms. */
  timeoutMs: number;
  log: (line: string) => void;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

const FORBIDDEN_BUSINESS = 'smoke-not-yours';

async function call(options: SmokeOptions, method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(new URL(path, options.url), {
    method,
    headers: {
      Authorization: `Bearer ${options.token}`,
      ...(init.body ? { 'Content-Type': 'application/json' } : {}),
      ...init.headers,
    },
    body: init.body,
    signal: AbortSignal.timeout(30_000),
  }).catch((e: unknown) => {
    throw new SmokeError(`${method} ${path}: no answer (${e instanceof Error ? (e.cause as Error | undefined)?.message ?? e.message : String(e)})`);
  });
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body };
}

function expectStatus(step: string, answer: Answer, status: number): void {
  if (answer.status !== status) {
    throw new SmokeError(`${step}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body ?? null).slice(0, 500)}`);
  }
}

function scopeHeaders(options: SmokeOptions, businessId = options.businessId): Record<string, string> {
  return { 'X-Business-ID': businessId, 'X-Location-ID': options.locationId, 'X-Resource-Type': options.resourceType };
}

/** Follows an operation to its outcome: long polls with `Prefer: wait` while the gateway applies it, else backs off. */
async function followToOutcome(options: SmokeOptions, requestId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 100;
  for (;;) {
    const answer = await call(options, 'GET', `/api/requests/${requestId}`, { headers: { Prefer: 'wait=10' } });
    expectStatus(`GET /api/requests/${requestId}`, answer, 200);
    const data = (answer.body?.data ?? {}) as Record<string, unknown>;
    if (data.status !== 'processing') return data;
    if (Date.now() > deadline) throw new SmokeError(`operation ${requestId} still processing after ${options.timeoutMs / 1000} s`);
    if (!answer.headers.get('preference-applied')) {
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }
}

async function checkHealth(options: SmokeOptions): Promise<void> {
  expectStatus('GET /health', await call(options, 'GET', '/health'), 200);
  options.log('ok   GET /health');
  expectStatus('GET /ready', await call(options, 'GET', '/ready'), 200);
  options.log('ok   GET /ready');
}

async function checkOperation(options: SmokeOptions, marker: string): Promise<void> {
  const path = `/api/resources/${options.businessId}-${options.locationId}`;
  const created = await call(options, 'POST', path, {
    headers: scopeHeaders(options),
    body: JSON.stringify({ data: { smokeRun: marker, note: 'written by npm run smoke' } }),
  });
  expectStatus(`POST ${path}`, created, 202);
  const requestId = (created.body?.data as { requestId?: string } | undefined)?.requestId;
  if (!requestId || created.headers.get('location') !== `/api/requests/${requestId}`) {
    throw new SmokeError(`POST ${path}: a 202 without a requestId and its Location (${JSON.stringify(created.body)})`);
  }
  options.log(`ok   POST ${path}: 202, requestId ${requestId}`);
  const outcome = await followToOutcome(options, requestId);
  if (outcome.status !== 'completed') {
    throw new SmokeError(`operation ${requestId} ended ${String(outcome.status)}: ${JSON.stringify(outcome.error ?? outcome)}`);
  }
  options.log(`ok   operation ${requestId} completed`);
}

/** A refused answer names no operation: no requestId in its body and no Location. */
function expectNothingAccepted(step: string, answer: Answer, status: number): void {
  expectStatus(step, answer, status);
  if (answer.headers.get('location') || JSON.stringify(answer.body ?? {}).includes('requestId')) {
    throw new SmokeError(`${step}: a refused request named an operation (${JSON.stringify(answer.body)})`);
  }
}

async function checkRefusals(options: SmokeOptions, marker: string): Promise<void> {
  const refusedMarker = `${marker}-refused`;
  const forbiddenPath = `/api/resources/${FORBIDDEN_BUSINESS}-${options.locationId}`;
  const forbidden = await call(options, 'POST', forbiddenPath, {
    headers: scopeHeaders(options, FORBIDDEN_BUSINESS),
    body: JSON.stringify({ data: { smokeRun: refusedMarker } }),
  });
  expectNothingAccepted(`POST ${forbiddenPath} (another tenant)`, forbidden, 403);
  options.log(`ok   POST ${forbiddenPath}: 403 for another tenant, no operation`);

  const path = `/api/resources/${options.businessId}-${options.locationId}`;
  // A key `__proto__` is refused whatever else the body holds; the raw text keeps it (an object literal would not).
  const invalid = await call(options, 'POST', path, {
    headers: scopeHeaders(options),
    body: `{"data":{"smokeRun":"${refusedMarker}","__proto__":{"polluted":true}}}`,
  });
  expectNothingAccepted(`POST ${path} (invalid body)`, invalid, 400);
  options.log(`ok   POST ${path}: 400 for an invalid body, no operation`);

  const listed = await call(options, 'GET', `${path}?smokeRun=${encodeURIComponent(refusedMarker)}`, { headers: scopeHeaders(options) });
  expectStatus(`GET ${path}?smokeRun=...`, listed, 202);
  const listId = (listed.body?.data as { requestId?: string } | undefined)?.requestId ?? '';
  const page = await followToOutcome(options, listId);
  const items = ((page.result as { items?: unknown[] } | undefined)?.items ?? []) as unknown[];
  if (page.status !== 'completed' || items.length !== 0) {
    throw new SmokeError(`the refused request was written: a list of its marker found ${JSON.stringify(page.result ?? page)}`);
  }
  options.log('ok   a list afterwards finds nothing of the refused requests');
}

/** Runs every HTTP check against a gateway; throws a SmokeError at the first failure. */
async function runSmoke(options: SmokeOptions): Promise<void> {
  const marker = `smoke-${randomUUID()}`;
  await checkHealth(options);
  await checkOperation(options, marker);
  await checkRefusals(options, marker);
}

interface StackView {
  outputs: Record<string, string>;
  alarms: string[];
}

async function readStack(stackName: string, region: string | undefined): Promise<StackView> {
  const cfn = new CloudFormationClient({ region });
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName })).catch((e: unknown) => {
    throw new SmokeError(`reading stack ${stackName}: ${e instanceof Error ? e.message : String(e)} (pass --stack and --region, or --url)`);
  });
  const outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const alarms: string[] = [];
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stackName })) {
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.ResourceType === 'AWS::CloudWatch::Alarm' && r.PhysicalResourceId) alarms.push(r.PhysicalResourceId);
    }
  }
  cfn.destroy();
  return { outputs, alarms };
}

/** Sets one alarm to ALARM, then back to OK, so that its notifications can be seen arriving. */
async function testAlarm(alarmName: string, region: string | undefined, log: (line: string) => void): Promise<void> {
  const cloudwatch = new CloudWatchClient({ region });
  const set = (StateValue: 'ALARM' | 'OK') =>
    cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue, StateReason: `npm run smoke --alarm-test: ${StateValue}` }));
  await set('ALARM');
  log(`ok   alarm ${alarmName} set to ALARM: a notification is on its way`);
  await sleep(10_000);
  await set('OK');
  log(`ok   alarm ${alarmName} set back to OK: a recovery notification follows`);
  cloudwatch.destroy();
}

async function secretModeToken(secretArn: string, region: string | undefined, scope: string, claims: { issuer?: string; audience?: string }): Promise<string> {
  const secrets = new SecretsManagerClient({ region });
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  secrets.destroy();
  if (!SecretString) throw new SmokeError(`secret ${secretArn} has no value`);
  return signToken(SecretString, { sub: 'smoke-test', permissions: [`${scope}:*`], ttl: '15m', ...claims });
}

const USAGE = `usage: npm run smoke -- [--stack ResourceGateway] [--region R] [--url URL] [--token T | --token-command CMD]
  [--business smoke-business] [--location smoke-location] [--resource-type smoketest] [--issuer I] [--audience A]
  [--timeout-seconds 60] [--alarm-test [--alarm NAME]]`;

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      stack: { type: 'string', default: 'ResourceGateway' },
      region: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'token-command': { type: 'string' },
      business: { type: 'string', default: 'smoke-business' },
      location: { type: 'string', default: 'smoke-location' },
      'resource-type': { type: 'string', default: 'smoketest' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'timeout-seconds': { type: 'string', default: '60' },
      'alarm-test': { type: 'boolean', default: false },
      alarm: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (v.help) return void process.stdout.write(`${USAGE}\n`);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const stack = v.url && !v['alarm-test'] ? undefined : await readStack(v.stack, v.region);
  const url = v.url ?? stack?.outputs.GatewayUrl;
  if (!url) throw new SmokeError(`no --url and no GatewayUrl output on stack ${v.stack}`);
  const scope = `${v.business}:${v.location}:${v['resource-type']}`;
  const token =
    v.token ??
    (v['token-command'] ? execSync(v['token-command'], { encoding: 'utf8' }).trim() : undefined) ??
    (stack?.outputs.JwtSecretArn ? await secretModeToken(stack.outputs.JwtSecretArn, v.region, scope, { issuer: v.issuer, audience: v.audience }) : undefined);
  if (!token) throw new SmokeError(`no token: pass --token or --token-command (a JWKS-mode stack has no secret to sign one with), with a permission for ${scope}:*`);

  log(`smoke test of ${url}`);
  await runSmoke({ url, token, businessId: v.business, locationId: v.location, resourceType: v['resource-type'], timeoutMs: Number(v['timeout-seconds']) * 1000, log });
  if (v['alarm-test']) {
    const alarm = v.alarm ?? stack?.alarms.find((a) => a.includes('SpoolRecordsLost')) ?? stack?.alarms[0];
    if (!alarm) throw new SmokeError(`stack ${v.stack} has no alarm to test`);
    await testAlarm(alarm, v.region, log);
  }
  log('smoke test passed');
}

main().catch((e: unknown) => {
  process.stderr.write(`smoke test FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
