import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { TIMED_OUT, withTimeout } from '../../../common/withTimeout';
import { StreamUnavailableError } from '../errors';
import type { Logger } from '../logger';
import type { BackoffOptions } from './backoff';
import type { OutgoingRecord, PublishedRecord, Publisher } from './Publisher';
import { SpoolReplayer, type RoundReport } from './SpoolReplayer';
import { initialSpoolState, nextSpoolState, routeOf, type SpoolEvent, type SpoolState, type SpoolStateName } from './SpoolState';
import type { Spool } from './spool/Spool';

export interface SpoolingPublisherOptions {
  /** The direct path: the batching publisher. */
  direct: Publisher;
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
  /** Operations replayed and confirmed by Kinesis. */
  onReplayed?(count: number): void;
  random?: () => number;
}

/** What `/ready` and the metrics show of the spool. */
export interface SpoolStatus {
  /** `spooling` in either spooling state. */
  mode: 'direct' | 'spooling';
  state: SpoolStateName;
  depth: number;
  bytes: number;
  oldestAgeMs: number;
}

/**
 * Nothing acknowledged is lost: records go to Kinesis directly (the batching publisher) while it answers
 * within `deadlineMs`; when it does not, the record is appended to the durable spool and acknowledged once
 * fsynced, and a {@link SpoolReplayer} sends the spool on. Where each new record goes is the {@link SpoolState}
 * machine: every record to the spool while Kinesis is not taking records, only records of keys the spool
 * holds while it drains, none once it is empty. Either way a record acknowledged before another with the same
 * partition key reaches the stream first.
 *
 * A failed spool append (a full disk, say) never leaves the gateway stuck on the spool: it wakes the replayer
 * (which finds an empty spool and returns to direct writing), and a record whose key the spool does not hold
 * is tried directly once instead, so once Kinesis answers, writes are taken again whatever the disk holds.
 */
export class SpoolingPublisher implements Publisher {
  readonly #o: SpoolingPublisherOptions;
  readonly #replayer: SpoolReplayer;
  #state: SpoolState;
  #drainWaiters: Array<() => void> = [];

  constructor(o: SpoolingPublisherOptions) {
    this.#o = o;
    this.#state = initialSpoolState(o.spool.depth > 0);
    this.#replayer = new SpoolReplayer({
      spool: o.spool,
      kinesis: o.kinesis,
      streamName: o.streamName,
      callTimeoutMs: o.callTimeoutMs,
      backoff: o.replayBackoff,
      logger: o.logger,
      random: o.random,
      onRoundStarted: () => this.#transition({ type: 'roundStarted' }),
      onRoundEnded: (report) => this.#roundEnded(report),
      onEmpty: () => this.#spoolEmpty(),
    });
    // Whoever appended (this publisher, or the adoption of a dead task's spool): the replayer sends it.
    o.spool.onAppended(() => {
      this.#transition({ type: 'appended' });
      this.#replayer.wake();
    });
  }

  /** Starts the replayer (it idles while the spool is empty). */
  start(): this {
    this.#replayer.start();
    return this;
  }

  state(now = Date.now()): SpoolStatus {
    const oldest = this.#o.spool.oldestAppendedAt;
    return {
      mode: this.#state.name === 'direct' ? 'direct' : 'spooling',
      state: this.#state.name,
      depth: this.#o.spool.depth,
      bytes: this.#o.spool.bytes,
      oldestAgeMs: oldest === undefined ? 0 : now - oldest,
    };
  }

  async publish(record: OutgoingRecord): Promise<PublishedRecord> {
    const deadline = Date.now() + this.#o.deadlineMs;
    switch (routeOf(this.#state, this.#o.spool.holds(record.partitionKey))) {
      case 'spool':
        return this.#spoolOrDirect(record);
      case 'afterKey':
        return this.#afterKey(record, deadline);
      case 'direct':
        return this.#directOrSpool(record, deadline);
    }
  }

  /** Waits until the spool no longer holds the record's key, then routes it again; past the deadline, spools it. */
  async #afterKey(record: OutgoingRecord, deadline: number): Promise<PublishedRecord> {
    const giveUp = new AbortController();
    const released = await withTimeout(this.#o.spool.released(record.partitionKey, giveUp.signal), deadline - Date.now());
    giveUp.abort();
    if (released === TIMED_OUT || this.#o.spool.holds(record.partitionKey) || routeOf(this.#state, false) !== 'direct') return this.#spoolOrDirect(record);
    // A deadline of its own: a direct attempt cut short by the wait would count as Kinesis failing.
    return this.#directOrSpool(record, Date.now() + this.#o.deadlineMs);
  }

  /** Directly to Kinesis; a record not acknowledged by the deadline goes to the spool. */
  async #directOrSpool(record: OutgoingRecord, deadline: number): Promise<PublishedRecord> {
    const direct = this.#o.direct.publish(record);
    const outcome = await withTimeout(
      direct.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      Math.max(0, deadline - Date.now()),
    );
    if (outcome !== TIMED_OUT && 'value' in outcome) return outcome.value;
    if (outcome !== TIMED_OUT && !(outcome.error instanceof StreamUnavailableError)) throw outcome.error;
    // The direct attempt may still land later: a duplicate the consumer absorbs, never a loss.
    this.#transition({ type: 'directFailed' }, outcome === TIMED_OUT ? `no acknowledgement within ${this.#o.deadlineMs} ms` : (outcome.error as Error).message);
    return this.#toSpool(record);
  }

  /**
   * A record routed to the spool without a direct attempt. If the spool cannot take it and holds nothing of its
   * key, nothing is ahead of it: it is tried directly, once (Kinesis may well be back while the disk is full).
   */
  async #spoolOrDirect(record: OutgoingRecord): Promise<PublishedRecord> {
    try {
      return await this.#toSpool(record);
    } catch (e) {
      if (this.#o.spool.holds(record.partitionKey) || !(e instanceof StreamUnavailableError) || this.#o.spool.closed) throw e;
    }
    try {
      return await this.#o.direct.publish(record);
    } catch (e) {
      if (e instanceof StreamUnavailableError) this.#transition({ type: 'directFailed' }, e.message);
      throw e;
    }
  }

  async #toSpool(record: OutgoingRecord): Promise<PublishedRecord> {
    try {
      await this.#o.spool.append(record);
    } catch (e) {
      // With nothing appended the replayer may be waiting for records that will not come: it must look again.
      this.#replayer.wake();
      throw e;
    }
    this.#o.onSpooled?.();
    return { spooled: true };
  }

  #roundEnded(report: RoundReport): void {
    this.#transition({ type: report.confirmedWhole ? 'roundConfirmedWhole' : 'roundFailed' });
    if (report.operations > 0) this.#o.onReplayed?.(report.operations);
  }

  #spoolEmpty(): void {
    // Appends still being fsynced will be answered 202 and must stay ahead of what arrives after them.
    if (this.#o.spool.writesInFlight === 0) this.#transition({ type: 'drained' });
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #transition(event: SpoolEvent, reason?: string): void {
    const from: SpoolStateName = this.#state.name;
    this.#state = nextSpoolState(this.#state, event);
    const to: SpoolStateName = this.#state.name;
    if (from === to) return;
    if (from === 'direct' && to === 'spoolAll') {
      this.#o.logger.warn('Kinesis is not taking records in time: spooling to disk until it recovers', { stream: this.#o.streamName, reason });
    } else if (to === 'direct') {
      this.#o.logger.info('spool drained: writing to Kinesis directly again', { stream: this.#o.streamName });
    }
  }

  /**
   * Stops: waits for direct publishes in flight, then up to `drainMs` for the replayer to empty the spool.
   * What is left stays on disk for the next start.
   */
  async close(drainMs = 0): Promise<void> {
    await this.#o.direct.close();
    if (this.#o.spool.depth > 0 && drainMs > 0) {
      await withTimeout(new Promise<void>((resolve) => this.#drainWaiters.push(resolve)), drainMs);
      this.#drainWaiters = [];
    }
    await this.#replayer.stop();
    if (this.#o.spool.depth > 0) this.#o.logger.warn('stopping with records in the spool; the next start replays them', { records: this.#o.spool.depth });
    await this.#o.spool.close();
  }
}
