import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startChild, stopChild, tail } from './processes';

/** The emulator child as the bench uses it. */
export interface BenchEmulators {
  kinesisEndpoint: string;
  dynamoEndpoint: string;
  pid: number;
  /** Calls received so far by operation name (`PutRecords`, `PutRecord`, `BatchWriteItem`, ...). */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./emulatorsProcess.ts', import.meta.url));

/** Starts `emulatorsProcess.ts` in its own process (in memory, with call counters) and waits for its ready line. */
export async function startBenchEmulators(): Promise<BenchEmulators> {
  const child: ChildProcess = startChild(process.execPath, ['--import', 'tsx', ENTRY], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const stderr = tail(child.stderr);
  const ready = await new Promise<{ kinesis: string; dynamodb: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`emulators exited with ${code}: ${stderr()}`)));
  });
  return {
    kinesisEndpoint: ready.kinesis,
    dynamoEndpoint: ready.dynamodb,
    pid: child.pid!,
    async counts() {
      child.send('counts');
      const [msg] = (await once(child, 'message')) as [{ counts: Record<string, number> }];
      return msg.counts;
    },
    stop: () => stopChild(child, 3000),
  };
}
