import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { isExpiredIterator, isInvalidArgument } from '../common/awsErrors';
import { batchLength, isBatchReady, type BatchLimits } from './batchWindow';
import { initialCheckpoint, type Checkpoint, type CheckpointStore } from './checkpointStore';
import type { DeadLetterFile } from './deadLetterFile';
import { invokeBatch, type KinesisBatchHandler } from './invokeBatch';
import { lambdaContext, toLambdaRecord, type InvocationTarget } from './lambdaEvent';
import type { MappingLogger } from './mappingLogger';
import { decideRetry, isTooOld, type DeadLetterCondition, type RetryPolicy } from './retryPolicy';
import { failedAttempts, nextPhase, type ShardEvent, type ShardPhase } from './shardPhase';

/** Everything a shard's poller works with; shared by the pollers of one mapping but the shard and its checkpoint. */
export interface ShardPollerDeps {
  kinesis: KinesisClient;
  streamName: string;
  handler: KinesisBatchHandler;
  target: InvocationTarget;
  limits: BatchLimits;
  policy: RetryPolicy;
  /** Pause of an idle shard between two reads (Lambda polls an idle shard about once a second). */
  pollIntervalMs: number;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterFile;
  logger: MappingLogger;
  /** Whether every parent of the shard is finished (the mapping knows the other shards). */
  parentsFinished: () => boolean;
}

/** When a poller wants its next step: at once (a backlog), at a time (ms since the epoch), or never (finished). */
export type Wake = 'now' | 'done' | number;

/** One step's outcome: the records the handler was given, and when to step again. */
export interface StepResult {
  delivered: number;
  wake: Wake;
}

/**
 * One shard of the event source mapping: reads it in order, assembles batches as Lambda does (batch size,
 * batching window, payload limit), invokes with one invocation in flight, retries a failing record with
 * backoff until the retry policy dead-letters it, and checkpoints what is done. Its phase is a
 * {@link ShardPhase}, changed only through {@link nextPhase}.
 */
export class ShardPoller {
  readonly shard: Shard;
  readonly #d: ShardPollerDeps;
  #phase: ShardPhase;
  #checkpoint: Checkpoint;
  #iterator?: string;
  /** Records read and not yet done, in order; the head is retried after a failure. */
  #pending: KinesisRecord[] = [];
  /** The closed shard has no more records to read. */
  #endOfShard = false;
  /** The last read found records, or the shard is behind its tip: read on without a pause. */
  #behind = false;
  /** When the batching window of the records pending opened (their first was read). */
  #windowOpenedAt = 0;

  constructor(shard: Shard, checkpoint: Checkpoint, deps: ShardPollerDeps) {
    this.shard = shard;
    this.#checkpoint = checkpoint;
    this.#d = deps;
    this.#phase = checkpoint.finished ? { kind: 'finished' } : { kind: 'waitingForParents' };
  }

  get shardId(): string {
    return this.shard.ShardId!;
  }

  get finished(): boolean {
    return this.#phase.kind === 'finished';
  }

  get phase(): ShardPhase {
    return this.#phase;
  }

  /** Reads if a batch is not full, then invokes the handler once if a batch is ready. */
  async step(): Promise<StepResult> {
    const now = Date.now();
    const idle = { delivered: 0, wake: now + this.#d.pollIntervalMs };
    if (this.#phase.kind === 'finished') return { delivered: 0, wake: 'done' };
    if (this.#phase.kind === 'waitingForParents') {
      if (!this.#d.parentsFinished()) return idle;
      this.#transition({ kind: 'parentsFinished' });
    }
    if (this.#phase.kind === 'retrying' && now < this.#phase.notBefore) return { delivered: 0, wake: this.#phase.notBefore };
    if (this.#pending.length === 0 && this.#endOfShard) {
      await this.#finish();
      return { delivered: 0, wake: 'done' };
    }
    await this.#fill();
    await this.#dropTooOld();
    if (this.#pending.length === 0) return this.#endOfShard || this.#behind ? { delivered: 0, wake: 'now' } : idle;
    const retrying = this.#phase.kind === 'retrying';
    if (!retrying && !isBatchReady(this.#d.limits, this.#pending, this.#windowOpenedAt, Date.now(), this.#endOfShard)) {
      return { delivered: 0, wake: Math.min(this.#windowOpenedAt + this.#d.limits.windowMs, idle.wake) };
    }
    return this.#deliver();
  }

  #transition(event: ShardEvent): void {
    this.#phase = nextPhase(this.#phase, event);
  }

  /** Invokes the handler with the next batch and settles its outcome. */
  async #deliver(): Promise<StepResult> {
    const batch = this.#pending.slice(0, batchLength(this.#d.limits, this.#pending));
    const event: KinesisStreamEvent = { Records: batch.map((r) => toLambdaRecord(this.#d.target, this.shardId, r)) };
    const [result] = await Promise.all([invokeBatch(this.#d.handler, event, batch, lambdaContext(this.#d.target)), this.#readAhead(batch.length)]);
    if (result.ok) {
      await this.#advance(batch.length);
      this.#transition({ kind: 'succeeded' });
      return { delivered: batch.length, wake: this.#pending.length > 0 || this.#behind ? 'now' : Date.now() + this.#d.pollIntervalMs };
    }
    if (result.retryFrom > 0) await this.#advance(result.retryFrom);
    return { delivered: batch.length, wake: await this.#settleFailure(this.#pending[0]!, result.error) };
  }

  /** Schedules the failing record's retry, or dead-letters it as the retry policy says. */
  async #settleFailure(record: KinesisRecord, error: string | undefined): Promise<Wake> {
    const sequenceNumber = record.SequenceNumber!;
    const attempts = failedAttempts(this.#phase, sequenceNumber) + 1;
    const now = Date.now();
    const decision = decideRetry(this.#d.policy, attempts, arrivalMs(record), now);
    if (decision.kind === 'deadLetter') {
      await this.#deadLetterHead(decision.condition, attempts);
      return 'now';
    }
    const notBefore = now + decision.delayMs;
    this.#transition({ kind: 'failed', sequenceNumber, attempts, notBefore });
    this.#d.logger.warn('batch item failed; retrying from it after a pause', {
      shardId: this.shardId,
      sequenceNumber,
      attempt: attempts,
      retryInMs: decision.delayMs,
      ...(error ? { error } : {}),
    });
    return notBefore;
  }

  /** Lambda does not invoke with records older than the maximum age: they go to the destination unread. */
  async #dropTooOld(): Promise<void> {
    while (this.#pending.length > 0 && isTooOld(this.#d.policy, arrivalMs(this.#pending[0]!), Date.now())) {
      await this.#deadLetterHead('RecordAgeExceeded', failedAttempts(this.#phase, this.#pending[0]!.SequenceNumber!));
    }
  }

  async #deadLetterHead(condition: DeadLetterCondition, attempts: number): Promise<void> {
    const record = this.#pending[0]!;
    const { deadLetters, target } = this.#d;
    await deadLetters.append({ shardId: this.shardId, streamArn: target.streamArn, record, condition, attempts });
    await this.#advance(1);
    this.#transition({ kind: 'deadLettered', sequenceNumber: record.SequenceNumber! });
    this.#d.logger.error('record dead-lettered', {
      shardId: this.shardId,
      sequenceNumber: record.SequenceNumber,
      condition,
      attempts,
      deadLetterFile: deadLetters.path,
    });
  }

  /** Marks the first `count` pending records done and persists the checkpoint. */
  async #advance(count: number): Promise<void> {
    const last = this.#pending[count - 1]!;
    this.#pending.splice(0, count);
    this.#windowOpenedAt = Date.now();
    this.#checkpoint = { ...this.#checkpoint, sequenceNumber: last.SequenceNumber!, updatedAt: new Date().toISOString() };
    await this.#d.checkpoints.write(this.#checkpoint);
  }

  async #finish(): Promise<void> {
    this.#checkpoint = { ...this.#checkpoint, finished: true, updatedAt: new Date().toISOString() };
    await this.#d.checkpoints.write(this.#checkpoint);
    this.#transition({ kind: 'drained' });
  }

  /** Tops the pending records up to a full batch; a failed read still lets what is pending be delivered. */
  async #fill(): Promise<void> {
    const want = this.#d.limits.batchSize - this.#pending.length;
    if (want <= 0 || this.#endOfShard) return;
    try {
      await this.#read(want);
    } catch (e) {
      if (this.#pending.length === 0) throw e;
      this.#d.logger.warn('read failed; delivering what is pending', { shardId: this.shardId, error: String(e) });
    }
  }

  /**
   * While the handler runs, reads the batch after the `taken` records it was given, as Lambda's pollers fetch
   * ahead: a shard with a backlog waits for no read between two invocations. A failure is left to the next read.
   */
  async #readAhead(taken: number): Promise<void> {
    const want = this.#d.limits.batchSize - (this.#pending.length - taken);
    if (want <= 0 || this.#endOfShard) return;
    await this.#read(want).catch((e: unknown) => this.#d.logger.debug('read-ahead failed; the next read retries', { shardId: this.shardId, error: String(e) }));
  }

  async #read(limit: number): Promise<void> {
    this.#iterator ??= await this.#openIterator();
    try {
      const out = await this.#d.kinesis.send(new GetRecordsCommand({ ShardIterator: this.#iterator, Limit: limit }));
      const records = out.Records ?? [];
      if (this.#pending.length === 0 && records.length > 0) this.#windowOpenedAt = Date.now();
      this.#pending.push(...records);
      this.#behind = records.length > 0 || (out.MillisBehindLatest ?? 0) > 0;
      this.#iterator = out.NextShardIterator;
      if (!out.NextShardIterator) this.#endOfShard = true;
    } catch (e) {
      // An expired iterator is re-made from the checkpoint, which is only right when nothing is pending.
      if (isExpiredIterator(e) && this.#pending.length === 0) this.#iterator = undefined;
      throw e;
    }
  }

  /** An iterator after the checkpoint, or at the shard's start; a checkpoint of another stream starts over. */
  async #openIterator(): Promise<string | undefined> {
    const at = this.#checkpoint.sequenceNumber;
    const open = (after?: string) =>
      this.#d.kinesis.send(
        new GetShardIteratorCommand({
          StreamName: this.#d.streamName,
          ShardId: this.shardId,
          ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
    const out = await open(at).catch(async (e: unknown) => {
      // A sequence number of another stream (this one was made again under the same name): start over.
      if (!at || !isInvalidArgument(e)) throw e;
      this.#d.logger.warn('the checkpoint is not of this stream; reading the shard from its start', { shardId: this.shardId, error: String(e) });
      this.#checkpoint = initialCheckpoint(this.shardId, this.#checkpoint.shardStart);
      return open(undefined);
    });
    return out.ShardIterator;
  }
}

/** When the record reached the stream, in ms since the epoch (now, if the stream did not say). */
function arrivalMs(r: KinesisRecord): number {
  return r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
}
