import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { backoffDelay, type BackoffOptions } from './backoff';
import { StreamUnavailableError } from '../errors';
import type { Logger } from '../logger';
import type { OutgoingRecord, PublishedRecord, Publisher } from './Publisher';
import type { Spool, SpoolEntry } from './spool/Spool';

export interface SpoolingPublisherOptions {
  /** The direct path: the batching publisher. */
  inner: Publisher;
  spool: Spool;
  /** For the replayer's own PutRecords calls. */
  kinesis: KinesisClient;
  streamName: string;
  /** A direct publish not acknowledged within this falls back to the spool. */
  deadlineMs: number;
  /** Timeout of one replay call. */
  callTimeoutMs: number;
  /** Backoff between replay rounds that failed. */
  replayBackoff: BackoffOptions;
  logger: Logger;
  /** Records spooled because the direct path failed or the spool was not empty. */
  onSpooled?(): void;
  /** Records replayed and confirmed by Kinesis. */
  onReplayed?(count: number): void;
  random?: () => number;
}

/** What `/ready` and the metrics show of the spool. */
export interface SpoolState {
  mode: 'direct' | 'spooling';
  depth: number;
  bytes: number;
  oldestAgeMs: number;
}

const MAX_ROUND_RECORDS = 500;
const MAX_ROUND_BYTES = 5 * 1024 * 1024;
// Bounds the work of picking a round when one partition key holds most of the backlog.
const MAX_SCAN = 20_000;

/**
 * Nothing acknowledged is lost: records go to Kinesis directly (the batching publisher) while it answers
 * within `deadlineMs`; when it does not, the record is appended to the durable spool and acknowledged once
 * fsynced. From then on every new record goes to the spool, until a replay round shows Kinesis taking records
 * again; then only records whose partition key the spool still holds queue behind it, and the others go
 * direct. Either way a record acknowledged before another with the same partition key reaches the stream first.
 *
 * The replayer sends the spool oldest first, with at most one record per partition key in flight: PutRecords
 * may store a later record of a request while an earlier one fails, so a key's records go one round at a time.
 */
export class SpoolingPublisher implements Publisher {
  private mode: SpoolState['mode'];
  /** The last replay round was confirmed whole: Kinesis is taking records, the spool only has to drain. */
  private kinesisTakesRecords = false;
  /** Direct attempts that failed or missed the deadline, ever: a replay round started before one cannot clear it. */
  private directFailures = 0;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private drained: Array<() => void> = [];
  private readonly random: () => number;

  constructor(private readonly o: SpoolingPublisherOptions) {
    this.mode = o.spool.depth > 0 ? 'spooling' : 'direct';
    // Records can also arrive from elsewhere (a dead task's spool, adopted while this one runs): replay them too.
    o.spool.onAppended(() => {
      // Adopted while writing directly: their keys must not be overtaken by new records, so those keys queue
      // behind the spool (Kinesis is taking records: the others still go direct).
      if (this.mode === 'direct') {
        this.mode = 'spooling';
        this.kinesisTakesRecords = true;
      }
      this.wakeUp?.();
    });
    this.random = o.random ?? Math.random;
  }

  /** Starts the replayer (it idles while the spool is empty). */
  start(): this {
    this.loop ??= this.replayLoop();
    return this;
  }

  state(now = Date.now()): SpoolState {
    const oldest = this.o.spool.oldestAppendedAt;
    return { mode: this.mode, depth: this.o.spool.depth, bytes: this.o.spool.bytes, oldestAgeMs: oldest === undefined ? 0 : now - oldest };
  }

  async publish(record: OutgoingRecord): Promise<PublishedRecord> {
    // While the spool drains, only keys it holds must queue behind it; the others may go direct, once the
    // replayer has shown that Kinesis takes records again (until then every record goes to the spool, at once).
    if (this.mode === 'spooling' && (!this.kinesisTakesRecords || this.o.spool.holds(record.partitionKey))) return this.toSpool(record);
    const direct = this.o.inner.publish(record);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      direct.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      new Promise<{ timeout: true }>((resolve) => {
        timer = setTimeout(() => resolve({ timeout: true }), this.o.deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if ('value' in outcome) return outcome.value;
    if ('error' in outcome && !(outcome.error instanceof StreamUnavailableError)) throw outcome.error;
    // The direct attempt may still land later: a duplicate the consumer absorbs, never a loss.
    direct.catch(() => {});
    this.kinesisTakesRecords = false;
    this.directFailures++;
    if (this.mode === 'direct') {
      this.mode = 'spooling';
      this.o.logger.warn('Kinesis is not taking records in time: spooling to disk until it recovers', {
        stream: this.o.streamName,
        reason: 'error' in outcome ? (outcome.error as Error).message : `no acknowledgement within ${this.o.deadlineMs} ms`,
      });
    }
    return this.toSpool(record);
  }

  private async toSpool(record: OutgoingRecord): Promise<PublishedRecord> {
    await this.o.spool.append(record);
    // On disk now, and visible to the replayer.
    this.wakeUp?.();
    this.o.onSpooled?.();
    return { spooled: true };
  }

  /**
   * Stops: waits for direct publishes in flight, then up to `drainMs` for the replayer to empty the spool.
   * What is left stays on disk for the next start.
   */
  async close(drainMs = 0): Promise<void> {
    await this.o.inner.close();
    if (this.o.spool.depth > 0 && drainMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.drained.push(r)), new Promise((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
      this.drained = [];
    }
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    if (this.o.spool.depth > 0) this.o.logger.warn('stopping with records in the spool; the next start replays them', { records: this.o.spool.depth });
    await this.o.spool.close();
  }

  /** The oldest unconfirmed record of each partition key, oldest first, within PutRecords' limits. */
  private pickRound(): SpoolEntry[] {
    const round: SpoolEntry[] = [];
    const seen = new Set<string>();
    let bytes = 0;
    let scanned = 0;
    for (const e of this.o.spool.pending()) {
      if (++scanned > MAX_SCAN || round.length >= MAX_ROUND_RECORDS) break;
      if (seen.has(e.partitionKey)) continue;
      seen.add(e.partitionKey);
      const size = e.data.byteLength + Buffer.byteLength(e.partitionKey);
      if (bytes + size > MAX_ROUND_BYTES) break;
      bytes += size;
      round.push(e);
    }
    return round;
  }

  private async replayLoop(): Promise<void> {
    let failures = 0;
    let lastWarn = 0;
    while (!this.stopped) {
      if (this.o.spool.depth === 0) {
        // Appends still being fsynced will be answered 202 and must stay ahead of what arrives after them.
        if (this.mode === 'spooling' && this.o.spool.writesInFlight === 0) {
          this.mode = 'direct';
          this.o.logger.info('spool drained: writing to Kinesis directly again', { stream: this.o.streamName });
        }
        for (const r of this.drained.splice(0)) r();
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        this.wakeUp = undefined;
        continue;
      }
      const round = this.pickRound();
      const directFailuresBefore = this.directFailures;
      let confirmed: SpoolEntry[] = [];
      try {
        const res = await this.o.kinesis.send(
          new PutRecordsCommand({ StreamName: this.o.streamName, Records: round.map((e) => ({ PartitionKey: e.partitionKey, Data: e.data })) }),
          { abortSignal: AbortSignal.timeout(this.o.callTimeoutMs) },
        );
        // A record is confirmed by its own result; an answer that does not have one per record confirms nothing.
        if (res.Records?.length === round.length) confirmed = round.filter((_, i) => !res.Records![i]!.ErrorCode);
      } catch (e) {
        if (Date.now() - lastWarn > 10_000) {
          lastWarn = Date.now();
          this.o.logger.warn('spool replay failed; retrying with backoff', { stream: this.o.streamName, records: this.o.spool.depth, err: e });
        }
      }
      // Whole, and no direct attempt failed meanwhile (that failure is the newer news).
      this.kinesisTakesRecords = confirmed.length === round.length && this.directFailures === directFailuresBefore;
      if (confirmed.length > 0) {
        await this.o.spool.release(confirmed);
        this.o.onReplayed?.(confirmed.length);
      }
      if (confirmed.length < round.length) {
        failures++;
        await this.pause(backoffDelay(failures, this.o.replayBackoff, this.random));
      } else failures = 0;
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeUp = () => {
        // An append does not cut a backoff short; only stopping does.
        if (this.stopped) {
          clearTimeout(t);
          resolve();
        }
      };
    });
  }
}
