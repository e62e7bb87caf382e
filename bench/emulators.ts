import { fileURLToPath } from 'node:url';
import { startCountingChild } from './countingChild';

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
  const { ready, ...child } = await startCountingChild<{ kinesis: string; dynamodb: string }>(ENTRY, 'emulators');
  return { kinesisEndpoint: ready.kinesis, dynamoEndpoint: ready.dynamodb, ...child };
}
