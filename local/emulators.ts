import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { guardRequestStreams } from './guardRequestStreams';

/** The two emulators, as named in logs and callbacks. */
export type EmulatorName = 'kinesis' | 'dynamodb';

export interface EmulatorOptions {
  /** Port for kinesalite; 0 picks a free one. @default 0 */
  kinesisPort?: number;
  /** Port for dynalite; 0 picks a free one. @default 0 */
  dynamoPort?: number;
  /** Directory for their LevelDB state; in memory when unset. */
  dataDir?: string;
  /** Sees every request before the emulator does (the bench counts calls with it). */
  onRequest?: (emulator: EmulatorName, req: IncomingMessage) => void;
  /**
   * Told of a request that failed mid-body (aborted by its client, malformed); the emulator drops it and
   * keeps serving. @default a line on stderr
   */
  onRequestError?: (emulator: EmulatorName, error: Error, req: IncomingMessage) => void;
}

export interface Emulators {
  kinesisEndpoint: string;
  dynamoEndpoint: string;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function reportToStderr(emulator: EmulatorName, error: Error, req: IncomingMessage): void {
  const line = { level: 'WARN', message: 'request failed mid-body; dropped', emulator, error: error.message, target: req.headers['x-amz-target'] };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

/** Starts kinesalite and dynalite in this process, with state on disk when `dataDir` is given. */
export async function startEmulators(o: EmulatorOptions = {}): Promise<Emulators> {
  const dir = (name: string) => {
    if (!o.dataDir) return undefined;
    const p = join(o.dataDir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const servers: Record<EmulatorName, Server> = {
    kinesis: kinesalite({ path: dir('kinesis'), createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 }),
    dynamodb: dynalite({ path: dir('dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }),
  };
  const onRequestError = o.onRequestError ?? reportToStderr;
  for (const [name, server] of Object.entries(servers) as [EmulatorName, Server][]) {
    guardRequestStreams(server, (e, req) => onRequestError(name, e, req));
    if (o.onRequest) server.prependListener('request', (req: IncomingMessage) => o.onRequest!(name, req));
  }
  const kinesisPort = await listen(servers.kinesis, o.kinesisPort ?? 0);
  const dynamoPort = await listen(servers.dynamodb, o.dynamoPort ?? 0);
  return {
    kinesisEndpoint: `http://127.0.0.1:${kinesisPort}`,
    dynamoEndpoint: `http://127.0.0.1:${dynamoPort}`,
    async close() {
      servers.kinesis.closeAllConnections?.();
      servers.dynamodb.closeAllConnections?.();
      await Promise.all([close(servers.kinesis), close(servers.dynamodb)]);
    },
  };
}
