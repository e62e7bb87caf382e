import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../freePort';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from '../../common/awsClients';
import { readStream, REGION } from '../../app/test/harness';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureStream, ensureTables } from '../../local/provision';
import { signToken } from '../../local/signToken';
import { TcpProxy } from './TcpProxy';

/** The gateway is killed with SIGKILL mid-load while spooling, and restarted on the same spool. */
const SECRET = 'sigkill-test-secret-sigkill-test-secret-00';
const STREAM = 'sigkill-ops';
let emulators: Emulators;
let proxy: TcpProxy;
let dir: string;
let port: number;

beforeAll(async () => {
  port = await freePort();
  emulators = await startEmulators();
  proxy = await new TcpProxy(Number(new URL(emulators.kinesisEndpoint).port)).start();
  dir = mkdtempSync(join(tmpdir(), 'sigkill-'));
  const kinesis = createKinesisClient({ region: REGION, endpoint: emulators.kinesisEndpoint });
  await ensureStream(kinesis, STREAM, 2);
  await ensureTables(createDynamoClient({ region: REGION, endpoint: emulators.dynamoEndpoint }), { statusTable: 'operation-status' });
});
afterAll(async () => {
  await proxy.close();
  await emulators.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the gateway; `exited` is taken at spawn, so an exit before anyone waits is not missed. */
function startGateway(): { proc: ChildProcess; exited: Promise<unknown> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'app/src/server.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      KINESIS_STREAM_NAME: STREAM,
      KINESIS_ENDPOINT: proxy.url,
      KINESIS_TIMEOUT_MS: '300',
      KINESIS_RETRY_DEADLINE_MS: '500',
      DYNAMODB_ENDPOINT: emulators.dynamoEndpoint,
      SPOOL_DIR: join(dir, 'spool'),
      JWT_SECRET: SECRET,
      LOG_LEVEL: process.env.SIGKILL_LOG ?? 'warn',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: process.env.SIGKILL_LOG ? 'inherit' : 'ignore',
  });
  return { proc, exited: new Promise((r) => proc.once('exit', r)) };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('replays every acknowledged operation after a SIGKILL, in causal order per key', async () => {
  const first = startGateway();
  await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/health`)).ok ? true : undefined), 'the gateway');
  const token = await signToken(SECRET, { sub: 'k', permissions: ['*:*:*:*'] });

  let killed = false;
  const acknowledged: { key: string; requestId: string }[][] = [];
  const load = Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      const mine: { key: string; requestId: string }[] = [];
      acknowledged.push(mine);
      for (let i = 0; !killed; i++) {
        const location = `l${c}`;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/resources/b-${location}/r-${i}`, {
            method: 'PUT',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Business-ID': 'b', 'X-Location-ID': location, 'X-Resource-Type': 'rt' },
            body: JSON.stringify({ data: { i } }),
          });
          if (res.status === 202) mine.push({ key: `b-${location}-rt`, requestId: ((await res.json()) as { data: { requestId: string } }).data.requestId });
        } catch {
          // The kill cut this request: it was never acknowledged.
        }
      }
    }),
  );
  await sleep(300);
  await proxy.setMode('refuse');
  await sleep(1500);
  first.proc.kill('SIGKILL');
  killed = true;
  await load;
  await first.exited;
  await proxy.setMode('pass');

  const second = startGateway();
  try {
    await waitFor(async () => {
      const ready = (await (await fetch(`http://127.0.0.1:${port}/ready`)).json()) as { spool?: { depth: number } };
      return ready.spool?.depth === 0 ? true : undefined;
    }, 'the spool to drain');
  } finally {
    second.proc.kill('SIGTERM');
    await second.exited;
  }

  const records = await readStream(createKinesisClient({ region: REGION, endpoint: emulators.kinesisEndpoint }), STREAM);
  const firstAt = new Map<string, number>();
  records.forEach((r, i) => firstAt.has(r.json.requestId as string) || firstAt.set(r.json.requestId as string, i));
  const all = acknowledged.flat();
  expect(all.length).toBeGreaterThan(20);
  expect(all.filter((a) => !firstAt.has(a.requestId))).toEqual([]);
  for (const client of acknowledged) {
    const positions = client.map((a) => firstAt.get(a.requestId)!);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  }
}, 120_000);
