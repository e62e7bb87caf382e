import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { ensureStream, ensureTables } from '../local/provision';
import { signToken } from '../local/signToken';
import { startGateway } from './gateway';
import type { BenchContext } from './scenario';
import { BENCH_PERMISSION } from './workload';

/**
 * `npm run bench -- --only large-bodies`: the gateway's peak memory under many concurrent large bodies. Each
 * wave sends N bodies at once, each on its own connection, to a fresh gateway with its default settings (the
 * body budget of a 2 GiB task), and reads the gateway's peak RSS from the kernel (VmHWM), so no sample can
 * miss the peak. The bound to stay under is 450 MB at 150 and at 1,000.
 */

/** Peak RSS the gateway must stay under, whatever the number of concurrent large bodies. */
const RSS_BOUND_MB = 450;

interface Wave {
  concurrency: number;
  bodyBytes: number;
}

/** ~1 MiB (larger than a store item: read, decoded and parsed, then refused 413) and ~380 KB (taken: on the stream). */
const WAVES: Wave[] = [
  { concurrency: 150, bodyBytes: 1_000_000 },
  { concurrency: 1000, bodyBytes: 1_000_000 },
  { concurrency: 150, bodyBytes: 380_000 },
  { concurrency: 1000, bodyBytes: 380_000 },
];

export interface WaveResult extends Wave {
  startRssMb: number;
  peakRssMb: number;
  statuses: Record<string, number>;
  seconds: number;
  underBound: boolean;
}

/** A kB figure of /proc/<pid>/status (VmRSS now, VmHWM the peak since start), in MB. */
function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** A create body of about `bytes` bytes: one long string field. */
function bodyOf(bytes: number): Buffer {
  return Buffer.from(JSON.stringify({ data: { notes: 'x'.repeat(bytes - 22) } }));
}

/** Sends `n` POSTs of `body` at once, each on its own connection; resolves with the count per status. */
async function sendWave(url: string, token: string, body: Buffer, n: number): Promise<Record<string, number>> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const headers = {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
    'X-Business-ID': 'bench',
    'X-Location-ID': 'large',
    'X-Resource-Type': 'appointment',
  };
  const one = () =>
    new Promise<string>((resolve) => {
      const req = request(`${url}/api/resources/bench-large`, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      req.end(body);
    });
  const statuses: Record<string, number> = {};
  for (const s of await Promise.all(Array.from({ length: n }, one))) statuses[s] = (statuses[s] ?? 0) + 1;
  agent.destroy();
  return statuses;
}

async function runWave(ctx: BenchContext, wave: Wave, token: string, env: Record<string, string>): Promise<WaveResult> {
  const name = `large-${wave.concurrency}-${wave.bodyBytes}`;
  const stream = `bench-${ctx.runId}-${name}`;
  await ensureStream(ctx.kinesis, stream, ctx.shards);
  const statusTable = `${stream}-status`;
  const idempotencyTable = `${stream}-idempotency`;
  await ensureTables(ctx.dynamo, { statusTable, idempotencyTable });
  const gateway = await startGateway({
    bundle: ctx.bundle,
    logFile: join(ctx.tmpDir, `${name}.log`),
    env: {
      KINESIS_ENDPOINT: ctx.emulators.kinesisEndpoint,
      DYNAMODB_ENDPOINT: ctx.emulators.dynamoEndpoint,
      KINESIS_STREAM_NAME: stream,
      STATUS_TABLE_NAME: statusTable,
      IDEMPOTENCY_TABLE_NAME: idempotencyTable,
      JWT_SECRET: ctx.jwtSecret,
      LOG_LEVEL: ctx.logLevel,
      METRICS_NAMESPACE: 'ResourceGatewayBench',
      SPOOL_DIR: join(ctx.tmpDir, `${name}-spool`),
      ...env,
    },
  });
  try {
    const startRssMb = procStatusMb(gateway.pid, 'VmRSS');
    const started = performance.now();
    const statuses = await sendWave(gateway.url, token, bodyOf(wave.bodyBytes), wave.concurrency);
    const peakRssMb = procStatusMb(gateway.pid, 'VmHWM');
    return { ...wave, startRssMb, peakRssMb, statuses, seconds: (performance.now() - started) / 1000, underBound: peakRssMb < RSS_BOUND_MB };
  } finally {
    await gateway.stop();
  }
}

/** Runs every wave and prints one line each, with the gateway's peak RSS against the bound. */
export async function benchLargeBodies(ctx: BenchContext, env: Record<string, string> = {}): Promise<WaveResult[]> {
  const token = await signToken(ctx.jwtSecret, { sub: 'bench', permissions: [BENCH_PERMISSION], ttl: '2h' });
  const results: WaveResult[] = [];
  process.stdout.write(`\n== large-bodies (peak RSS must stay under ${RSS_BOUND_MB} MB)\n`);
  for (const wave of WAVES) {
    const r = await runWave(ctx, wave, token, env);
    results.push(r);
    const statuses = Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(', ');
    process.stdout.write(
      `  ${String(r.concurrency).padStart(5)} x ${(r.bodyBytes / 1000).toFixed(0).padStart(5)} kB: peak RSS ${r.peakRssMb} MB (start ${r.startRssMb} MB) ${r.underBound ? '✓' : '✗'}  in ${r.seconds.toFixed(1)} s  [${statuses}]\n`,
    );
  }
  return results;
}
