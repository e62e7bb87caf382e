import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../common/awsClients';
import { LOCAL_DEFAULTS } from '../common/localDefaults';
import { STATUS_KIND } from '../common/tables';
import { signToken } from '../local/signToken';
import { freePort } from '../test/freePort';

const SECRET = 'smoke-test-secret-smoke-test-secret-000000';
const SCOPE = 'smoke-business:smoke-location:smoketest';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run smoke` as a user runs it, with these arguments. */
function smoke(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'smoke/smoke.ts', ...args], {
      env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `npm start` on free ports and a fresh data directory; resolves once it prints that the stack is ready. */
async function startLocalStack(port: number, dynamoPort: number, dataDir: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      LOCAL_KINESIS_PORT: String(await freePort()),
      LOCAL_DYNAMODB_PORT: String(dynamoPort),
      DATA_DIR: dataDir,
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => line.includes('Local stack ready') && resolve());
    proc.once('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready`)));
  });
  return proc;
}

/** The smoke run's lines that report a passed step, with the ids in them replaced by their kind. */
const passedSteps = (run: Run) =>
  run.stdout
    .split('\n')
    .filter((l) => l.startsWith('ok'))
    .map((l) => l.replace(/requestId \S+|operation \S+ completed/, (m) => m.split(' ')[0]!).replace(/smoke-location\/smoketest-\S+:/, 'smoke-location/{id}:'));

const CREATED = [
  'ok   GET /health',
  'ok   GET /ready',
  'ok   POST /api/resources/smoke-business-smoke-location: 202, requestId',
  'ok   POST /api/resources/smoke-business-smoke-location: a retry with the same Idempotency-Key replays the first answer',
  'ok   operation',
];
const INVALID = 'ok   POST /api/resources/smoke-business-smoke-location: 400 for an invalid body, no operation, and a list there finds nothing of it';
const DELETED = "ok   DELETE /api/resources/smoke-business-smoke-location/{id}: completed, and a list no longer finds the run's resource";

describe('npm run smoke', () => {
  let stack: ChildProcess;
  let dataDir: string;
  let url: string;
  let dynamo: DynamoDBDocumentClient;

  /** What the resources table holds that is not a tombstone (a deleted resource's item, which its TTL removes). */
  const liveResources = async () =>
    ((await dynamo.send(new ScanCommand({ TableName: LOCAL_DEFAULTS.resourcesTableName, ConsistentRead: true }))).Items ?? []).filter((i) => !i.deleted);

  /** The operations of `businessId` that have an outcome, as [operation, status]. */
  const outcomesIn = async (businessId: string) =>
    ((await dynamo.send(new ScanCommand({ TableName: LOCAL_DEFAULTS.statusTableName, ConsistentRead: true }))).Items ?? [])
      .filter((i) => i.kind === STATUS_KIND.outcome && i.businessId === businessId)
      .map((i) => [i.operation, i.status]);

  beforeAll(async () => {
    const port = await freePort();
    const dynamoPort = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'smoke-'));
    url = `http://127.0.0.1:${port}`;
    stack = await startLocalStack(port, dynamoPort, dataDir);
    dynamo = createDynamoClient({ region: LOCAL_DEFAULTS.region, endpoint: `http://127.0.0.1:${dynamoPort}`, maxAttempts: 1 });
  }, 120_000);

  afterAll(async () => {
    dynamo?.destroy();
    if (stack && stack.exitCode === null) {
      const exited = new Promise((r) => stack.once('exit', r));
      stack.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('passes with a given token, says the 403 leg checks only that nothing was accepted, and leaves no resource', async () => {
    const token = await signToken(SECRET, { sub: 'smoke', permissions: [`${SCOPE}:*`] });
    const run = await smoke(['--url', url, '--token', token]);
    expect(run.stderr).not.toContain('FAILED');
    expect(run.code).toBe(0);
    expect(passedSteps(run)).toEqual([
      ...CREATED,
      'ok   POST /api/resources/smoke-not-yours-smoke-location: 403 for another tenant, no operation (only "nothing accepted" is checked: ' +
        'with --token or --token-command smoke cannot sign a token to list in smoke-not-yours)',
      INVALID,
      DELETED,
    ]);
    expect(run.stdout).toContain('smoke test passed');
    expect(await liveResources()).toEqual([]);
  }, 120_000);

  it('signs its own tokens with the JWT secret, lists where the 403 aimed, and leaves no resource', async () => {
    const secretFile = join(dataDir, 'jwt-secret');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const run = await smoke(['--url', url, '--jwt-secret-file', secretFile]);
    expect(run.stderr).not.toContain('FAILED');
    expect(run.code).toBe(0);
    expect(passedSteps(run)).toEqual([
      ...CREATED,
      'ok   POST /api/resources/smoke-not-yours-smoke-location: 403 for another tenant, no operation, and a list there finds nothing of it',
      INVALID,
      DELETED,
    ]);
    // The list ran where the refused create aimed (and the create left nothing there).
    expect(await outcomesIn('smoke-not-yours')).toEqual([['list', 'completed']]);
    expect(await liveResources()).toEqual([]);
  }, 120_000);

  it('fails with a message naming the step when the token lacks the permission it needs', async () => {
    const token = await signToken(SECRET, { sub: 'smoke', permissions: ['other-business:*:*:*'] });
    const run = await smoke(['--url', url, '--token', token]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/smoke test FAILED: POST \/api\/resources\/smoke-business-smoke-location: expected 202, got 403/);
  }, 60_000);

  it('fails at the first step when nothing answers', async () => {
    const run = await smoke(['--url', `http://127.0.0.1:${await freePort()}`, '--token', 'unused']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/smoke test FAILED: GET \/health: no answer/);
  }, 60_000);
});
