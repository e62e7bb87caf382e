import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface EmulatorOptions {
  /** Port for kinesalite; 0 picks a free one. @default 0 */
  kinesisPort?: number;
  /** Port for dynalite; 0 picks a free one. @default 0 */
  dynamoPort?: number;
  /** Directory for their LevelDB state; in memory when unset. */
  dataDir?: string;
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

/** Starts kinesalite and dynalite in this process, with state on disk when `dataDir` is given. */
export async function startEmulators(o: EmulatorOptions = {}): Promise<Emulators> {
  const dir = (name: string) => {
    if (!o.dataDir) return undefined;
    const p = join(o.dataDir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const kinesis = kinesalite({ path: dir('kinesis'), createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  const dynamo = dynalite({ path: dir('dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const kinesisPort = await listen(kinesis, o.kinesisPort ?? 0);
  const dynamoPort = await listen(dynamo, o.dynamoPort ?? 0);
  return {
    kinesisEndpoint: `http://127.0.0.1:${kinesisPort}`,
    dynamoEndpoint: `http://127.0.0.1:${dynamoPort}`,
    async close() {
      kinesis.closeAllConnections?.();
      dynamo.closeAllConnections?.();
      await Promise.all([close(kinesis), close(dynamo)]);
    },
  };
}
