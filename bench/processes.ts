import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { pollUntil } from '../common/pollUntil';

/**
 * Every child the bench starts, so that all of them die with it: on a normal exit, on Ctrl-C, on SIGTERM and
 * on an uncaught error. Children are spawned directly (no shell, no npm), so their pid is the measured process.
 */
const children = new Set<ChildProcess>();

function killAll(signal: NodeJS.Signals): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
}

let installed = false;
/** Installs the exit hooks once; `process.on('exit')` can only run synchronous code, hence SIGKILL there. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => killAll('SIGKILL'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${children.size} child process(es)\n`);
      killAll('SIGKILL');
      process.exit(130);
    });
  }
  process.on('uncaughtException', (e) => {
    process.stderr.write(`bench failed: ${e.stack ?? e}\n`);
    killAll('SIGKILL');
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    killAll('SIGKILL');
    process.exit(1);
  });
}

/** Spawns a tracked child. */
export function startChild(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops a child: SIGTERM (the gateway drains and flushes its metrics), SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A port free right now on 127.0.0.1 (the OS picks it; a child binds it a moment later). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/**
 * Polls `url` until it answers 2xx. Rejects early, with the child's stderr, if the child exits first (e.g. a
 * gateway refusing its configuration with exit code 78).
 */
export async function waitForHttp(url: string, child: ChildProcess, stderrOf: () => string, timeoutMs = 30_000): Promise<void> {
  await pollUntil(
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.ok;
    },
    {
      what: `${url} to answer`,
      timeoutMs,
      intervalMs: 100,
      stopIf: () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new ChildExitedError(child.exitCode, stderrOf().trim());
      },
    },
  );
}

/** A child that exited while the bench waited for it to become ready. */
export class ChildExitedError extends Error {
  override readonly name = 'ChildExitedError';
  constructor(
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`exited with code ${exitCode}${stderr ? `: ${stderr}` : ''}`);
  }
}

/** Keeps the last `max` characters a child wrote to a stream (for error messages). */
export function tail(stream: NodeJS.ReadableStream | null, max = 4000): () => string {
  let buf = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (d: string) => {
    buf = (buf + d).slice(-max);
  });
  return () => buf;
}
