import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ensureStream, ensureTables } from '../local/provision';
import { cpuMicros, rssBytes } from './cpu';
import { startGateway } from './gateway';
import { runLoad, type LoadResult } from './load';
import type { BenchContext } from './scenario';
import { countStream } from './streamCount';

const HEAP_PROBE = fileURLToPath(new URL('./heapProbe.mjs', import.meta.url));
const SAMPLE_MS = 5000;

/** One memory sample of the gateway. */
export interface MemorySample {
  /** Seconds since the load started. */
  t: number;
  rssMB: number;
  heapUsedMB?: number;
  heapTotalMB?: number;
  /** Requests answered in the last interval, per second. */
  rps: number;
}

export interface SoakResult {
  seconds: number;
  rate: number;
  connections: number;
  env: Record<string, string>;
  samples: MemorySample[];
  load: LoadResult;
  stream: { records: number; accepted: number; match: boolean };
  cpuMicrosPerRequest: number;
  verdict: { flat: boolean; rssGrowth: number; heapGrowth?: number; rssSlopeMBPerMin: number; text: string };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

/**
 * Flat or growing: drop the warm-up samples (the first fifth, at least 15 s), then compare the mean of the last
 * third with the mean of the first third. A leak grows steadily; a GC sawtooth averages out over a third.
 */
export function memoryVerdict(samples: MemorySample[], tolerance = 0.15): SoakResult['verdict'] {
  const skip = Math.max(15, samples.at(-1)!.t / 5);
  const steady = samples.filter((s) => s.t >= skip);
  if (steady.length < 6) return { flat: false, rssGrowth: NaN, rssSlopeMBPerMin: NaN, text: 'too few samples after warm-up for a verdict (run longer)' };
  const third = Math.floor(steady.length / 3);
  const first = steady.slice(0, third);
  const last = steady.slice(-third);
  const rssGrowth = mean(last.map((s) => s.rssMB)) / mean(first.map((s) => s.rssMB)) - 1;
  const heaps = steady.every((s) => s.heapUsedMB !== undefined);
  const heapGrowth = heaps ? mean(last.map((s) => s.heapUsedMB!)) / mean(first.map((s) => s.heapUsedMB!)) - 1 : undefined;
  const rssSlopeMBPerMin = slope(steady.map((s) => s.t), steady.map((s) => s.rssMB)) * 60;
  const flat = Math.abs(rssGrowth) <= tolerance && (heapGrowth === undefined || heapGrowth <= tolerance);
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const text = `${flat ? 'FLAT' : 'GROWING'}: last third vs first third after ${Math.round(skip)} s warm-up: RSS ${pct(rssGrowth)}${heapGrowth !== undefined ? `, heap used ${pct(heapGrowth)}` : ''} (tolerance ±${tolerance * 100}%); RSS slope ${rssSlopeMBPerMin.toFixed(2)} MB/min`;
  return { flat, rssGrowth, heapGrowth, rssSlopeMBPerMin, text };
}

/** Runs the batching gateway for `seconds` at a steady `rate`, sampling its RSS (/proc) and heap (probe) every 5 s. */
export async function runSoak(ctx: BenchContext, o: { seconds: number; rate: number; connections: number; env?: Record<string, string> }): Promise<SoakResult> {
  const stream = `bench-${ctx.runId}-soak`;
  const table = `${stream}-status`;
  const idempotencyTable = `${stream}-idempotency`;
  await ensureStream(ctx.kinesis, stream, ctx.shards);
  await ensureTables(ctx.dynamo, { statusTable: table, idempotencyTable });
  const env = {
    KINESIS_ENDPOINT: ctx.emulators.kinesisEndpoint,
    DYNAMODB_ENDPOINT: ctx.emulators.dynamoEndpoint,
    KINESIS_STREAM_NAME: stream,
    KINESIS_SHARD_COUNT: String(ctx.shards),
    STATUS_TABLE_NAME: table,
    IDEMPOTENCY_TABLE_NAME: idempotencyTable,
    JWT_SECRET: ctx.jwtSecret,
    LOG_LEVEL: ctx.logLevel,
    ...o.env,
  };
  let heap: { heapUsed: number; heapTotal: number } | undefined;
  const gateway = await startGateway({
    bundle: ctx.bundle,
    env,
    logFile: join(ctx.tmpDir, 'soak.log'),
    nodeArgs: ['--import', HEAP_PROBE],
    onStderrLine: (l) => {
      if (l.startsWith('BENCH_HEAP ')) heap = JSON.parse(l.slice(11));
      else if (l.trim()) process.stderr.write(`  [gateway] ${l}\n`);
    },
  });
  process.stdout.write(`\n== soak: ${o.seconds} s at ${o.rate} req/s over ${o.connections} connections (batching gateway, pid ${gateway.pid})\n`);
  process.stdout.write(`  ${'t s'.padStart(5)} ${'req/s'.padStart(7)} ${'RSS MB'.padStart(8)} ${'heap MB'.padStart(8)}\n`);
  try {
    const samples: MemorySample[] = [];
    const started = performance.now();
    let answered = 0;
    let lastAnswered = 0;
    const sampler = setInterval(() => {
      const s: MemorySample = {
        t: Math.round((performance.now() - started) / 1000),
        rssMB: rssBytes(gateway.pid) / 2 ** 20,
        heapUsedMB: heap ? heap.heapUsed / 2 ** 20 : undefined,
        heapTotalMB: heap ? heap.heapTotal / 2 ** 20 : undefined,
        rps: (answered - lastAnswered) / (SAMPLE_MS / 1000),
      };
      lastAnswered = answered;
      samples.push(s);
      process.stdout.write(`  ${String(s.t).padStart(5)} ${s.rps.toFixed(0).padStart(7)} ${s.rssMB.toFixed(1).padStart(8)} ${(s.heapUsedMB?.toFixed(1) ?? '-').padStart(8)}\n`);
    }, SAMPLE_MS);
    const cpu0 = cpuMicros(gateway.pid);
    const load = await runLoad({
      label: 'soak',
      url: gateway.url,
      connections: o.connections,
      durationSec: o.seconds,
      overallRate: o.rate,
      requests: ctx.requests,
      progressEverySec: 0,
      onResponse: () => answered++,
    });
    const cpu1 = cpuMicros(gateway.pid);
    clearInterval(sampler);
    await gateway.stop();
    const count = await countStream(ctx.kinesis, stream);
    const verdict = memoryVerdict(samples);
    return {
      seconds: o.seconds,
      rate: o.rate,
      connections: o.connections,
      env,
      samples,
      load,
      stream: { records: count.records, accepted: load.ok2xx, match: count.records === load.ok2xx && count.distinctRequestIds === load.ok2xx },
      cpuMicrosPerRequest: (cpu1 - cpu0) / load.responses,
      verdict,
    };
  } finally {
    await gateway.stop();
  }
}
