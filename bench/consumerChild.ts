import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONSUMER_METRICS } from '../common/metricNames';
import { pollUntil } from '../common/pollUntil';
import { cpuMicros } from './cpu';
import { startChild, stopChild, tail } from './processes';

/** The local consumer process as the bench watches it, through the EMF lines it prints. */
export interface ConsumerChild {
  pid: number;
  /** Operations done so far (applied, duplicate or failed), from its metrics. */
  done(): number;
  /** Every `EndToEndAgeMs` value so far. */
  ages(): number[];
  waitFor(n: number, timeoutMs: number): Promise<void>;
  /** Rate and CPU per record between its first metrics line and the one that brought `done` to `n`. */
  measureUntil(n: number, timeoutMs: number): Promise<{ recordsPerSec: number; cpuMicrosPerRecord: number }>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('../local/consumer.ts', import.meta.url));
const DONE = [CONSUMER_METRICS.processed, CONSUMER_METRICS.duplicates, CONSUMER_METRICS.failed];

const total = (v: unknown) => (Array.isArray(v) ? v.reduce((a: number, b: number) => a + b, 0) : typeof v === 'number' ? v : 0);

/** Starts local/consumer.ts with `env` (stdout parsed for metrics; the per-batch log lines are skipped). */
export async function startConsumerChild(env: Record<string, string>): Promise<ConsumerChild> {
  const child: ChildProcess = startChild(process.execPath, ['--import', 'tsx', ENTRY], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const stderr = tail(child.stderr);
  let done = 0;
  const ages: number[] = [];
  let first: { at: number; cpu: number; done: number } | undefined;
  let last = { at: 0, cpu: 0 };
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const line of lines) {
      if (!line.includes('"_aws"')) continue;
      const emf = JSON.parse(line) as Record<string, unknown>;
      done += DONE.reduce((a, name) => a + total(emf[name]), 0);
      const age = emf[CONSUMER_METRICS.endToEndAge];
      if (age !== undefined) ages.push(...(Array.isArray(age) ? age : [age]));
      const now = { at: performance.now(), cpu: cpuMicros(child.pid!) };
      first ??= { ...now, done };
      last = now;
    }
  });
  const until = (cond: () => boolean, timeoutMs: number, what: string) =>
    pollUntil(cond, {
      what: `the consumer to ${what}`,
      timeoutMs,
      intervalMs: 20,
      stopIf: () => {
        if (child.exitCode !== null) throw new Error(`the consumer exited with ${child.exitCode}: ${stderr()}`);
      },
    }).then(
      () => undefined,
      (e: unknown) => {
        // A timeout says how far the consumer got and what it printed; an exit (stopIf) already carries its stderr.
        if (child.exitCode !== null) throw e;
        throw new Error(`${(e as Error).message} (done ${done}): ${stderr()}`);
      },
    );
  return {
    pid: child.pid!,
    done: () => done,
    ages: () => ages,
    waitFor: (n, timeoutMs) => until(() => done >= n, timeoutMs, `finish ${n} records`),
    async measureUntil(n, timeoutMs) {
      await until(() => done >= n, timeoutMs, `finish ${n} records`);
      const records = n - first!.done;
      const seconds = (last.at - first!.at) / 1000;
      return { recordsPerSec: records / seconds, cpuMicrosPerRecord: (last.cpu - first!.cpu) / records };
    },
    stop: () => stopChild(child, 5000),
  };
}
