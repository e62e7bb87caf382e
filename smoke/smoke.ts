/**
 * `npm run smoke`: the post-deploy check of a gateway. It reads the stack's outputs (or takes --url and a token),
 * then checks, in order, stopping with a non-zero exit and a message naming the step at the first failure:
 * health, readiness, one operation accepted and followed to `completed`, refused requests that write nothing,
 * the created resource deleted again (a run leaves no resource, only the delete's tombstone, which the table's TTL
 * removes), and with --alarm-test one alarm set to ALARM and back to OK (the operator should get both e-mails).
 *
 * @example
 *   npm run smoke                                     # stack ResourceGateway in the default region, secret mode
 *   npm run smoke -- --url https://gw.example --token-command 'my-idp token --scope b:l:smoketest:*'
 *   npm run smoke -- --url http://localhost:3000 --jwt-secret-file ./secret   # signs its own tokens
 *   npm run smoke -- --alarm-test
 */
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  /**
   * A token that may list in another scope (`business:location:resourceType`), when smoke signs its own (secret
   * mode): the 403 leg then lists where the refused request aimed. Without it only "nothing accepted" is checked there.
   */
  listTokenFor?: (scope: string) => Promise<string>;
  log: (line: string) => void;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

const FORBIDDEN_BUSINESS = 'smoke-not-yours';

interface CallInit {
  body?: string;
  headers?: Record<string, string>;
  /** @default options.token */
  token?: string;
}

async function call(options: SmokeOptions, method: string, path: string, init: CallInit = {}): Promise<Answer> {
  const res = await fetch(new URL(path, options.url), {
    method,
    headers: {
      Authorization: `Bearer ${init.token ?? options.token}`,
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
async function followToOutcome(options: SmokeOptions, requestId: string, token?: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 100;
  for (;;) {
    const answer = await call(options, 'GET', `/api/requests/${requestId}`, { headers: { Prefer: 'wait=10' }, token });
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

/**
 * Creates a resource marked with `marker` (with an `Idempotency-Key`), checks that a retry with the key replays the
 * first answer, and follows the operation to `completed`; returns its id.
 */
async function checkOperation(options: SmokeOptions, marker: string): Promise<string> {
  const path = `/api/resources/${options.businessId}-${options.locationId}`;
  const create = () =>
    call(options, 'POST', path, {
      headers: { ...scopeHeaders(options), 'Idempotency-Key': marker },
      body: JSON.stringify({ data: { smokeRun: marker, note: 'written by npm run smoke' } }),
    });
  const created = await create();
  expectStatus(`POST ${path}`, created, 202);
  const { requestId, id: resourceId } = (created.body?.data ?? {}) as { requestId?: string; id?: string };
  if (!requestId || !resourceId || created.headers.get('location') !== `/api/requests/${requestId}`) {
    throw new SmokeError(`POST ${path}: a 202 without a requestId, a resource id and its Location (${JSON.stringify(created.body)})`);
  }
  options.log(`ok   POST ${path}: 202, requestId ${requestId}`);
  const retried = await create();
  expectStatus(`POST ${path} (retried with its Idempotency-Key)`, retried, 202);
  const again = (retried.body?.data ?? {}) as { requestId?: string; id?: string };
  if (again.requestId !== requestId || again.id !== resourceId) {
    throw new SmokeError(`POST ${path}: a retry with the same Idempotency-Key was accepted as another operation (${JSON.stringify(retried.body)})`);
  }
  options.log(`ok   POST ${path}: a retry with the same Idempotency-Key replays the first answer`);
  const outcome = await followToOutcome(options, requestId);
  if (outcome.status !== 'completed') {
    throw new SmokeError(`operation ${requestId} ended ${String(outcome.status)}: ${JSON.stringify(outcome.error ?? outcome)}`);
  }
  options.log(`ok   operation ${requestId} completed`);
  return resourceId;
}

/** The items a list in `businessId` finds with `smokeRun: marker`, read with `token`. */
async function listMarked(options: SmokeOptions, businessId: string, marker: string, token?: string): Promise<unknown[]> {
  const path = `/api/resources/${businessId}-${options.locationId}?smokeRun=${encodeURIComponent(marker)}`;
  const listed = await call(options, 'GET', path, { headers: scopeHeaders(options, businessId), token });
  expectStatus(`GET ${path}`, listed, 202);
  const listId = (listed.body?.data as { requestId?: string } | undefined)?.requestId ?? '';
  const page = await followToOutcome(options, listId, token);
  if (page.status !== 'completed') throw new SmokeError(`the list in ${businessId} ended ${String(page.status)}: ${JSON.stringify(page.error ?? page)}`);
  return ((page.result as { items?: unknown[] } | undefined)?.items ?? []) as unknown[];
}

/** Deletes the resource the run created, follows the delete to `completed`, and checks a list no longer finds it. */
async function deleteCreated(options: SmokeOptions, resourceId: string, marker: string): Promise<void> {
  const path = `/api/resources/${options.businessId}-${options.locationId}/${encodeURIComponent(resourceId)}`;
  const deleted = await call(options, 'DELETE', path, { headers: scopeHeaders(options) });
  expectStatus(`DELETE ${path}`, deleted, 202);
  const requestId = (deleted.body?.data as { requestId?: string } | undefined)?.requestId ?? '';
  const outcome = await followToOutcome(options, requestId);
  if (outcome.status !== 'completed') throw new SmokeError(`DELETE ${path} ended ${String(outcome.status)}: ${JSON.stringify(outcome.error ?? outcome)}`);
  const left = await listMarked(options, options.businessId, marker);
  if (left.length !== 0) throw new SmokeError(`DELETE ${path} completed, yet a list of the run's marker finds ${JSON.stringify(left)}`);
  options.log(`ok   DELETE ${path}: completed, and a list no longer finds the run's resource`);
}

/** A refused answer names no operation: no requestId in its body and no Location. */
function expectNothingAccepted(step: string, answer: Answer, status: number): void {
  expectStatus(step, answer, status);
  if (answer.headers.get('location') || JSON.stringify(answer.body ?? {}).includes('requestId')) {
    throw new SmokeError(`${step}: a refused request named an operation (${JSON.stringify(answer.body)})`);
  }
}

/** A create in a business the token may not use is 403, names no operation, and (when smoke can list there) wrote nothing. */
async function checkForbidden(options: SmokeOptions, refusedMarker: string): Promise<void> {
  const forbiddenPath = `/api/resources/${FORBIDDEN_BUSINESS}-${options.locationId}`;
  const forbidden = await call(options, 'POST', forbiddenPath, {
    headers: scopeHeaders(options, FORBIDDEN_BUSINESS),
    body: JSON.stringify({ data: { smokeRun: refusedMarker } }),
  });
  expectNothingAccepted(`POST ${forbiddenPath} (another tenant)`, forbidden, 403);
  if (!options.listTokenFor) {
    options.log(
      `ok   POST ${forbiddenPath}: 403 for another tenant, no operation (only "nothing accepted" is checked: ` +
        `with --token or --token-command smoke cannot sign a token to list in ${FORBIDDEN_BUSINESS})`,
    );
    return;
  }
  const token = await options.listTokenFor(`${FORBIDDEN_BUSINESS}:${options.locationId}:${options.resourceType}`);
  const items = await listMarked(options, FORBIDDEN_BUSINESS, refusedMarker, token);
  if (items.length !== 0) throw new SmokeError(`the refused request was written: a list in ${FORBIDDEN_BUSINESS} found ${JSON.stringify(items)}`);
  options.log(`ok   POST ${forbiddenPath}: 403 for another tenant, no operation, and a list there finds nothing of it`);
}

/** A create with an invalid body in the token's own scope is 400, names no operation, and a list there finds nothing. */
async function checkInvalid(options: SmokeOptions, refusedMarker: string): Promise<void> {
  const path = `/api/resources/${options.businessId}-${options.locationId}`;
  // A key `__proto__` is refused whatever else the body holds; the raw text keeps it (an object literal would not).
  const invalid = await call(options, 'POST', path, {
    headers: scopeHeaders(options),
    body: `{"data":{"smokeRun":"${refusedMarker}","__proto__":{"polluted":true}}}`,
  });
  expectNothingAccepted(`POST ${path} (invalid body)`, invalid, 400);
  const items = await listMarked(options, options.businessId, refusedMarker);
  if (items.length !== 0) throw new SmokeError(`the refused request was written: a list of its marker found ${JSON.stringify(items)}`);
  options.log(`ok   POST ${path}: 400 for an invalid body, no operation, and a list there finds nothing of it`);
}

/** Runs every HTTP check against a gateway; throws a SmokeError at the first failure. */
async function runSmoke(options: SmokeOptions): Promise<void> {
  const marker = `smoke-${randomUUID()}`;
  await checkHealth(options);
  const resourceId = await checkOperation(options, marker);
  try {
    await checkForbidden(options, `${marker}-refused`);
    await checkInvalid(options, `${marker}-refused`);
  } catch (e) {
    // The first failure is the one reported; the resource is still deleted so that the run leaves nothing.
    await deleteCreated(options, resourceId, marker).catch((d: unknown) => options.log(`the smoke resource ${resourceId} was not deleted: ${String(d)}`));
    throw e;
  }
  await deleteCreated(options, resourceId, marker);
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

async function readSecret(secretArn: string, region: string | undefined): Promise<string> {
  const secrets = new SecretsManagerClient({ region });
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  secrets.destroy();
  if (!SecretString) throw new SmokeError(`secret ${secretArn} has no value`);
  return SecretString;
}

interface TokenArgs {
  token?: string;
  'token-command'?: string;
  'jwt-secret-file'?: string;
  issuer?: string;
  audience?: string;
  region?: string;
}

/**
 * The token the checks run with (the one given, or one smoke signs for `scope`), and, when smoke has the JWT
 * secret (secret mode, or --jwt-secret-file), list tokens it signs for other scopes.
 */
async function resolveTokens(a: TokenArgs, stack: StackView | undefined, scope: string): Promise<Pick<SmokeOptions, 'token' | 'listTokenFor'>> {
  const given = a.token ?? (a['token-command'] ? execSync(a['token-command'], { encoding: 'utf8' }).trim() : undefined);
  const secretArn = given ? undefined : stack?.outputs.JwtSecretArn;
  const secret = a['jwt-secret-file'] ? readFileSync(a['jwt-secret-file'], 'utf8').trim() : secretArn ? await readSecret(secretArn, a.region) : undefined;
  const sign = secret
    ? (permission: string) => signToken(secret, { sub: 'smoke-test', permissions: [permission], ttl: '15m', issuer: a.issuer, audience: a.audience })
    : undefined;
  const token = given ?? (await sign?.(`${scope}:*`));
  if (!token) throw new SmokeError(`no token: pass --token or --token-command (a JWKS-mode stack has no secret to sign one with), with a permission for ${scope}:*`);
  return { token, ...(sign ? { listTokenFor: (other: string) => sign(`${other}:list`) } : {}) };
}

const USAGE = `usage: npm run smoke -- [--stack ResourceGateway] [--region R] [--url URL]
  [--token T | --token-command CMD | --jwt-secret-file FILE]
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
      'jwt-secret-file': { type: 'string' },
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
  const tokens = await resolveTokens(v, stack, `${v.business}:${v.location}:${v['resource-type']}`);

  log(`smoke test of ${url}`);
  const timeoutMs = Number(v['timeout-seconds']) * 1000;
  await runSmoke({ url, ...tokens, businessId: v.business, locationId: v.location, resourceType: v['resource-type'], timeoutMs, log });
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
