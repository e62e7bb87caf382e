import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AutocannonRequest } from 'autocannon';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureStream, ensureTables } from '../local/provision';
import { cpuMicros, machineBusyMicros } from './cpu';
import type { BenchEmulators } from './emulators';
import { startBareEcho, startGateway, type ServerProcess } from './gateway';
import { runLoad, type LoadResult } from './load';
import { ChildExitedError } from './processes';
import { countStream, type StreamCount } from './streamCount';
import { PATIENT_NAME } from './workload';

/**
 * What one scenario runs: the bare echo, the gateway's floor (the app without AWS calls, `gatewayFloor.ts`),
 * or the gateway with some environment on top of the base one.
 */
export interface ScenarioSpec {
  name: string;
  kind: 'gateway' | 'bare' | 'floor';
  /** Gateway variables on top of the base environment (e.g. `KINESIS_BATCHING: 'false'`). */
  env?: Record<string, string>;
  /** Check that this `data` field reached the stream encrypted (the field-encryption scenario). */
  expectEncryptedField?: string;
  /** Extra node flags for the gateway, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}

/** Everything the scenarios share. */
export interface BenchContext {
  emulators: BenchEmulators;
  kinesis: KinesisClient;
  dynamo: DynamoDBDocumentClient;
  requests: AutocannonRequest[];
  jwtSecret: string;
  connections: number;
  durationSec: number;
  warmupSec: number;
  shards: number;
  logLevel: string;
  /** Scratch directory: gateway logs, the encryption key file. */
  tmpDir: string;
  runId: string;
  /** The gateway bundle to run. */
  bundle: string;
}

export interface ScenarioResult {
  name: string;
  kind: ScenarioSpec['kind'];
  env: Record<string, string>;
  /** Set when the scenario could not run or had no effect; its figures are then not compared. */
  skipped?: string;
  warmup?: { responses: number; ok2xx: number };
  load?: LoadResult;
  /** Non-2xx responses plus socket errors, warm-up included. */
  errors?: number;
  cpu?: {
    /** The measured process's CPU time per response in the window, µs. */
    serverMicrosPerRequest: number;
    /** Cores the measured process used on average. */
    serverCores: number;
    emulatorMicrosPerRequest: number;
    /** autocannon's own process. */
    loadGeneratorMicrosPerRequest: number;
    /** Cores that processes other than the bench's took during the window: noise when it is not ~0. */
    otherProcessesCores: number;
  };
  /** Calls the emulators received during the measured window, by operation. */
  calls?: Record<string, number>;
  /** 2xx in the window / PutRecords calls in the window (exact: the window starts and ends drained). */
  meanRecordsPerPutRecords?: number;
  meanItemsPerBatchWriteItem?: number;
  stream?: StreamCount & { name: string; accepted: number; match: boolean };
  logFile?: string;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** The idempotency table of a scenario, named after its status table. */
const idempotencyTableOf = (statusTable: string) => `${statusTable}-idempotency`;

/** The gateway's environment for a fresh stream, status table and idempotency table. */
function gatewayEnv(ctx: BenchContext, stream: string, table: string, extra: Record<string, string>): Record<string, string> {
  return {
    KINESIS_ENDPOINT: ctx.emulators.kinesisEndpoint,
    DYNAMODB_ENDPOINT: ctx.emulators.dynamoEndpoint,
    KINESIS_STREAM_NAME: stream,
    KINESIS_SHARD_COUNT: String(ctx.shards),
    KINESIS_CREATE_STREAM: 'false',
    STATUS_TABLE_NAME: table,
    IDEMPOTENCY_TABLE_NAME: idempotencyTableOf(table),
    JWT_SECRET: ctx.jwtSecret,
    LOG_LEVEL: ctx.logLevel,
    METRICS_NAMESPACE: 'ResourceGatewayBench',
    ...extra,
  };
}

/** Writes a 32-byte random key file for the field-encryption scenario. */
export function writeKeyFile(dir: string): string {
  const file = join(dir, 'field-key.bin');
  writeFileSync(file, randomBytes(32), { mode: 0o600 });
  return file;
}

/**
 * One scenario on a fresh stream and table: start the server, warm up, measure a drained window (CPU from
 * /proc, emulator call counts), stop the server (it drains), then read the whole stream and match it
 * against every 2xx the bench received, warm-up included.
 */
export async function runScenario(ctx: BenchContext, spec: ScenarioSpec): Promise<ScenarioResult> {
  const stream = `bench-${ctx.runId}-${spec.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  const table = `${stream}-status`;
  const logFile = join(ctx.tmpDir, `${spec.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`);
  const env = spec.kind === 'bare' ? {} : gatewayEnv(ctx, stream, table, spec.env ?? {});
  process.stdout.write(`\n== ${spec.name}${spec.env ? `  (${Object.entries(spec.env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}\n`);

  let server: ServerProcess;
  try {
    if (spec.kind === 'gateway') {
      await ensureStream(ctx.kinesis, stream, ctx.shards);
      await ensureTables(ctx.dynamo, { statusTable: table, idempotencyTable: idempotencyTableOf(table) });
      server = await startGateway({ bundle: ctx.bundle, env, logFile, nodeArgs: spec.nodeArgs });
    } else {
      server = await startBareEcho(spec.kind === 'floor' ? { env, logFile } : undefined);
    }
  } catch (e) {
    if (e instanceof ChildExitedError) {
      const why = `the server refused to start (exit ${e.exitCode}): ${e.stderr.split('\n').slice(-3).join(' ')}`;
      process.stdout.write(`  skipped: ${why}\n`);
      return { name: spec.name, kind: spec.kind, env, skipped: why };
    }
    throw e;
  }

  try {
    const base = { url: server.url, connections: ctx.connections, requests: ctx.requests };
    const warm = await runLoad({ ...base, label: `${spec.name} warm-up`, durationSec: ctx.warmupSec });

    const counts0 = await ctx.emulators.counts();
    const machine0 = machineBusyMicros();
    const emu0 = cpuMicros(ctx.emulators.pid);
    const self0 = process.cpuUsage();
    const cpu0 = cpuMicros(server.pid);
    let lastCpu = cpu0;
    const load = await runLoad({
      ...base,
      label: spec.name,
      durationSec: ctx.durationSec,
      progress: () => {
        const now = cpuMicros(server.pid);
        const pct = (now - lastCpu) / 1e4;
        lastCpu = now;
        return `server CPU ${pct.toFixed(0)}%`;
      },
    });
    const cpu1 = cpuMicros(server.pid);
    const self1 = process.cpuUsage(self0);
    const emu1 = cpuMicros(ctx.emulators.pid);
    const machine1 = machineBusyMicros();
    const ours = cpu1 - cpu0 + (emu1 - emu0) + self1.user + self1.system;
    const calls = diff(await ctx.emulators.counts(), counts0);
    await server.stop();

    const result: ScenarioResult = {
      name: spec.name,
      kind: spec.kind,
      env,
      warmup: { responses: warm.responses, ok2xx: warm.ok2xx },
      load,
      errors: warm.non2xx + warm.socketErrors + load.non2xx + load.socketErrors,
      cpu: {
        serverMicrosPerRequest: (cpu1 - cpu0) / load.responses,
        serverCores: (cpu1 - cpu0) / 1e6 / load.seconds,
        emulatorMicrosPerRequest: (emu1 - emu0) / load.responses,
        loadGeneratorMicrosPerRequest: (self1.user + self1.system) / load.responses,
        otherProcessesCores: Math.max(0, machine1 - machine0 - ours) / 1e6 / load.seconds,
      },
      calls,
      logFile: spec.kind === 'bare' ? undefined : logFile,
    };
    if (spec.kind === 'gateway') {
      if (calls.PutRecords) result.meanRecordsPerPutRecords = load.ok2xx / calls.PutRecords;
      if (calls.BatchWriteItem) result.meanItemsPerBatchWriteItem = load.ok2xx / calls.BatchWriteItem;
      const accepted = warm.ok2xx + load.ok2xx;
      const count = await countStream(ctx.kinesis, stream);
      result.stream = { ...count, name: stream, accepted, match: count.records === accepted && count.distinctRequestIds === accepted };
      if (spec.expectEncryptedField) {
        const field = spec.expectEncryptedField;
        const data = (count.sample?.data ?? {}) as Record<string, unknown>;
        const listed = Array.isArray(count.sample?.encryptedFields) && (count.sample.encryptedFields as string[]).includes(field);
        if (!listed && data[field] === PATIENT_NAME) {
          result.skipped = `the gateway started with SENSITIVE_FIELDS=${field} but '${field}' reached the stream in plain text: field encryption has no effect yet`;
          process.stdout.write(`  note: ${result.skipped}\n`);
        }
      }
    }
    return result;
  } finally {
    await server.stop();
  }
}
