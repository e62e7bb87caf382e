import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GATEWAY_NODE_FLAGS } from '../app/nodeFlags';
import { freePort, startChild, stopChild, tail, waitForHttp } from './processes';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BARE_ECHO = fileURLToPath(new URL('./bareEcho.ts', import.meta.url));
const GATEWAY_FLOOR = fileURLToPath(new URL('./gatewayFloor.ts', import.meta.url));

/** A measured server process (the gateway or the bare echo). */
export interface ServerProcess {
  pid: number;
  url: string;
  child: ChildProcess;
  /** The last lines it wrote to stderr. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Which code the bench bundles and measures. */
export type GatewaySource = 'worktree' | 'HEAD' | 'dist';

/** The bundle a run measures and where it came from. */
export interface GatewayBuild {
  bundle: string;
  /** `bundle`: a file given with `--bundle`. */
  source: GatewaySource | 'bundle';
  commit: string;
  /** Files under app/, common/, contract/ that differ from the commit (for `worktree`). */
  dirty: string[];
}

// What the gateway bundle is built from; the rest of the repository does not reach it.
const SOURCES = ['app', 'common', 'contract', 'package.json', 'tsconfig.json'];

/**
 * Builds the production bundle (the project's own `app/build.mjs`, what the container runs) from a snapshot
 * in `dir`: of the working tree, or of the last commit (`git archive`). A snapshot, because other people edit
 * and build this checkout while the bench runs: the bench neither measures a half-saved file twice nor
 * overwrites their `app/dist`. `dist` measures the existing `app/dist/server.mjs` as it is.
 */
export function buildGateway(source: GatewaySource, dir: string): GatewayBuild {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  const commit = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'app', 'common', 'contract').split('\n').filter(Boolean);
  if (source === 'dist') return { bundle: join(ROOT, 'app/dist/server.mjs'), source, commit, dirty };
  mkdirSync(dir, { recursive: true });
  if (source === 'HEAD') {
    execFileSync('sh', ['-c', `git archive HEAD ${SOURCES.join(' ')} | tar -x -C "$1"`, 'sh', dir], { cwd: ROOT });
  } else {
    for (const s of SOURCES) cpSync(join(ROOT, s), join(dir, s), { recursive: true, filter: (p) => !/[/\\](dist|node_modules)$/.test(p) });
  }
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const r = spawnSync(process.execPath, ['app/build.mjs'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`the gateway bundle did not build from ${source} (node app/build.mjs exited ${r.status})`);
  return { bundle: join(dir, 'app/dist/server.mjs'), source, commit, dirty: source === 'HEAD' ? [] : dirty };
}

export interface GatewayOptions {
  /** The bundle to run (see {@link buildGateway}). */
  bundle: string;
  env: Record<string, string>;
  /** Where its stdout (JSON logs, EMF metrics) goes: a file, so that writing it costs the gateway a write(2) and the bench nothing. */
  logFile: string;
  /** Extra node flags, e.g. `--cpu-prof` or an `--import` probe. */
  nodeArgs?: string[];
  /** Each stderr line, as it comes (the soak's heap probe writes there). */
  onStderrLine?(line: string): void;
}

/** Starts `node <flags> <bundle>` as the container does, with only the given environment (plus PATH), and waits for `/health`. */
export async function startGateway(o: GatewayOptions): Promise<ServerProcess> {
  const port = await freePort();
  const out = openSync(o.logFile, 'a');
  const child = startChild(process.execPath, [...GATEWAY_NODE_FLAGS, ...(o.nodeArgs ?? []), o.bundle], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...o.env, PORT: String(port) },
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  const stderr = tail(child.stderr);
  if (o.onStderrLine) {
    let partial = '';
    child.stderr!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) o.onStderrLine!(l);
    });
  }
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, child, stderr);
  return { pid: child.pid!, url, child, stderr, stop: () => stopChild(child) };
}

/**
 * Starts the bare Hono echo (`bareEcho.ts`), or with `floor` the gateway without AWS calls (`gatewayFloor.ts`,
 * given the gateway's environment and log file), in its own process and waits for it.
 */
export async function startBareEcho(floor?: { env: Record<string, string>; logFile: string }): Promise<ServerProcess> {
  const port = await freePort();
  const out = floor ? openSync(floor.logFile, 'a') : 'ignore';
  const child = startChild(process.execPath, [...(floor ? GATEWAY_NODE_FLAGS : []), '--import', 'tsx', floor ? GATEWAY_FLOOR : BARE_ECHO], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...floor?.env, PORT: String(port) },
    stdio: ['ignore', out, 'pipe'],
  });
  if (typeof out === 'number') closeSync(out);
  const stderr = tail(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, child, stderr);
  return { pid: child.pid!, url, child, stderr, stop: () => stopChild(child, 3000) };
}
