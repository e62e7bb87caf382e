import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { startChild, stopChild, tail } from './processes';

/** A bench child that prints one `"ready":true` JSON line and answers a `counts` message with its call counts. */
export interface CountingChild<Ready> {
  ready: Ready;
  pid: number;
  /** Calls received so far, by operation name. */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts `entry` (a TypeScript file, through tsx) with an IPC channel and waits for its ready line. */
export async function startCountingChild<Ready>(entry: string, what: string, env?: NodeJS.ProcessEnv): Promise<CountingChild<Ready>> {
  const child: ChildProcess = startChild(process.execPath, ['--import', 'tsx', entry], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    ...(env ? { env } : {}),
  });
  const stderr = tail(child.stderr);
  const ready = await new Promise<Ready>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (line) resolve(JSON.parse(line) as Ready);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${stderr()}`)));
  });
  return {
    ready,
    pid: child.pid!,
    async counts() {
      child.send('counts');
      const [msg] = (await once(child, 'message')) as [{ counts: Record<string, number> }];
      return msg.counts;
    },
    stop: () => stopChild(child, 3000),
  };
}
