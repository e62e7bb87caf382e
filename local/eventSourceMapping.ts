import { DescribeStreamSummaryCommand, ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { CONSUMER_SETTINGS, timeoutSecondsFor } from '../consumer-stub/src/eventSourceSettings';
import { LOCAL_DEFAULTS } from '../common/localDefaults';
import { CheckpointStore, initialCheckpoint } from './checkpointStore';
import { DeadLetterFile } from './deadLetterFile';
import type { KinesisBatchHandler } from './invokeBatch';
import { LOCAL_ACCOUNT, type InvocationTarget } from './lambdaEvent';
import type { MappingLogger } from './mappingLogger';
import { MAX_RETRY_ATTEMPTS, maxRecordAgeSecondsFor, type RetryPolicy } from './retryPolicy';
import { ShardPoller, type ShardPollerDeps } from './ShardPoller';

export type { KinesisBatchHandler } from './invokeBatch';
export type { MappingLogger } from './mappingLogger';

export interface EventSourceMappingOptions {
  kinesis: KinesisClient;
  streamName: string;
  handler: KinesisBatchHandler;
  /** Records per invocation at most (BatchSize). @default CONSUMER_SETTINGS.batchSize */
  batchSize?: number;
  /** How long records may wait for a batch to fill (MaximumBatchingWindowInSeconds). @default CONSUMER_SETTINGS.maxBatchingWindowSeconds */
  maxBatchingWindowSeconds?: number;
  /** Pause of an idle shard between two reads; a shard with a backlog is read without one. @default 1000 */
  pollIntervalMs?: number;
  /** How often the shards are listed again while running, to find those a reshard made. @default 10000 */
  rediscoverMs?: number;
  /** Retries of a failing record before it is dead-lettered (MaximumRetryAttempts). @default 10000 */
  maxRetries?: number;
  /** A record older than this is dead-lettered (MaximumRecordAgeInSeconds). @default half the stream's retention, at most 7 days */
  maxRecordAgeSeconds?: number;
  /** Pause before the first retry of a failing record; doubled on each further one. @default 100 */
  retryBaseMs?: number;
  /** The longest pause between two retries. @default 10000 */
  retryCapMs?: number;
  /** Directory of the per-shard checkpoint files. */
  checkpointDir: string;
  /** JSON-lines file receiving the records the retry policy gave up on (the local on-failure destination). */
  deadLetterFile: string;
  logger?: MappingLogger;
  /** @default LOCAL_DEFAULTS.region */
  region?: string;
  /** Name the fake Lambda context reports. @default 'consumer-stub' */
  functionName?: string;
}

type SharedDeps = Omit<ShardPollerDeps, 'parentsFinished'>;

type Settings = Required<Omit<EventSourceMappingOptions, 'logger' | 'maxRecordAgeSeconds'>> & Pick<EventSourceMappingOptions, 'maxRecordAgeSeconds'>;

/**
 * An emulation of Lambda's Kinesis event source mapping, for the local stack: one {@link ShardPoller} per
 * shard, each strictly in order with one invocation in flight; shards run concurrently, children after
 * their parents. Batches are assembled as Lambda does (batch size, batching window, 6 MB payload); a shard
 * with a backlog is read and invoked back to back, the next batch read while the handler runs, and an idle
 * one polled every `pollIntervalMs`. A failing
 * record is retried from, with exponential capped backoff, until the deployed mapping would give up on it
 * (its age, or the retry attempts), then dead-lettered; checkpoints on disk let a restart resume.
 *
 * Not emulated: a parallelization factor above 1 (one batch per shard at a time), and bisection: where
 * Lambda dead-letters the rest of a failed batch, only the failing record is dead-lettered here.
 *
 * @example
 * const esm = new EventSourceMapping({ kinesis, streamName, handler, checkpointDir, deadLetterFile });
 * await esm.start();
 * // ... later
 * await esm.stop();
 */
export class EventSourceMapping {
  readonly #o: Settings;
  readonly #logger: MappingLogger;
  readonly #checkpoints: CheckpointStore;
  readonly #deadLetters: DeadLetterFile;
  readonly #pollers = new Map<string, ShardPoller>();
  /** What every poller shares, known after the first listing. */
  #deps?: SharedDeps;
  /** The listing in flight, shared by concurrent callers: two overlapping ones could give a shard two pollers. */
  #listing?: Promise<ShardPoller[]>;
  #loops: Promise<void>[] = [];
  /** Set while running; aborting it ends every loop. */
  #abort?: AbortController;
  #rediscovery?: NodeJS.Timeout;

  constructor(o: EventSourceMappingOptions) {
    if (!o.streamName) throw new Error('EventSourceMapping needs a streamName');
    const batchSize = o.batchSize ?? CONSUMER_SETTINGS.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('batchSize must be 1-10000');
    const window = o.maxBatchingWindowSeconds ?? CONSUMER_SETTINGS.maxBatchingWindowSeconds;
    if (!(window >= 0 && window <= 300)) throw new Error('maxBatchingWindowSeconds must be 0-300');
    this.#o = {
      batchSize,
      maxBatchingWindowSeconds: window,
      pollIntervalMs: o.pollIntervalMs ?? 1000,
      rediscoverMs: o.rediscoverMs ?? 10_000,
      maxRetries: o.maxRetries ?? MAX_RETRY_ATTEMPTS,
      maxRecordAgeSeconds: o.maxRecordAgeSeconds,
      retryBaseMs: o.retryBaseMs ?? 100,
      retryCapMs: o.retryCapMs ?? 10_000,
      region: o.region ?? LOCAL_DEFAULTS.region,
      functionName: o.functionName ?? 'consumer-stub',
      kinesis: o.kinesis,
      streamName: o.streamName,
      handler: o.handler,
      checkpointDir: o.checkpointDir,
      deadLetterFile: o.deadLetterFile,
    };
    this.#logger = o.logger ?? console;
    this.#checkpoints = new CheckpointStore(o.checkpointDir);
    this.#deadLetters = new DeadLetterFile(o.deadLetterFile);
  }

  /** Discovers the shards and starts one polling loop per shard; lists them again every `rediscoverMs`. */
  async start(): Promise<void> {
    if (this.#abort) return;
    await this.#addNewShards();
    const abort = (this.#abort = new AbortController());
    this.#loops = [...this.#pollers.values()].map((p) => this.#loop(p, abort.signal));
    this.#rediscovery = setInterval(() => void this.#rediscover(abort.signal), this.#o.rediscoverMs);
    this.#rediscovery.unref();
    this.#logger.info('event source mapping started', { streamName: this.#o.streamName, shards: this.#pollers.size });
  }

  /** Stops polling; resolves once every in-flight invocation has finished and its checkpoint is written. */
  async stop(): Promise<void> {
    if (!this.#abort) return;
    clearInterval(this.#rediscovery);
    this.#abort.abort();
    this.#abort = undefined;
    await Promise.all(this.#loops);
    this.#loops = [];
    this.#logger.info('event source mapping stopped', { streamName: this.#o.streamName });
  }

  /**
   * One step of every shard: read if a batch is not full, then invoke the handler once if one is ready (a
   * record waiting for its retry's pause is not). Returns how many records were delivered. Drives the
   * mapping deterministically in tests.
   */
  async pollOnce(): Promise<number> {
    if (!this.#deps) await this.#addNewShards();
    const steps = await Promise.all([...this.#pollers.values()].map((p) => p.step()));
    return steps.reduce((sum, s) => sum + s.delivered, 0);
  }

  /** Lists the shards again while running and starts loops for those a reshard made. */
  async #rediscover(signal: AbortSignal): Promise<void> {
    if (this.#listing) return;
    try {
      const added = await this.#addNewShards();
      // A shard found by a listing that ends after stop() gets its loop from the next start().
      if (signal.aborted) return;
      for (const p of added) this.#loops.push(this.#loop(p, signal));
      if (added.length > 0) this.#logger.info('new shards found', { shards: added.map((p) => p.shardId) });
    } catch (e) {
      this.#logger.warn('listing shards failed; will retry', { error: String(e) });
    }
  }

  #addNewShards(): Promise<ShardPoller[]> {
    this.#listing ??= this.#addNewShardsNow().finally(() => (this.#listing = undefined));
    return this.#listing;
  }

  /** Adds a poller for each shard not known yet, each from its checkpoint (one of an earlier stream is ignored). */
  async #addNewShardsNow(): Promise<ShardPoller[]> {
    const deps = (this.#deps ??= await this.#describe());
    const added: ShardPoller[] = [];
    for (const shard of await this.#listShards()) {
      const id = shard.ShardId!;
      if (this.#pollers.has(id)) continue;
      const shardStart = shard.SequenceNumberRange?.StartingSequenceNumber;
      const checkpoint = (await this.#checkpoints.read(id, shardStart)) ?? initialCheckpoint(id, shardStart);
      const poller = new ShardPoller(shard, checkpoint, { ...deps, parentsFinished: () => this.#parentsFinished(shard) });
      this.#pollers.set(id, poller);
      added.push(poller);
    }
    return added;
  }

  async #listShards(): Promise<Shard[]> {
    const { kinesis, streamName } = this.#o;
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const out = await kinesis.send(nextToken ? new ListShardsCommand({ NextToken: nextToken }) : new ListShardsCommand({ StreamName: streamName }));
      shards.push(...(out.Shards ?? []));
      nextToken = out.NextToken;
    } while (nextToken);
    return shards;
  }

  /** Lambda finishes a shard's parents (two after a merge) before the shard itself. */
  #parentsFinished(shard: Shard): boolean {
    return [shard.ParentShardId, shard.AdjacentParentShardId].every((id) => !id || (this.#pollers.get(id)?.finished ?? true));
  }

  /** What the pollers share, from the stream's description: its ARN, and its retention for the record age. */
  async #describe(): Promise<SharedDeps> {
    const o = this.#o;
    const summary = (await o.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: o.streamName }))).StreamDescriptionSummary;
    const maxRecordAgeSeconds = o.maxRecordAgeSeconds ?? maxRecordAgeSecondsFor(summary?.RetentionPeriodHours ?? 24);
    const policy: RetryPolicy = { maxRetries: o.maxRetries, maxRecordAgeMs: maxRecordAgeSeconds * 1000, backoffBaseMs: o.retryBaseMs, backoffCapMs: o.retryCapMs };
    const target: InvocationTarget = {
      streamArn: summary?.StreamARN ?? `arn:aws:kinesis:${o.region}:${LOCAL_ACCOUNT}:stream/${o.streamName}`,
      region: o.region,
      functionName: o.functionName,
      memoryMb: CONSUMER_SETTINGS.memoryMb,
      timeoutMs: timeoutSecondsFor(o.batchSize) * 1000,
    };
    const limits = { batchSize: o.batchSize, windowMs: o.maxBatchingWindowSeconds * 1000 };
    const { kinesis, streamName, handler, pollIntervalMs } = o;
    return { kinesis, streamName, handler, target, limits, policy, pollIntervalMs, checkpoints: this.#checkpoints, deadLetters: this.#deadLetters, logger: this.#logger };
  }

  async #loop(poller: ShardPoller, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let wake;
      try {
        wake = (await poller.step()).wake;
      } catch (e) {
        this.#logger.warn('shard poll failed; will retry', { shardId: poller.shardId, error: String(e) });
        wake = Date.now() + this.#o.pollIntervalMs;
      }
      if (wake === 'done') return;
      if (wake !== 'now') await pause(wake - Date.now(), signal);
    }
  }
}

/** Waits `ms` (global timers, so fake timers drive it), or until `signal` aborts; not at all if it has. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  // stop() may abort while a step is in flight: the pause after it must not wait for an abort that has happened.
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}
