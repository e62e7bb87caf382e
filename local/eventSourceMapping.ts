import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The function the mapping invokes: a Lambda handler for Kinesis events with partial batch responses. */
export type KinesisBatchHandler = (
  event: KinesisStreamEvent,
  context: Context,
) => Promise<KinesisStreamBatchResponse | void | undefined>;

/** Where the mapping writes what it does; a Powertools Logger or `console` fits. */
export interface MappingLogger {
  debug(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

export interface EventSourceMappingOptions {
  kinesis: KinesisClient;
  streamName: string;
  handler: KinesisBatchHandler;
  /** Records per invocation at most. @default 100 */
  batchSize?: number;
  /** Pause of a shard's loop after an empty read or a failed invocation. @default 200 */
  pollIntervalMs?: number;
  /** How often the shards are listed again while running, to find those a reshard made. @default 10000 */
  rediscoverMs?: number;
  /** Retries of a failing record before it goes to the dead-letter file (Lambda's MaximumRetryAttempts). @default 3 */
  maxRetries?: number;
  /** Directory of the per-shard checkpoint files. */
  checkpointDir: string;
  /** JSON-lines file receiving records whose retries are exhausted (the local on-failure destination). */
  deadLetterFile: string;
  logger?: MappingLogger;
  /** @default 'us-east-1' */
  region?: string;
  /** Name the fake Lambda context reports. @default 'consumer-stub' */
  functionName?: string;
}

/** A shard's persisted position: the last sequence number whose record is done (applied or dead-lettered). */
interface Checkpoint {
  shardId: string;
  /** The shard's first sequence number: tells this shard from one of the same id in an earlier stream. */
  shardStart?: string;
  sequenceNumber?: string;
  /** The shard is closed and fully processed (children may start). */
  finished?: boolean;
  updatedAt: string;
}

interface ShardState {
  shard: Shard;
  checkpoint: Checkpoint;
  iterator?: string;
  /** Records read and not yet done, in order; the head is retried after a failure. */
  pending: KinesisRecord[];
  /** The closed shard has no more records to read. */
  endOfShard: boolean;
  failing?: { sequenceNumber: string; attempts: number };
}

const ACCOUNT = '000000000000';

/**
 * An emulation of Lambda's Kinesis event source mapping, for the local stack: polls every shard, builds the
 * event Lambda delivers, invokes the handler in batches, honours `batchItemFailures` (retry from the lowest
 * failed sequence number), dead-letters a record after `maxRetries`, and checkpoints each shard to disk so
 * a restart resumes after the last record done.
 *
 * Shards run concurrently, each strictly in order with one invocation in flight. Unlike Lambda, which
 * drops the rest of the batch when retries run out, only the failing record is dead-lettered and the
 * records after it are delivered again.
 *
 * @example
 * const esm = new EventSourceMapping({ kinesis, streamName, handler, checkpointDir, deadLetterFile });
 * await esm.start();
 * // ... later
 * await esm.stop();
 */
export class EventSourceMapping {
  readonly #o: Required<Omit<EventSourceMappingOptions, 'logger'>> & { logger: MappingLogger };
  readonly #shards = new Map<string, ShardState>();
  #streamArn?: string;
  #loops: Promise<void>[] = [];
  #abort?: AbortController;
  #running = false;
  #discovery?: Promise<unknown>;
  #rediscovery?: NodeJS.Timeout;
  #listing?: Promise<unknown>;
  #listingPending = false;

  constructor(o: EventSourceMappingOptions) {
    if (!o.streamName) throw new Error('EventSourceMapping needs a streamName');
    const batchSize = o.batchSize ?? 100;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('batchSize must be 1-10000');
    this.#o = {
      batchSize,
      pollIntervalMs: o.pollIntervalMs ?? 200,
      rediscoverMs: o.rediscoverMs ?? 10_000,
      maxRetries: o.maxRetries ?? 3,
      logger: o.logger ?? console,
      region: o.region ?? 'us-east-1',
      functionName: o.functionName ?? 'consumer-stub',
      kinesis: o.kinesis,
      streamName: o.streamName,
      handler: o.handler,
      checkpointDir: o.checkpointDir,
      deadLetterFile: o.deadLetterFile,
    };
  }

  /** Discovers the shards and starts one polling loop per shard. */
  async start(): Promise<void> {
    if (this.#running) return;
    await this.#discover();
    this.#running = true;
    this.#abort = new AbortController();
    this.#loops = [...this.#shards.values()].map((s) => this.#loop(s, this.#abort!.signal));
    // Shards appear when the stream is resharded: Lambda finds them, so list again now and then.
    const abort = this.#abort;
    this.#rediscovery = setInterval(() => {
      if (this.#listingPending) return;
      this.#listingPending = true;
      this.#listShards()
        .then((added) => {
          // A shard found by a listing that ends after stop() gets its loop from the next start().
          if (!this.#running || abort.signal.aborted) return;
          for (const s of added) this.#loops.push(this.#loop(s, abort.signal));
          if (added.length > 0) this.#o.logger.info('new shards found', { shards: added.map((s) => s.shard.ShardId) });
        })
        .catch((e: unknown) => this.#o.logger.warn('listing shards failed; will retry', { error: String(e) }))
        .finally(() => (this.#listingPending = false));
    }, this.#o.rediscoverMs);
    this.#rediscovery.unref();
    this.#o.logger.info('event source mapping started', { streamName: this.#o.streamName, shards: this.#shards.size });
  }

  /** Stops polling; resolves once every in-flight invocation has finished and its checkpoint is written. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearInterval(this.#rediscovery);
    this.#abort?.abort();
    await Promise.all(this.#loops);
    this.#loops = [];
    this.#o.logger.info('event source mapping stopped', { streamName: this.#o.streamName });
  }

  /**
   * One step of every shard: read if nothing is pending, then invoke the handler once with the next batch.
   * Returns how many records were delivered. Drives the mapping deterministically in tests.
   */
  async pollOnce(): Promise<number> {
    await this.#discover();
    const counts = await Promise.all([...this.#shards.values()].map((s) => this.#step(s)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Lists the shards once (concurrent callers share it); see {@link #listShards} for later listings. */
  async #discover(): Promise<void> {
    this.#discovery ??= this.#listShards();
    await this.#discovery;
  }

  /** Lists shards one listing at a time: two overlapping ones could give a shard two polling loops. */
  #listShards(): Promise<ShardState[]> {
    const next = (this.#listing ?? Promise.resolve()).then(() => this.#listShardsNow());
    this.#listing = next.catch(() => undefined);
    return next;
  }

  /** Adds the shards not known yet, each with its checkpoint (a checkpoint of an earlier stream is ignored). */
  async #listShardsNow(): Promise<ShardState[]> {
    const { kinesis, streamName } = this.#o;
    if (!this.#streamArn) {
      const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      this.#streamArn = summary.StreamDescriptionSummary?.StreamARN ?? `arn:aws:kinesis:${this.#o.region}:${ACCOUNT}:stream/${streamName}`;
    }
    const added: ShardState[] = [];
    let nextToken: string | undefined;
    do {
      const out = await kinesis.send(
        nextToken ? new ListShardsCommand({ NextToken: nextToken }) : new ListShardsCommand({ StreamName: streamName }),
      );
      for (const shard of out.Shards ?? []) {
        const id = shard.ShardId!;
        if (this.#shards.has(id)) continue;
        const shardStart = shard.SequenceNumberRange?.StartingSequenceNumber;
        let checkpoint = await this.#readCheckpoint(id);
        if (checkpoint?.shardStart !== undefined && shardStart !== undefined && checkpoint.shardStart !== shardStart) {
          // Same shard id, another stream (it was deleted and made again): its position means nothing here.
          this.#o.logger.warn('ignoring the checkpoint of an earlier stream; reading the shard from its start', { shardId: id });
          checkpoint = undefined;
        }
        const state: ShardState = {
          shard,
          checkpoint: checkpoint ?? { shardId: id, ...(shardStart ? { shardStart } : {}), updatedAt: new Date().toISOString() },
          pending: [],
          endOfShard: false,
        };
        this.#shards.set(id, state);
        added.push(state);
      }
      nextToken = out.NextToken;
    } while (nextToken);
    return added;
  }

  async #loop(state: ShardState, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let delivered = 0;
      let failed = false;
      try {
        const before = state.failing?.attempts ?? 0;
        delivered = await this.#step(state);
        failed = (state.failing?.attempts ?? 0) > before;
      } catch (e) {
        failed = true;
        this.#o.logger.warn('shard poll failed; will retry', { shardId: state.shard.ShardId, error: String(e) });
      }
      if (state.checkpoint.finished) return;
      // Keep draining while records flow; pause when the shard is idle or the batch failed.
      if (delivered > 0 && !failed) continue;
      await sleep(this.#o.pollIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Reads up to a full batch and invokes the handler once. Returns the records delivered. */
  async #step(state: ShardState): Promise<number> {
    if (state.checkpoint.finished) return 0;
    // Lambda finishes a shard's parents (two after a merge) before the shard itself.
    const parents = [state.shard.ParentShardId, state.shard.AdjacentParentShardId].map((id) => (id ? this.#shards.get(id) : undefined));
    if (parents.some((p) => p && !p.checkpoint.finished)) return 0;
    if (state.pending.length === 0 && state.endOfShard) {
      state.checkpoint = { ...state.checkpoint, finished: true, updatedAt: new Date().toISOString() };
      await this.#writeCheckpoint(state.checkpoint);
      return 0;
    }
    // Top up to a full batch, as Lambda's retry re-reads from the failed record.
    if (state.pending.length < this.#o.batchSize && !state.endOfShard) {
      try {
        await this.#read(state, this.#o.batchSize - state.pending.length);
      } catch (e) {
        if (state.pending.length === 0) throw e;
        this.#o.logger.warn('read failed; delivering what is pending', { shardId: state.shard.ShardId, error: String(e) });
      }
    }
    if (state.pending.length === 0) return 0;
    const batch = state.pending.slice(0, this.#o.batchSize);
    const failedAt = await this.#invoke(state, batch);
    const done = failedAt === -1 ? batch.length : failedAt;
    if (failedAt !== -1) {
      const record = batch[failedAt]!;
      const previous = state.failing;
      const attempts = previous && previous.sequenceNumber === record.SequenceNumber ? previous.attempts + 1 : 1;
      state.failing = { sequenceNumber: record.SequenceNumber!, attempts };
      if (attempts > this.#o.maxRetries) {
        await this.#deadLetter(state, record, attempts);
        state.failing = undefined;
        await this.#advance(state, failedAt + 1);
        return batch.length;
      }
      this.#o.logger.warn('batch item failed; retrying from it', {
        shardId: state.shard.ShardId,
        sequenceNumber: record.SequenceNumber,
        attempt: attempts,
        maxRetries: this.#o.maxRetries,
      });
    } else {
      state.failing = undefined;
    }
    if (done > 0) await this.#advance(state, done);
    return batch.length;
  }

  /** Marks the first `count` pending records done and persists the checkpoint. */
  async #advance(state: ShardState, count: number): Promise<void> {
    const last = state.pending[count - 1]!;
    state.pending.splice(0, count);
    state.checkpoint = { ...state.checkpoint, sequenceNumber: last.SequenceNumber!, updatedAt: new Date().toISOString() };
    await this.#writeCheckpoint(state.checkpoint);
  }

  async #read(state: ShardState, limit: number): Promise<void> {
    const { kinesis, streamName } = this.#o;
    const shardId = state.shard.ShardId!;
    if (!state.iterator) {
      const at = state.checkpoint.sequenceNumber;
      const iterator = (after?: string) =>
        kinesis.send(
          new GetShardIteratorCommand({
            StreamName: streamName,
            ShardId: shardId,
            ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        );
      const out = await iterator(at).catch(async (e: unknown) => {
        // A sequence number of another stream (this one was made again under the same name): start over.
        if (!at || (e as Error).name !== 'InvalidArgumentException') throw e;
        this.#o.logger.warn('the checkpoint is not of this stream; reading the shard from its start', { shardId, error: String(e) });
        state.checkpoint = { shardId, ...(state.checkpoint.shardStart ? { shardStart: state.checkpoint.shardStart } : {}), updatedAt: new Date().toISOString() };
        return iterator(undefined);
      });
      state.iterator = out.ShardIterator;
    }
    try {
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: limit }));
      state.pending.push(...(out.Records ?? []));
      state.iterator = out.NextShardIterator;
      if (!out.NextShardIterator) state.endOfShard = true;
    } catch (e) {
      // An expired iterator is re-made from the checkpoint, which is only right when nothing is pending.
      if ((e as Error).name === 'ExpiredIteratorException' && state.pending.length === 0) state.iterator = undefined;
      throw e;
    }
  }

  /** Invokes the handler; returns the index of the first record to retry, or -1 when all succeeded. */
  async #invoke(state: ShardState, batch: KinesisRecord[]): Promise<number> {
    const event: KinesisStreamEvent = { Records: batch.map((r) => this.#toLambdaRecord(state.shard.ShardId!, r)) };
    let response: KinesisStreamBatchResponse | void | undefined;
    try {
      response = await this.#o.handler(event, this.#context());
    } catch (e) {
      this.#o.logger.warn('handler threw; retrying the whole batch', { shardId: state.shard.ShardId, error: String(e) });
      return 0;
    }
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) return -1;
    // Lambda retries from the lowest failed sequence number; an identifier not in the batch fails it all.
    let first = batch.length;
    for (const f of failures) {
      const i = batch.findIndex((r) => r.SequenceNumber === f.itemIdentifier);
      if (i === -1) return 0;
      first = Math.min(first, i);
    }
    return first;
  }

  #toLambdaRecord(shardId: string, r: KinesisRecord): KinesisStreamRecord {
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey!,
        sequenceNumber: r.SequenceNumber!,
        data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
        approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${r.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${ACCOUNT}:role/${this.#o.functionName}-role`,
      awsRegion: this.#o.region,
      eventSourceARN: this.#streamArn!,
    };
  }

  #context(): Context {
    const { functionName, region } = this.#o;
    const deadline = Date.now() + 60_000;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${ACCOUNT}:function:${functionName}`,
      memoryLimitInMB: '256',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  async #deadLetter(state: ShardState, r: KinesisRecord, attempts: number): Promise<void> {
    // Shaped after Lambda's on-failure destination payload, plus the record itself (locally there is no
    // stream to fetch it from after retention).
    const entry = {
      timestamp: new Date().toISOString(),
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: attempts,
      KinesisBatchInfo: {
        shardId: state.shard.ShardId,
        startSequenceNumber: r.SequenceNumber,
        endSequenceNumber: r.SequenceNumber,
        approximateArrivalOfFirstRecord: r.ApproximateArrivalTimestamp?.toISOString(),
        approximateArrivalOfLastRecord: r.ApproximateArrivalTimestamp?.toISOString(),
        batchSize: 1,
        streamArn: this.#streamArn,
      },
      record: {
        partitionKey: r.PartitionKey,
        sequenceNumber: r.SequenceNumber,
        data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
      },
    };
    await mkdir(dirname(this.#o.deadLetterFile), { recursive: true });
    await appendFile(this.#o.deadLetterFile, `${JSON.stringify(entry)}\n`);
    this.#o.logger.error('record dead-lettered after exhausting retries', {
      shardId: state.shard.ShardId,
      sequenceNumber: r.SequenceNumber,
      attempts,
      deadLetterFile: this.#o.deadLetterFile,
    });
  }

  #checkpointPath(shardId: string): string {
    return join(this.#o.checkpointDir, `${shardId}.json`);
  }

  async #readCheckpoint(shardId: string): Promise<Checkpoint | undefined> {
    try {
      return JSON.parse(await readFile(this.#checkpointPath(shardId), 'utf8')) as Checkpoint;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async #writeCheckpoint(c: Checkpoint): Promise<void> {
    // Write-then-rename, so a crash mid-write never leaves a torn checkpoint.
    const path = this.#checkpointPath(c.shardId);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(c));
    await rename(tmp, path);
  }
}
