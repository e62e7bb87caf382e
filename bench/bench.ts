import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDynamoClient, createKinesisClient } from '../common/awsClients';
import { signToken } from '../local/signToken';
import { startBenchEmulators } from './emulators';
import { buildGateway, type GatewayBuild, type GatewaySource } from './gateway';
import { installCleanup } from './processes';
import { benchConsumer } from './consumerBench';
import { checkTargets, resultsTable, targetsText, writeResults } from './report';
import { runScenario, writeKeyFile, type BenchContext, type ScenarioResult, type ScenarioSpec } from './scenario';
import { runSoak } from './soak';
import { BENCH_PERMISSION, createRequests } from './workload';

/**
 * `npm run bench [-- options]`: the gateway's and the consumer's benchmark. See bench/README.md.
 * Starts the emulators and every measured server itself, and stops them all on exit, Ctrl-C or error.
 */
const USAGE = `npm run bench -- [options]
  --connections N    concurrent connections (default 64)
  --duration S       measured seconds per scenario (default 15)
  --warmup S         warm-up seconds per scenario, not measured (default 3)
  --shards N         shards of each fresh stream (default 4)
  --log-level L      gateway LOG_LEVEL (default info, as deployed: one access line per request)
  --no-encryption    skip the field-encryption scenario
  --sweep            also run the batching gateway at KINESIS_MAX_IN_FLIGHT 1,2,4 x KINESIS_LINGER_MS 0,1,2
  --only a,b         run only these scenarios (bare, floor, batching-off, batching, encryption, consumer,
                     large-bodies)
  --no-consumer      skip the consumer scenario
  --dynamodb-latency-ms N   consumer scenario: added to every DynamoDB call by a proxy (default 5)
  --consumer-records N      consumer scenario: records per drain (default 3000)
  --consumer-rate N         consumer scenario: steady offered rate, records/s (default: half the drain rate it measured)
  --consumer-seconds S      consumer scenario: length of the steady run (default 20)
  --consumer-batch-size N   consumer scenario: the event source's batch size (default: eventSourceSettings.ts)
  --gateway-env E    extra gateway variables for batching, encryption and the soak, e.g.
                     'KINESIS_MAX_IN_FLIGHT=2 KINESIS_LINGER_MS=2' (to try settings against the references)
  --cpu-prof DIR     run the batching and encryption gateways under node --cpu-prof, profiles into DIR
  --soak S           soak mode instead: the batching gateway for S seconds at a steady rate
  --rate N           soak rate, requests/s over all connections (default 1000)
  --source S         the gateway code to bundle and measure: worktree (default; falls back to HEAD if it
                     does not build), HEAD (the last commit), dist (app/dist/server.mjs as it is)
  --bundle FILE      measure this gateway bundle instead (e.g. one built from a patched copy, to
                     measure a proposed change without touching app/)`;

const { values: a } = parseArgs({
  options: {
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    shards: { type: 'string', default: '4' },
    'log-level': { type: 'string', default: 'info' },
    'no-encryption': { type: 'boolean', default: false },
    sweep: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-consumer': { type: 'boolean', default: false },
    'dynamodb-latency-ms': { type: 'string', default: '5' },
    'consumer-records': { type: 'string', default: '3000' },
    'consumer-rate': { type: 'string', default: '0' },
    'consumer-seconds': { type: 'string', default: '20' },
    'consumer-batch-size': { type: 'string', default: '0' },
    'gateway-env': { type: 'string', default: '' },
    'cpu-prof': { type: 'string' },
    soak: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    source: { type: 'string', default: 'worktree' },
    bundle: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (a.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const positive = (name: string, s: string | undefined) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`--${name} must be a positive integer\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
};

// The SDK warns about Node 20 on every client; the bench's own clients only read the stream.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const gatewayEnv = Object.fromEntries(
  a['gateway-env']!
    .split(/\s+/)
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
installCleanup();
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
const tmpDir = mkdtempSync(join(tmpdir(), 'gateway-bench-'));
process.on('exit', () => rmSync(tmpDir, { recursive: true, force: true }));

const source = a.source as GatewaySource;
if (!['worktree', 'HEAD', 'dist'].includes(source)) {
  process.stderr.write(`--source must be worktree, HEAD or dist\n${USAGE}\n`);
  process.exit(2);
}
let build: GatewayBuild;
try {
  process.stdout.write(`bundling the gateway from ${source} (app/build.mjs)\n`);
  build = a.bundle ? { ...buildGateway('dist', tmpDir), bundle: resolve(a.bundle), source: 'bundle' } : buildGateway(source, join(tmpDir, source));
} catch (e) {
  if (source !== 'worktree') throw e;
  // Someone's edit in progress must not stop the bench; say loudly what is measured instead.
  process.stdout.write(`the working tree does not build (${(e as Error).message}); measuring the last commit instead\n`);
  build = buildGateway('HEAD', join(tmpDir, 'HEAD'));
}
const emulators = await startBenchEmulators();
const region = 'us-east-1';
const jwtSecret = 'bench-secret-0123456789abcdef0123456789abcdef';
const ctx: BenchContext = {
  emulators,
  kinesis: createKinesisClient({ region, endpoint: emulators.kinesisEndpoint }),
  dynamo: createDynamoClient({ region, endpoint: emulators.dynamoEndpoint }),
  // One token for all requests, as a real client reuses its token (the gateway caches verified tokens).
  requests: createRequests(await signToken(jwtSecret, { sub: 'bench', permissions: [BENCH_PERMISSION], ttl: '2h' })),
  jwtSecret,
  connections: positive('connections', a.connections),
  durationSec: positive('duration', a.duration),
  warmupSec: positive('warmup', a.warmup),
  shards: positive('shards', a.shards),
  logLevel: a['log-level']!,
  tmpDir,
  runId: Date.now().toString(36),
  bundle: build.bundle,
};
const settings = {
  connections: ctx.connections,
  durationSec: ctx.durationSec,
  warmupSec: ctx.warmupSec,
  shards: ctx.shards,
  partitionKeys: ctx.requests.length,
  logLevel: ctx.logLevel,
  gatewayEnv,
  emulators: 'kinesalite + dynalite in memory, own process',
  gateway: build.source === 'bundle' ? `the bundle ${build.bundle}` : `production bundle (app/build.mjs) of ${build.source === 'HEAD' ? `commit ${build.commit}` : build.source === 'worktree' ? `the working tree at ${build.commit}${build.dirty.length ? ` + ${build.dirty.length} uncommitted file(s)` : ''}` : 'app/dist as found'}, consumer off`,
};
const gatewayBuild = { source: build.source, commit: build.commit, uncommitted: build.dirty };
process.stdout.write(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memGB} GiB, node ${machine.node}\nsettings: ${JSON.stringify(settings)}\n`);

if (a.soak) {
  const soak = await runSoak(ctx, { seconds: positive('soak', a.soak), rate: positive('rate', a.rate), connections: Math.min(ctx.connections, 16), env: gatewayEnv });
  process.stdout.write(
    `\nsoak: ${soak.load.responses} responses, ${soak.load.rps.toFixed(0)} req/s, errors ${soak.load.non2xx + soak.load.socketErrors}, p99 ${soak.load.latencyMs.p99.toFixed(1)} ms, stream ${soak.stream.records}/${soak.stream.accepted} ${soak.stream.match ? '✓' : '✗'}, gateway CPU ${soak.cpuMicrosPerRequest.toFixed(0)} µs/req\n`,
  );
  process.stdout.write(`${soak.verdict.text}\n`);
  process.stdout.write(`results: ${writeResults('soak', { machine, settings, gatewayBuild, soak })}\n`);
} else {
  const profile = a['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${a['cpu-prof']}`] : undefined;
  const all: ScenarioSpec[] = [
    { name: 'bare', kind: 'bare' },
    { name: 'floor', kind: 'floor' },
    { name: 'batching-off', kind: 'gateway', env: { KINESIS_BATCHING: 'false' } },
    { name: 'batching', kind: 'gateway', env: Object.keys(gatewayEnv).length ? gatewayEnv : undefined, nodeArgs: profile },
  ];
  if (!a['no-encryption']) {
    all.push({
      name: 'encryption',
      kind: 'gateway',
      env: { ...gatewayEnv, SENSITIVE_FIELDS: 'patientName', FIELD_ENCRYPTION_KEY_FILE: writeKeyFile(tmpDir) },
      expectEncryptedField: 'patientName',
      nodeArgs: profile,
    });
  }
  if (a.sweep) {
    for (const inFlight of [1, 2, 4]) {
      for (const linger of [0, 1, 2]) {
        all.push({ name: `inflight=${inFlight} linger=${linger}`, kind: 'gateway', env: { KINESIS_MAX_IN_FLIGHT: String(inFlight), KINESIS_LINGER_MS: String(linger) } });
      }
    }
  }
  const only = a.only?.split(',').map((s) => s.trim());
  const specs = only ? all.filter((s) => only.includes(s.name)) : all;
  if (a['cpu-prof']) {
    // The profile names bundle lines; keep the bundle beside it for bench/profileSummary.ts.
    mkdirSync(a['cpu-prof'], { recursive: true });
    copyFileSync(build.bundle, join(a['cpu-prof'], 'server.mjs'));
  }
  const results: ScenarioResult[] = [];
  for (const spec of specs) results.push(await runScenario(ctx, spec));
  if (!a['no-consumer'] && (!only || only.includes('consumer'))) {
    const consumer = { latencyMs: Number(a['dynamodb-latency-ms']), records: positive('consumer-records', a['consumer-records']), rate: Number(a['consumer-rate']) || 0, seconds: positive('consumer-seconds', a['consumer-seconds']), batchSize: Number(a['consumer-batch-size']) || 0 };
    await benchConsumer({ emulators, kinesis: ctx.kinesis, dynamo: ctx.dynamo, tmpDir, runId: ctx.runId, machine, ...consumer });
  }
  if (only?.includes('large-bodies')) await (await import('./largeBodies')).benchLargeBodies(ctx, gatewayEnv);
  if (specs.length === 0) {
    await emulators.stop();
    process.exit(0);
  }

  const checks = checkTargets(results);
  process.stdout.write(`\n${resultsTable(results)}\n\n${targetsText(checks)}\n`);
  for (const r of results) if (r.skipped) process.stdout.write(`note: ${r.name}: ${r.skipped}\n`);
  for (const r of results) {
    if ((r.cpu?.otherProcessesCores ?? 0) > 0.2) {
      process.stdout.write(`note: ${r.name}: other processes took ${r.cpu!.otherProcessesCores.toFixed(2)} of the ${machine.cpus} cores during its window; its figures are noisy\n`);
    }
  }
  process.stdout.write(`results: ${writeResults('bench', { machine, settings, gatewayBuild, results, targets: checks })}\n`);
}
await emulators.stop();
process.exit(0);
