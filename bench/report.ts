import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConsumerBenchResult } from './consumerBench';
import type { ScenarioResult } from './scenario';

/** One target, measured in this run. */
export interface TargetCheck {
  target: string;
  measured: string;
  pass: boolean | null;
  note?: string;
}

const f0 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1));
const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(2));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The results table: one row per scenario. */
export function resultsTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', '2xx (warm-up+run)', 'on stream', 'recs/PutRecords', 'items/BatchWrite', 'server CPU µs/req', 'cores', 'emulator CPU µs/req', 'autocannon CPU µs/req', 'other procs cores'];
  const rows = results.map((r) => {
    if (!r.load) return [r.name, 'skipped', ...header.slice(2).map(() => '')];
    const s = r.stream;
    return [
      r.skipped ? `${r.name} (no effect)` : r.name,
      f0(r.load.rps),
      f1(r.load.latencyMs.p50),
      f1(r.load.latencyMs.p95),
      f1(r.load.latencyMs.p99),
      f0(r.errors),
      s ? f0(s.accepted) : f0((r.warmup?.ok2xx ?? 0) + r.load.ok2xx),
      s ? `${f0(s.records)}${s.match ? ' ✓' : ' ✗'}` : 'n/a',
      r.meanRecordsPerPutRecords !== undefined ? f1(r.meanRecordsPerPutRecords) : r.calls?.PutRecord ? `1 (PutRecord)` : 'n/a',
      r.meanItemsPerBatchWriteItem !== undefined ? f1(r.meanItemsPerBatchWriteItem) : r.calls?.PutItem ? `1 (PutItem)` : 'n/a',
      f0(r.cpu?.serverMicrosPerRequest),
      f2(r.cpu?.serverCores),
      f0(r.cpu?.emulatorMicrosPerRequest),
      f0(r.cpu?.loadGeneratorMicrosPerRequest),
      f2(r.cpu?.otherProcessesCores),
    ];
  });
  return table(header, rows);
}

/** The gateway's targets, as ratios of this run's scenarios. */
export function checkTargets(results: ScenarioResult[]): TargetCheck[] {
  const by = (n: string) => results.find((r) => r.name === n && r.load && !r.skipped);
  const on = by('batching');
  const off = by('batching-off');
  const bare = by('bare');
  const floor = by('floor');
  const enc = results.find((r) => r.name === 'encryption');
  const checks: TargetCheck[] = [];
  if (on && off) {
    const ratio = on.load!.rps / off.load!.rps;
    const clean = on.errors === 0 && on.stream?.match === true;
    checks.push({
      target: 'req/s >= 3x batching-off, zero errors, every accepted record on the stream',
      measured: `${ratio.toFixed(2)}x (${f0(on.load!.rps)} vs ${f0(off.load!.rps)}), errors ${on.errors}, stream ${on.stream?.records}/${on.stream?.accepted}`,
      pass: ratio >= 3 && clean,
    });
    const p = on.load!.latencyMs.p99 / off.load!.latencyMs.p99;
    checks.push({
      target: 'p99 <= 0.5x batching-off',
      measured: `${p.toFixed(2)}x (${f1(on.load!.latencyMs.p99)} vs ${f1(off.load!.latencyMs.p99)} ms)`,
      pass: p <= 0.5,
    });
  }
  if (on) {
    checks.push({ target: 'mean batch >= 20 records per PutRecords', measured: f1(on.meanRecordsPerPutRecords), pass: (on.meanRecordsPerPutRecords ?? 0) >= 20 });
  }
  if (on && bare) {
    const r = on.cpu!.serverMicrosPerRequest / bare.cpu!.serverMicrosPerRequest;
    checks.push({
      target: 'CPU/request <= 4x bare',
      measured: `${r.toFixed(2)}x (${f0(on.cpu!.serverMicrosPerRequest)} vs ${f0(bare.cpu!.serverMicrosPerRequest)} µs)`,
      pass: r <= 4,
      note: floor
        ? `without any AWS call the gateway spends ${f0(floor.cpu!.serverMicrosPerRequest)} µs (${(floor.cpu!.serverMicrosPerRequest / bare.cpu!.serverMicrosPerRequest).toFixed(2)}x bare); the SDK calls add ${f0(on.cpu!.serverMicrosPerRequest - floor.cpu!.serverMicrosPerRequest)} µs`
        : undefined,
    });
  }
  if (enc && on) {
    if (enc.skipped || !enc.load) {
      checks.push({ target: 'field encryption req/s within 20% of batching', measured: enc.load ? `${f0(enc.load.rps)} req/s` : '-', pass: null, note: `skipped: ${enc.skipped}` });
    } else {
      const r = enc.load.rps / on.load!.rps;
      checks.push({
        target: 'field encryption req/s within 20% of batching',
        measured: `${r.toFixed(2)}x (${f0(enc.load.rps)} vs ${f0(on.load!.rps)})`,
        pass: r >= 0.8 && enc.errors === 0 && enc.stream?.match === true,
      });
    }
  }
  return checks;
}

/** The consumer scenario's table: one row per drain, then the steady-rate run. */
export function consumerTable(r: ConsumerBenchResult): string {
  const calls = (c: Record<string, number>) => Object.entries(c).map(([op, n]) => `${op} ${n}`).join(', ');
  const drains = table(
    ['drain (1 shard, factor 1)', 'records', 'records/s', 'ceiling writes/s', 'share of ceiling', 'calls/record', 'calls/record redelivered', 'redelivered records/s', 'consumer CPU µs/record', 'bare PutItem CPU µs', 'calls (first delivery)'],
    r.drains.map((d) => [d.name, f0(d.records), f0(d.recordsPerSec), f0(d.ceilingWritesPerSec), f2(d.shareOfCeiling), f2(d.callsPerRecord.first), f2(d.callsPerRecord.redelivery), f0(d.redeliveryRecordsPerSec), f0(d.cpuMicrosPerRecord), f0(d.sdkCpuMicrosPerCall), calls(d.calls.first)]),
  );
  const s = r.steady;
  const steady = table(
    ['steady rate', 'offered/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'backlog slope /s', 'max backlog', 'backlog grows'],
    [['ack -> completed', f0(s.offeredPerSec), f0(s.latencyMs.p50), f0(s.latencyMs.p95), f0(s.latencyMs.p99), f0(s.latencyMs.max), f1(s.backlogSlopePerSec), f0(s.maxBacklog), s.backlogGrows ? 'yes' : 'no']],
  );
  return `ceiling: the emulator's conditional PutItem/s (32 in flight, +${r.latencyMs} ms per call), measured before each drain; batch size ${r.batchSize}\n\n${drains}\n\n${steady}`;
}

/** The consumer's targets, measured in this run. */
export function consumerTargets(r: ConsumerBenchResult): TargetCheck[] {
  const [spread, one] = r.drains;
  const checks: TargetCheck[] = [];
  if (spread) {
    checks.push({ target: 'creates, 10 partition keys: records/s >= 0.5 of the emulator ceiling', measured: `${f2(spread.shareOfCeiling)} (${f0(spread.recordsPerSec)} of ${f0(spread.ceilingWritesPerSec)})`, pass: spread.shareOfCeiling >= 0.5 });
    checks.push({ target: 'DynamoDB calls per record, first delivery <= 1.2', measured: f2(spread.callsPerRecord.first), pass: spread.callsPerRecord.first <= 1.2 });
    checks.push({ target: 'DynamoDB calls per record, redelivered <= 0.1', measured: f2(spread.callsPerRecord.redelivery), pass: spread.callsPerRecord.redelivery <= 0.1 });
  }
  if (one) checks.push({ target: 'creates, 1 partition key: records/s >= 0.25 of the emulator ceiling', measured: `${f2(one.shareOfCeiling)} (${f0(one.recordsPerSec)} of ${f0(one.ceilingWritesPerSec)})`, pass: one.shareOfCeiling >= 0.25 });
  checks.push({ target: 'steady rate: the backlog does not grow', measured: `slope ${f1(r.steady.backlogSlopePerSec)}/s at ${f0(r.steady.offeredPerSec)}/s offered`, pass: !r.steady.backlogGrows });
  return checks;
}

/** The targets as lines with PASS / FAIL / SKIP. */
export function targetsText(checks: TargetCheck[]): string {
  return checks
    .map((c) => `${c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.measured}${c.note ? `  (${c.note})` : ''}`)
    .join('\n');
}

/** Writes `data` to `bench/results/<kind>-<timestamp>.json` (gitignored) and returns the path. */
export function writeResults(kind: string, data: unknown): string {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
