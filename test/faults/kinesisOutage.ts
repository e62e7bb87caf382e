import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createKinesisClient } from '../../common/awsClients';
import { REGION, startHarness, type Harness } from '../../app/test/harness';
import type { Config } from '../../app/src/config';
import { TcpProxy } from './TcpProxy';

/** The publish deadline of the outage suites: how long a request may wait for Kinesis before it is spooled. */
export const OUTAGE_DEADLINE_MS = 600;

/** Gateway Kinesis settings for the outage suites: short call timeouts and a short deadline, so faults show fast. */
export function outageKinesisConfig(streamName: string): Config['kinesis'] {
  return {
    streamName,
    shardCount: 2,
    createStream: false,
    batching: true,
    timeoutMs: 300,
    maxBatchRecords: 500,
    maxBatchBytes: 5 * 1024 * 1024,
    maxInFlight: 4,
    lingerMs: 0,
    retry: { baseMs: 20, capMs: 100, maxAttempts: 50, deadlineMs: OUTAGE_DEADLINE_MS },
  };
}

/** What a suite that cuts Kinesis off gets: the harness, a proxy in front of kinesalite, a spool directory. */
export interface KinesisOutage {
  readonly h: Harness;
  readonly proxy: TcpProxy;
  /** A fresh directory for the suite's spools, removed after it. */
  readonly dir: string;
  /** A Kinesis client that goes through the proxy, one attempt per call, as the faults need. */
  throughProxy(): ReturnType<typeof createKinesisClient>;
}

/** Registers the suite's set-up and tear-down; the returned object is filled in before the first test. */
export function useKinesisOutage(dirPrefix: string): KinesisOutage {
  const fx = {} as { h: Harness; proxy: TcpProxy; dir: string };
  beforeAll(async () => {
    fx.h = await startHarness();
    fx.proxy = await new TcpProxy(Number(new URL(fx.h.emulators.kinesisEndpoint).port)).start();
    fx.dir = mkdtempSync(join(tmpdir(), dirPrefix));
  });
  afterAll(async () => {
    await fx.proxy?.close();
    await fx.h?.close();
    if (fx.dir) rmSync(fx.dir, { recursive: true, force: true });
  });
  return {
    get h() { return fx.h; },
    get proxy() { return fx.proxy; },
    get dir() { return fx.dir; },
    throughProxy: () => createKinesisClient({ region: REGION, endpoint: fx.proxy.url, maxAttempts: 1, requestTimeoutMs: 300 }),
  };
}
