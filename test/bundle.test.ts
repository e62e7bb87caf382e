import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './freePort';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { GATEWAY_NODE_FLAGS } from '../app/nodeFlags';
import { startEmulators, type Emulators } from '../local/emulators';

/** The container runs `node app/dist/server.mjs`; this starts that very bundle against kinesalite. */
let emulators: Emulators;
let gateway: ChildProcess;
let PORT: number;

beforeAll(async () => {
  PORT = await freePort();
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  emulators = await startEmulators();
  gateway = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, 'app/dist/server.mjs'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(PORT),
      AWS_REGION: 'us-east-1',
      KINESIS_ENDPOINT: emulators.kinesisEndpoint,
      KINESIS_CREATE_STREAM: 'true',
      DYNAMODB_ENDPOINT: emulators.dynamoEndpoint,
      JWT_SECRET: 'bundle-test-secret-bundle-test-secret-0000',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: 'ignore',
  });
}, 60_000);

afterAll(async () => {
  gateway?.kill('SIGKILL');
  await emulators?.close();
});

it('the built bundle serves 200 on /health and reports the stream ready', async () => {
  let health: Response | undefined;
  for (let i = 0; i < 200 && !health; i++) {
    health = await fetch(`http://127.0.0.1:${PORT}/health`).catch(() => undefined);
    if (!health) await sleep(50);
  }
  expect(health?.status).toBe(200);
  let ready: Response | undefined;
  for (let i = 0; i < 100; i++) {
    ready = await fetch(`http://127.0.0.1:${PORT}/ready`);
    if (ready.status === 200) break;
    await sleep(50);
  }
  expect(ready?.status).toBe(200);
});

it("the container's command runs the bundle with the gateway's node flags", () => {
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('app/Dockerfile', 'utf8'))?.[1];
  expect(JSON.parse(cmd ?? 'null')).toEqual(['node', ...GATEWAY_NODE_FLAGS, 'app/dist/server.mjs']);
});
