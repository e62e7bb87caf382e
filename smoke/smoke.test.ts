import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
async function startLocalStack(port: number, dataDir: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      LOCAL_KINESIS_PORT: String(await freePort()),
      LOCAL_DYNAMODB_PORT: String(await freePort()),
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

describe('npm run smoke', () => {
  let stack: ChildProcess;
  let dataDir: string;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'smoke-'));
    url = `http://127.0.0.1:${port}`;
    stack = await startLocalStack(port, dataDir);
  }, 120_000);

  afterAll(async () => {
    if (stack && stack.exitCode === null) {
      const exited = new Promise((r) => stack.once('exit', r));
      stack.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('passes against the local stack: health, readiness, an operation completed, refusals that wrote nothing', async () => {
    const token = await signToken(SECRET, { sub: 'smoke', permissions: [`${SCOPE}:*`] });
    const run = await smoke(['--url', url, '--token', token]);
    expect(run.stderr).not.toContain('FAILED');
    expect(run.code).toBe(0);
    const steps = run.stdout.split('\n').filter((l) => l.startsWith('ok'));
    expect(steps.map((l) => l.replace(/requestId \S+|operation \S+ completed/, (m) => m.split(' ')[0]!))).toEqual([
      'ok   GET /health',
      'ok   GET /ready',
      'ok   POST /api/resources/smoke-business-smoke-location: 202, requestId',
      'ok   operation',
      'ok   POST /api/resources/smoke-not-yours-smoke-location: 403 for another tenant, no operation',
      'ok   POST /api/resources/smoke-business-smoke-location: 400 for an invalid body, no operation',
      'ok   a list afterwards finds nothing of the refused requests',
    ]);
    expect(run.stdout).toContain('smoke test passed');
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
