import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startChild, stopChild, tail } from './processes';

/** The latency proxy child as the bench uses it. */
export interface ProxyChild {
  endpoint: string;
  pid: number;
  /** Calls forwarded so far, by operation. */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./latencyProxyProcess.ts', import.meta.url));

/** Starts `latencyProxyProcess.ts` in front of `target`, adding `latencyMs` to every call. */
export async function startProxyChild(target: string, latencyMs: number): Promise<ProxyChild> {
  const child: ChildProcess = startChild(process.execPath, ['--import', 'tsx', ENTRY], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, PROXY_TARGET: target, PROXY_LATENCY_MS: String(latencyMs) },
  });
  const stderr = tail(child.stderr);
  const ready = await new Promise<{ endpoint: string }>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"ready":true'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`latency proxy exited with ${code}: ${stderr()}`)));
  });
  return {
    endpoint: ready.endpoint,
    pid: child.pid!,
    async counts() {
      child.send('counts');
      const [msg] = (await once(child, 'message')) as [{ counts: Record<string, number> }];
      return msg.counts;
    },
    stop: () => stopChild(child, 3000),
  };
}
