import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createDynamoClient, createKinesisClient } from '../common/awsClients';
import { LOCAL_DEFAULTS } from '../common/localDefaults';
import { pollUntil } from '../common/pollUntil';
import { TIMED_OUT, withTimeout } from '../common/withTimeout';
import { ensureLocalFieldKey } from './fieldKey';
import { ensureStream, ensureTables } from './provision';
import { DEV_JWT_SECRET, signToken } from './signToken';

/**
 * `npm start`: the whole pipeline on one machine. Children: the emulators, the gateway (as `npm run gateway`
 * runs it) and the consumer behind the event-source-mapping emulation. Each child's lines are prefixed with
 * its name; SIGINT/SIGTERM stops them all; if one dies, the others are stopped and the launcher exits 1.
 */
// The SDK warns that it will need Node 22 from 2027; the container and Lambda run 22, this machine may not.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const env = process.env;
const port = Number(env.PORT || LOCAL_DEFAULTS.gatewayPort);
const kinesisPort = Number(env.LOCAL_KINESIS_PORT || LOCAL_DEFAULTS.kinesisPort);
const dynamoPort = Number(env.LOCAL_DYNAMODB_PORT || LOCAL_DEFAULTS.dynamoPort);
const dataDir = env.DATA_DIR || LOCAL_DEFAULTS.dataDir;
const streamName = env.KINESIS_STREAM_NAME || LOCAL_DEFAULTS.streamName;
const shardCount = Number(env.KINESIS_SHARD_COUNT || LOCAL_DEFAULTS.shardCount);
const statusTable = env.STATUS_TABLE_NAME || LOCAL_DEFAULTS.statusTableName;
const idempotencyTable = env.IDEMPOTENCY_TABLE_NAME || LOCAL_DEFAULTS.idempotencyTableName;
const resourcesTable = env.RESOURCES_TABLE_NAME || LOCAL_DEFAULTS.resourcesTableName;
const region = env.AWS_REGION || LOCAL_DEFAULTS.region;
const consumerOn = (env.LOCAL_CONSUMER || 'on').toLowerCase() !== 'off';
const jwtSecret = env.JWT_SECRET || DEV_JWT_SECRET;
if (!env.JWT_SECRET) process.stderr.write('[start] JWT_SECRET is unset: using the fixed development secret. Never use it outside your machine.\n');

// Field encryption has no KMS locally: a raw AES-256 key the stack creates under DATA_DIR on first start.
const fieldKeyFile = env.FIELD_ENCRYPTION_KEY_FILE || ensureLocalFieldKey(dataDir);
const kinesisEndpoint = `http://127.0.0.1:${kinesisPort}`;
const dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
const childEnv = {
  ...env,
  PORT: String(port),
  AWS_REGION: region,
  DATA_DIR: dataDir,
  KINESIS_STREAM_NAME: streamName,
  KINESIS_SHARD_COUNT: String(shardCount),
  KINESIS_ENDPOINT: kinesisEndpoint,
  KINESIS_CREATE_STREAM: 'true',
  DYNAMODB_ENDPOINT: dynamoEndpoint,
  STATUS_TABLE_NAME: statusTable,
  IDEMPOTENCY_TABLE_NAME: idempotencyTable,
  RESOURCES_TABLE_NAME: resourcesTable,
  JWT_SECRET: jwtSecret,
  FIELD_ENCRYPTION_KEY_FILE: fieldKeyFile,
  LOCAL_KINESIS_PORT: String(kinesisPort),
  LOCAL_DYNAMODB_PORT: String(dynamoPort),
};

const EXIT_WITH_LAUNCHER = new URL('./exitWithLauncher.ts', import.meta.url).href;

const children: { name: string; proc: ChildProcess }[] = [];
let stopping = false;

function run(name: string, script: string): ChildProcess {
  // Children stay in the launcher's process group, so a kill of the group ends them all.
  // stdin is a pipe only the launcher writes: it ends when the launcher dies, and exitWithLauncher.ts stops the child.
  const proc = spawn(process.execPath, ['--import', 'tsx', '--import', EXIT_WITH_LAUNCHER, script], {
    env: { ...childEnv, LOCAL_LAUNCHER: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  for (const stream of [proc.stdout!, proc.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  proc.on('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`[start] ${name} exited (${signal ?? code}); stopping the others\n`);
    void stop(1);
  });
  children.push({ name, proc });
  return proc;
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Gateway and consumer first, so they drain into emulators that are still up.
  for (const { proc } of [...children].reverse()) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    proc.kill('SIGTERM');
    if ((await withTimeout(new Promise((r) => proc.once('exit', r)), 30_000)) === TIMED_OUT) proc.kill('SIGKILL');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

async function main() {
  const emulators = run('emulators', 'local/emulatorsProcess.ts');
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: emulators.stdout! }).on('line', (l) => l.includes('"ready":true') && resolve());
    emulators.once('exit', () => reject(new Error('the emulators did not start (are the ports free?)')));
  });

  const kinesis = createKinesisClient({ region, endpoint: kinesisEndpoint });
  const dynamo = createDynamoClient({ region, endpoint: dynamoEndpoint });
  await ensureStream(kinesis, streamName, shardCount);
  await ensureTables(dynamo, { statusTable, idempotencyTable, resourcesTable });

  run('gateway', 'app/src/server.ts');
  if (consumerOn && existsSync('local/consumer.ts')) run('consumer', 'local/consumer.ts');
  // Stopping ends the wait too: the launcher is going away, and so is the gateway.
  await pollUntil(async () => stopping || (await fetch(`http://127.0.0.1:${port}/ready`)).ok, { what: 'the gateway to be ready', timeoutMs: 60_000, intervalMs: 100 });

  const token = await signToken(jwtSecret, { sub: 'developer', permissions: ['business-123:*:appointment:*'], ttl: '12h', issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });
  process.stdout.write(`
Local stack ready.
  Gateway     http://localhost:${port}   (health: /health, readiness: /ready)
  Kinesis     ${kinesisEndpoint}   stream ${streamName} (${shardCount} shard${shardCount > 1 ? 's' : ''})
  DynamoDB    ${dynamoEndpoint}   tables ${statusTable}, ${idempotencyTable}, ${resourcesTable}
  Consumer    ${consumerOn ? 'on' : 'off (LOCAL_CONSUMER=off)'}
  State       ${dataDir}/

Try it (token valid 12 h for business-123:*:appointment:*):
  export TOKEN=${token}
  curl -i -X POST http://localhost:${port}/api/resources/business-123-location-456 \\
    -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" \\
    -H "X-Business-ID: business-123" -H "X-Location-ID: location-456" -H "X-Resource-Type: appointment" \\
    -d '{"data":{"patientName":"John Doe","appointmentTime":"2024-01-01T10:00:00Z","service":"consultation"}}'

Ctrl-C stops everything.
`);
}

main().catch((e: unknown) => {
  process.stderr.write(`[start] ${e instanceof Error ? e.message : String(e)}\n`);
  void stop(1);
});
