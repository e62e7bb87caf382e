import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamoClient, createKinesisClient } from '../../common/awsClients';
import { readStream, REGION, type StreamRecord } from '../../app/test/harness';
import { startEmulators, type Emulators } from '../../local/emulators';
import { ensureStream, ensureTables } from '../../local/provision';
import { LOCAL_DEFAULTS } from '../../common/localDefaults';
import { pollUntil } from '../../common/pollUntil';
import { signToken } from '../../local/signToken';
import { freePort } from '../freePort';
import { TcpProxy } from './TcpProxy';

const SECRET = 'fault-test-secret-fault-test-secret-000000';
const STREAM = 'fault-ops';

export interface GatewayRun {
  proc: ChildProcess;
  /** Taken at spawn, so an exit before anyone waits is not missed. */
  exited: Promise<number | null>;
}

/**
 * The gateway as the container runs it (its own process, configured by environment), in front of kinesalite
 * through a {@link TcpProxy} the test controls, with its spool in a temporary directory that outlives each run.
 */
export interface GatewayFixture {
  proxy: TcpProxy;
  port: number;
  token: string;
  start(env?: Record<string, string>): GatewayRun;
  /** PUTs resource `i` in location `location`; resolves with the requestId of a 202, else undefined. */
  put(location: string, i: number): Promise<string | undefined>;
  ready(): Promise<{ ready: boolean; spool?: { depth: number; mode: string } }>;
  waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T>;
  records(): Promise<StreamRecord[]>;
  close(): Promise<void>;
}

export async function startGatewayFixture(): Promise<GatewayFixture> {
  const port = await freePort();
  const emulators: Emulators = await startEmulators();
  const proxy = await new TcpProxy(Number(new URL(emulators.kinesisEndpoint).port)).start();
  const dir = mkdtempSync(join(tmpdir(), 'gateway-fault-'));
  const kinesis = createKinesisClient({ region: REGION, endpoint: emulators.kinesisEndpoint });
  await ensureStream(kinesis, STREAM, 2);
  await ensureTables(createDynamoClient({ region: REGION, endpoint: emulators.dynamoEndpoint }), {
    statusTable: LOCAL_DEFAULTS.statusTableName,
    idempotencyTable: LOCAL_DEFAULTS.idempotencyTableName,
  });
  const token = await signToken(SECRET, { sub: 'fault', permissions: ['*:*:*:*'] });
  const base = `http://127.0.0.1:${port}`;

  const waitFor = <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => pollUntil(probe, { what, timeoutMs: 60_000, intervalMs: 50 });

  return {
    proxy,
    port,
    token,
    start(env = {}) {
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
          LOG_LEVEL: process.env.FAULT_LOG ?? 'warn',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...env,
        },
        stdio: process.env.FAULT_LOG ? 'inherit' : 'ignore',
      });
      return { proc, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
    },
    async put(location, i) {
      const res = await fetch(`${base}/api/resources/b-${location}/r-${i}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Business-ID': 'b', 'X-Location-ID': location, 'X-Resource-Type': 'rt' },
        body: JSON.stringify({ data: { i } }),
      });
      return res.status === 202 ? ((await res.json()) as { data: { requestId: string } }).data.requestId : undefined;
    },
    async ready() {
      return (await (await fetch(`${base}/ready`)).json()) as { ready: boolean; spool?: { depth: number; mode: string } };
    },
    waitFor,
    records: () => readStream(kinesis, STREAM),
    async close() {
      await proxy.close();
      kinesis.destroy();
      await emulators.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
