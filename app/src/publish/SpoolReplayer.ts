import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { aggregateOverhead, encodeAggregate, MAX_AGGREGATE_OPERATIONS } from '../../../contract/aggregate';
import { MAX_RECORD_BYTES } from '../../../contract/operation';
import type { Logger } from '../logger';
import { ThrottledLog } from '../throttledLog';
import { backoffDelay, type BackoffOptions } from './backoff';
import type { Spool, SpoolEntry } from './spool/Spool';

/** PutRecords' limits. */
const MAX_ROUND_RECORDS = 500;
const MAX_ROUND_BYTES = 5 * 1024 * 1024;
/** Bounds the work of picking a round when one partition key holds most of the backlog. */
const MAX_SCAN = 20_000;

/** One record of a replay round: the oldest spooled operations of one partition key, in order. */
export interface ReplayRecord {
  partitionKey: string;
  entries: SpoolEntry[];
  data: Uint8Array;
}

/** What one round achieved. */
export interface RoundReport {
  /** Kinesis confirmed every record of the round: it is taking records. */
  confirmedWhole: boolean;
  /** Spooled operations confirmed (and released) by this round. */
  operations: number;
}

export interface SpoolReplayerOptions {
  spool: Spool;
  kinesis: KinesisClient;
  streamName: string;
  /** Timeout of one PutRecords call. */
  callTimeoutMs: number;
  /** Backoff between rounds that were not confirmed whole. */
  backoff: BackoffOptions;
  logger: Logger;
  /** @default Math.random */
  random?: () => number;
  /** Told as each round is sent. */
  onRoundStarted?(): void;
  onRoundEnded?(report: RoundReport): void;
  /** Told whenever the replayer finds the spool empty, before it waits for the next append. */
  onEmpty?(): void;
}

/**
 * Sends the spool to Kinesis, oldest first, until it is empty, then waits to be woken. Each round carries at
 * most one record per partition key: PutRecords may store a later record of a call while an earlier one fails,
 * so a key's records go one round at a time. That record carries up to {@link MAX_AGGREGATE_OPERATIONS} of the
 * key's oldest operations as one aggregate (contract/aggregate.ts), so a busy key drains several operations per
 * round trip instead of one. A round not confirmed whole is sent again after a backoff with full jitter.
 */
export class SpoolReplayer {
  readonly #o: SpoolReplayerOptions;
  readonly #random: () => number;
  readonly #failureLog: ThrottledLog;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wakeIdle: (() => void) | undefined;
  #endPause: (() => void) | undefined;

  constructor(o: SpoolReplayerOptions) {
    this.#o = o;
    this.#random = o.random ?? Math.random;
    this.#failureLog = new ThrottledLog(o.logger, 'warn');
  }

  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  /** Ends a wait for records (a backoff between failed rounds runs its course: an append is no news of Kinesis). */
  wake(): void {
    this.#wakeIdle?.();
  }

  /** Stops after the round in flight; cuts a backoff short. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeIdle?.();
    this.#endPause?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      if (this.#o.spool.depth === 0) {
        this.#o.onEmpty?.();
        await new Promise<void>((resolve) => (this.#wakeIdle = resolve));
        this.#wakeIdle = undefined;
        continue;
      }
      const round = pickRound(this.#o.spool.pending());
      this.#o.onRoundStarted?.();
      const { confirmed, error } = await this.#send(round);
      if (error) this.#failureLog.write('spool replay failed; retrying with backoff', { stream: this.#o.streamName, records: this.#o.spool.depth, err: error });
      const entries = confirmed.flatMap((r) => r.entries);
      if (entries.length > 0) await this.#o.spool.release(entries);
      const confirmedWhole = confirmed.length === round.length;
      this.#o.onRoundEnded?.({ confirmedWhole, operations: entries.length });
      if (confirmedWhole) failures = 0;
      else await this.#pause(backoffDelay(++failures, this.#o.backoff, this.#random));
    }
  }

  /** One PutRecords call; a record is confirmed by its own result, and an answer without one per record confirms nothing. */
  async #send(round: ReplayRecord[]): Promise<{ confirmed: ReplayRecord[]; error?: unknown }> {
    try {
      const res = await this.#o.kinesis.send(
        new PutRecordsCommand({ StreamName: this.#o.streamName, Records: round.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data })) }),
        { abortSignal: AbortSignal.timeout(this.#o.callTimeoutMs) },
      );
      if (res.Records?.length !== round.length) return { confirmed: [], error: new Error(`PutRecords answered ${res.Records?.length ?? 0} results for ${round.length} records`) };
      return { confirmed: round.filter((_, i) => !res.Records![i]!.ErrorCode) };
    } catch (error) {
      return { confirmed: [], error };
    }
  }

  #pause(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#endPause = done;
    }).finally(() => (this.#endPause = undefined));
  }
}

/**
 * The next round: for each partition key, oldest key first, one record of its oldest spooled operations (as
 * many as fit in one record, up to {@link MAX_AGGREGATE_OPERATIONS}), within PutRecords' limits. Once a key's
 * next operation does not fit, its later ones wait for the next round too, so none overtakes an older one.
 */
export function pickRound(pending: Iterable<SpoolEntry>): ReplayRecord[] {
  const byKey = new Map<string, { entries: SpoolEntry[]; dataBytes: number; closed: boolean }>();
  let roundBytes = 0;
  let scanned = 0;
  for (const e of pending) {
    if (++scanned > MAX_SCAN) break;
    const key = byKey.get(e.partitionKey) ?? { entries: [], dataBytes: 0, closed: false };
    if (key.closed) continue;
    const before = key.entries.length === 0 ? 0 : recordBytes(e.partitionKey, key.entries.length, key.dataBytes);
    const after = recordBytes(e.partitionKey, key.entries.length + 1, key.dataBytes + e.data.byteLength);
    const fits =
      key.entries.length < MAX_AGGREGATE_OPERATIONS &&
      (key.entries.length === 0 || after <= MAX_RECORD_BYTES) &&
      roundBytes - before + after <= MAX_ROUND_BYTES &&
      (key.entries.length > 0 || byKey.size < MAX_ROUND_RECORDS);
    if (!fits) {
      key.closed = true;
      byKey.set(e.partitionKey, key);
      continue;
    }
    roundBytes += after - before;
    key.entries.push(e);
    key.dataBytes += e.data.byteLength;
    byKey.set(e.partitionKey, key);
  }
  const round: ReplayRecord[] = [];
  for (const [partitionKey, { entries }] of byKey) {
    if (entries.length === 0) continue;
    round.push({ partitionKey, entries, data: entries.length === 1 ? entries[0]!.data : encodeAggregate(entries.map((x) => x.data)) });
  }
  return round;
}

/** Bytes Kinesis counts for a record of `count` operations of `dataBytes` in all: one alone is sent plain. */
function recordBytes(partitionKey: string, count: number, dataBytes: number): number {
  return dataBytes + (count > 1 ? aggregateOverhead(count) : 0) + Buffer.byteLength(partitionKey);
}
