import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoClient } from '../common/awsClients';
import { encodeOperation, partitionKey, type ResourceOperation } from '../contract/operation';
import { CONSUMER_SETTINGS } from '../consumer-stub/src/eventSourceSettings';
import { ensureStream, ensureTables } from '../local/provision';
import { startConsumerChild, type ConsumerChild } from './consumerChild';
import type { BenchEmulators } from './emulators';
import { startProxyChild, type ProxyChild } from './latencyProxyChild';
import { consumerTable, consumerTargets, targetsText, writeResults } from './report';

/**
 * The consumer's benchmark: the local consumer process (local/consumer.ts: the handler behind the
 * local event source mapping) against kinesalite, with every DynamoDB call through a latency-injecting proxy.
 * One shard, parallelization factor 1, the deployed batch size. See bench/README.md.
 */
export interface ConsumerBenchContext {
  kinesis: KinesisClient;
  kinesisEndpoint: string;
  /** The bench's own client to the emulator, not delayed (table set-up). */
  dynamo: DynamoDBDocumentClient;
  proxy: ProxyChild;
  latencyMs: number;
  records: number;
  /** Offered rate of the steady-rate scenario, records/s; 0: half the 10-key drain rate measured in this run. */
  rate: number;
  steadySeconds: number;
  tmpDir: string;
  runId: string;
  /** The event source's batch size (CONSUMER_BATCH_SIZE of the local consumer). */
  batchSize: number;
}

/** One drain scenario: throughput, calls and CPU for a first delivery and for the same records delivered again. */
export interface DrainResult {
  name: string;
  records: number;
  recordsPerSec: number;
  /** The emulator's ceiling measured just before this drain (the machine's load drifts between scenarios). */
  ceilingWritesPerSec: number;
  /** What one bare conditional PutItem cost the bench's own process in CPU during the ceiling: the SDK's price here, now. */
  sdkCpuMicrosPerCall: number;
  shareOfCeiling: number;
  cpuMicrosPerRecord: number;
  callsPerRecord: { first: number; redelivery: number };
  calls: { first: Record<string, number>; redelivery: Record<string, number> };
  redeliveryRecordsPerSec: number;
}

export interface SteadyResult {
  offeredPerSec: number;
  seconds: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Least-squares slope of the backlog (records produced and not yet done) over the run, records/s. */
  backlogSlopePerSec: number;
  backlogGrows: boolean;
  maxBacklog: number;
}

export interface ConsumerBenchResult {
  latencyMs: number;
  batchSize: number;
  drains: DrainResult[];
  steady: SteadyResult;
}

/** The control-plane calls of a consumer's start-up, left out of the per-record counts. */
const CONTROL_PLANE = new Set(['DescribeTable', 'CreateTable', 'ListTables', 'UpdateTimeToLive']);

export async function runConsumerBench(ctx: ConsumerBenchContext): Promise<ConsumerBenchResult> {
  const drains: DrainResult[] = [];
  for (const [name, keys] of [['creates, 10 partition keys', 10], ['creates, 1 partition key', 1]] as const) {
    const ceiling = await measureCeiling(ctx, ctx.records, keys);
    process.stdout.write(`consumer: emulator ceiling ${ceiling.rate.toFixed(0)} conditional writes/s (32 in flight, +${ctx.latencyMs} ms), ${ceiling.cpuMicrosPerCall.toFixed(0)} µs CPU per call\n`);
    const d = { ...(await measureDrain(ctx, name, keys, ceiling.rate)), sdkCpuMicrosPerCall: ceiling.cpuMicrosPerCall };
    process.stdout.write(`consumer: ${name}: ${d.recordsPerSec.toFixed(0)} records/s (${(d.shareOfCeiling * 100).toFixed(0)}% of the ceiling), ${d.callsPerRecord.first.toFixed(2)} calls/record, redelivered ${d.callsPerRecord.redelivery.toFixed(3)}, ${d.cpuMicrosPerRecord.toFixed(0)} µs CPU/record\n`);
    drains.push(d);
  }
  const steady = await measureSteady({ ...ctx, rate: ctx.rate || Math.max(1, Math.round(drains[0]!.recordsPerSec / 2)) });
  return { latencyMs: ctx.latencyMs, batchSize: ctx.batchSize, drains, steady };
}

/** Creates of distinct resources spread over `keys` partition keys, in stream order. */
function creates(n: number, keys: number, prefix: string): ResourceOperation[] {
  return Array.from({ length: n }, (_, i) => ({
    businessId: `${prefix}-${i % keys}`,
    locationId: 'loc-1',
    resourceType: 'appointment',
    requestId: randomUUID(),
    timestamp: new Date().toISOString(),
    operation: 'create' as const,
    resourceId: `r${i}`,
    data: { patientName: 'Ann Example', slot: i, status: 'confirmed' },
  }));
}

async function put(kinesis: KinesisClient, stream: string, ops: ResourceOperation[]): Promise<void> {
  for (let i = 0; i < ops.length; i += 500) {
    const chunk = ops.slice(i, i + 500);
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: chunk.map((op) => ({ Data: encodeOperation(op), PartitionKey: partitionKey(op) })) }));
    if (out.FailedRecordCount) throw new Error(`kinesalite refused ${out.FailedRecordCount} records`);
  }
}

/** A fresh stream of one shard and fresh tables, so each scenario starts empty. */
async function freshStreamAndTables(ctx: ConsumerBenchContext, tag: string) {
  const names = { stream: `consumer-${ctx.runId}-${tag}`, statusTable: `status-${ctx.runId}-${tag}`, resourcesTable: `resources-${ctx.runId}-${tag}` };
  await ensureStream(ctx.kinesis, names.stream, 1);
  await ensureTables(ctx.dynamo as unknown as DynamoDBClient, { statusTable: names.statusTable, resourcesTable: names.resourcesTable });
  return names;
}

function consumerEnv(ctx: ConsumerBenchContext, names: { stream: string; statusTable: string; resourcesTable: string }, dataDir: string) {
  return {
    KINESIS_ENDPOINT: ctx.kinesisEndpoint,
    DYNAMODB_ENDPOINT: ctx.proxy.endpoint,
    KINESIS_STREAM_NAME: names.stream,
    STATUS_TABLE_NAME: names.statusTable,
    RESOURCES_TABLE_NAME: names.resourcesTable,
    DATA_DIR: join(ctx.tmpDir, dataDir),
    // As deployed: info (a summary line per batch; a line per failed operation).
    LOG_LEVEL: 'info',
    CONSUMER_BATCH_SIZE: String(ctx.batchSize),
  };
}

const dataCalls = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).filter(([op]) => !CONTROL_PLANE.has(op)).map(([op, n]) => [op, n - (before[op] ?? 0)]).filter(([, n]) => (n as number) > 0)) as Record<string, number>;
const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

async function deliverOnce(ctx: ConsumerBenchContext, names: Parameters<typeof consumerEnv>[1], dataDir: string, n: number) {
  const before = await ctx.proxy.counts();
  const consumer = await startConsumerChild(consumerEnv(ctx, names, dataDir));
  try {
    const m = await consumer.measureUntil(n, 180_000);
    const calls = dataCalls(before, await ctx.proxy.counts());
    return { ...m, calls };
  } finally {
    await consumer.stop();
  }
}

async function measureDrain(ctx: ConsumerBenchContext, name: string, keys: number, ceiling: number): Promise<Omit<DrainResult, 'sdkCpuMicrosPerCall'>> {
  const tag = `drain${keys}`;
  const names = await freshStreamAndTables(ctx, tag);
  await put(ctx.kinesis, names.stream, creates(ctx.records, keys, `b${tag}`));
  const first = await deliverOnce(ctx, names, `${tag}-first`, ctx.records);
  // A fresh checkpoint reads the shard from its start again: every record a duplicate, as after a lost checkpoint.
  const again = await deliverOnce(ctx, names, `${tag}-again`, ctx.records);
  return {
    name,
    records: ctx.records,
    recordsPerSec: first.recordsPerSec,
    ceilingWritesPerSec: ceiling,
    shareOfCeiling: first.recordsPerSec / ceiling,
    cpuMicrosPerRecord: first.cpuMicrosPerRecord,
    callsPerRecord: { first: sum(first.calls) / ctx.records, redelivery: sum(again.calls) / ctx.records },
    calls: { first: first.calls, redelivery: again.calls },
    redeliveryRecordsPerSec: again.recordsPerSec,
  };
}

/** The emulator's ceiling through the same proxy: one conditional PutItem per record, 32 in flight. */
async function measureCeiling(ctx: ConsumerBenchContext, n: number, tag: number): Promise<{ rate: number; cpuMicrosPerCall: number }> {
  const table = `ceiling-${ctx.runId}-${tag}`;
  await ensureTables(ctx.dynamo as unknown as DynamoDBClient, { statusTable: `${table}-status`, resourcesTable: table });
  const client = createDynamoClient({ region: 'us-east-1', endpoint: ctx.proxy.endpoint, maxSockets: 64 });
  const writeAll = async (prefix: string, count: number, inFlight: number) => {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < count; i = next++) {
        const Item = { pk: 'b#l#t', resourceId: `${prefix}${i}`, data: { patientName: 'Ann Example', slot: i }, applied: [randomUUID()], version: 1 };
        await client.send(new PutCommand({ TableName: table, Item, ConditionExpression: 'attribute_not_exists(pk)' }));
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  };
  await writeAll('warm', 200, 32); // sockets and code paths warm, not timed
  const started = performance.now();
  const cpu = process.cpuUsage();
  await writeAll('r', n, 32);
  const rate = (n / (performance.now() - started)) * 1000;
  const used = process.cpuUsage(cpu);
  client.destroy();
  return { rate, cpuMicrosPerCall: (used.user + used.system) / n };
}

/** Records offered at a steady rate while the consumer runs: latency from acknowledgement to completion, and the backlog. */
async function measureSteady(ctx: ConsumerBenchContext): Promise<SteadyResult> {
  const names = await freshStreamAndTables(ctx, 'steady');
  const consumer: ConsumerChild = await startConsumerChild(consumerEnv(ctx, names, 'steady'));
  try {
    // One record first, so the consumer is polling when the measured load starts.
    await put(ctx.kinesis, names.stream, creates(1, 1, 'steady-warm'));
    await consumer.waitFor(1, 60_000);
    const warm = consumer.ages().length;
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((ctx.rate * tickMs) / 1000));
    const samples: [number, number][] = [];
    let produced = 0;
    const started = performance.now();
    for (let t = 0; performance.now() - started < ctx.steadySeconds * 1000; t++) {
      // Each operation's timestamp is taken just before its PutRecords: the moment the gateway would answer 202.
      const ops = creates(perTick, 10, `steady${t}`);
      await put(ctx.kinesis, names.stream, ops);
      produced += ops.length;
      samples.push([(performance.now() - started) / 1000, produced + 1 - consumer.done()]);
      const wait = started + (t + 1) * tickMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const seconds = (performance.now() - started) / 1000;
    await consumer.waitFor(produced + 1, 120_000);
    return { offeredPerSec: produced / seconds, seconds, latencyMs: percentiles(consumer.ages().slice(warm)), ...backlog(samples, produced / seconds) };
  } finally {
    await consumer.stop();
  }
}

function percentiles(values: number[]): SteadyResult['latencyMs'] {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.at(-1) ?? NaN };
}

function backlog(samples: [number, number][], offered: number) {
  const n = samples.length;
  const mx = samples.reduce((a, [x]) => a + x, 0) / n;
  const my = samples.reduce((a, [, y]) => a + y, 0) / n;
  const slope = samples.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / Math.max(1e-9, samples.reduce((a, [x]) => a + (x - mx) ** 2, 0));
  // Growing: the backlog rises by more than 5% of the offered rate each second, sustained over the run.
  return { backlogSlopePerSec: slope, backlogGrows: slope > 0.05 * offered, maxBacklog: Math.max(...samples.map(([, y]) => y)) };
}

/** Runs the consumer scenario behind a latency proxy in front of the bench's dynalite, prints and saves its results. */
export async function benchConsumer(o: {
  emulators: BenchEmulators;
  kinesis: KinesisClient;
  dynamo: DynamoDBDocumentClient;
  tmpDir: string;
  runId: string;
  machine: unknown;
  latencyMs: number;
  records: number;
  rate: number;
  seconds: number;
  batchSize?: number;
}): Promise<ConsumerBenchResult> {
  const batchSize = o.batchSize || CONSUMER_SETTINGS.batchSize;
  const proxy = await startProxyChild(o.emulators.dynamoEndpoint, o.latencyMs);
  try {
    const settings = { ...CONSUMER_SETTINGS, batchSize, latencyMs: o.latencyMs, records: o.records, rate: o.rate, seconds: o.seconds, shards: 1, parallelizationFactor: 1 };
    process.stdout.write(`\nconsumer scenario: ${JSON.stringify(settings)}\n`);
    const result = await runConsumerBench({
      kinesis: o.kinesis,
      kinesisEndpoint: o.emulators.kinesisEndpoint,
      dynamo: o.dynamo,
      proxy,
      latencyMs: o.latencyMs,
      records: o.records,
      rate: o.rate,
      steadySeconds: o.seconds,
      tmpDir: o.tmpDir,
      runId: o.runId,
      batchSize,
    });
    const checks = consumerTargets(result);
    process.stdout.write(`\n${consumerTable(result)}\n\n${targetsText(checks)}\n`);
    process.stdout.write(`results: ${writeResults('consumer', { machine: o.machine, settings, result, targets: checks })}\n`);
    return result;
  } finally {
    await proxy.stop();
  }
}
