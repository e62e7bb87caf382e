import type { RetryConfig } from '../config';
import { backoffDelay } from './backoff';

/** What happened to one item of a batch call. */
export type ItemOutcome<R> =
  | { ok: true; value: R }
  | { ok: false; retryable: boolean; error: Error };

export interface GroupCommitOptions<T, R> {
  /** Sends one batch; returns one outcome per item, in order. A throw is classified by `isRetryable`. */
  send(items: readonly T[]): Promise<ItemOutcome<R>[]>;
  /** Whether a whole-call failure should be retried. */
  isRetryable(error: unknown): boolean;
  maxItems: number;
  /** Byte budget of a call; an item is never split. @default Infinity */
  maxBytes?: number;
  sizeOf?(item: T): number;
  /** Calls in flight at once. */
  maxInFlight: number;
  /** Wait this long for a batch to fill before sending it. @default 0 */
  lingerMs?: number;
  retry: RetryConfig;
  /** @default Math.random */
  random?: () => number;
  /** Told about each retry (for metrics and logs). */
  onRetry?(info: { attempt: number; delayMs: number; error: Error; items: number }): void;
  /** Told about each call (for metrics). */
  onBatch?(info: { items: number; durationMs: number }): void;
}

/** An item that ran out of retries; `cause` is the last failure. */
export class RetriesExhaustedError extends Error {
  override readonly name = 'RetriesExhaustedError';
  constructor(
    readonly attempts: number,
    cause: Error,
  ) {
    super(`gave up after ${attempts} attempts: ${cause.message}`, { cause });
  }
}

interface Entry<T, R> {
  item: T;
  size: number;
  attempts: number;
  firstAt: number;
  resolve(value: R): void;
  reject(error: Error): void;
}

/**
 * Group commit: items submitted while calls are in flight form the next call. A lone item goes out at once,
 * at the end of the current event-loop turn (unless `lingerMs` asks to wait); at most `maxInFlight` calls run
 * together. Each item's promise settles with
 * its own outcome; failed items alone are retried, with exponential backoff and full jitter, until the
 * attempt budget or the deadline (from the item's submission) runs out.
 */
export class GroupCommit<T, R> {
  readonly #queue: Entry<T, R>[] = [];
  #inFlight = 0;
  #retrying = 0;
  #lingerTimer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #idleWaiters: Array<() => void> = [];
  readonly #random: () => number;

  readonly #o: GroupCommitOptions<T, R>;

  constructor(o: GroupCommitOptions<T, R>) {
    this.#o = o;
    this.#random = o.random ?? Math.random;
  }

  /** Items waiting, in flight, or waiting to be retried. */
  get pending(): number {
    return this.#queue.length + this.#inFlight + this.#retrying;
  }

  /** Resolves with the item's result once its batch call succeeded for it. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, size: this.#o.sizeOf?.(item) ?? 0, attempts: 0, firstAt: Date.now(), resolve, reject });
      this.#pump();
    });
  }

  /** Resolves when nothing is queued, in flight or waiting to be retried. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    if (this.#inFlight >= this.#o.maxInFlight || this.#queue.length === 0) return;
    if (this.#queue.length >= this.#o.maxItems) {
      this.#flushAll();
      return;
    }
    const linger = this.#o.lingerMs ?? 0;
    if (linger > 0) {
      this.#lingerTimer ??= setTimeout(() => {
        this.#lingerTimer = undefined;
        this.#flushAll();
      }, linger);
      return;
    }
    // Not a delay: the call goes out at the end of this turn of the event loop, so the requests that were
    // parsed in the same turn share it instead of the first one leaving alone.
    this.#immediate ??= setImmediate(() => {
      this.#immediate = undefined;
      this.#flushAll();
    });
  }

  #flushAll(): void {
    while (this.#inFlight < this.#o.maxInFlight && this.#queue.length > 0) this.#flush();
  }

  #flush(): void {
    if (this.#queue.length === 0 || this.#inFlight >= this.#o.maxInFlight) return;
    this.#dropExpired();
    if (this.#queue.length === 0) {
      this.#checkIdle();
      return;
    }
    if (this.#lingerTimer) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
    }
    const maxBytes = this.#o.maxBytes ?? Infinity;
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < this.#o.maxItems) {
      const size = this.#queue[n]!.size;
      if (n > 0 && bytes + size > maxBytes) break;
      bytes += size;
      n++;
    }
    const batch = this.#queue.splice(0, n);
    this.#inFlight++;
    void this.#run(batch);
  }

  async #run(batch: Entry<T, R>[]): Promise<void> {
    const started = Date.now();
    let outcomes: ItemOutcome<R>[];
    try {
      outcomes = await this.#o.send(batch.map((e) => e.item));
      if (outcomes.length !== batch.length) throw new Error(`batch call returned ${outcomes.length} outcomes for ${batch.length} items`);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const retryable = this.#o.isRetryable(e);
      outcomes = batch.map(() => ({ ok: false, retryable, error }));
    }
    this.#o.onBatch?.({ items: batch.length, durationMs: Date.now() - started });
    const retries: Entry<T, R>[] = [];
    batch.forEach((entry, i) => {
      const out = outcomes[i]!;
      if (out.ok) entry.resolve(out.value);
      else if (!out.retryable) entry.reject(out.error);
      else retries.push(entry);
    });
    this.#inFlight--;
    if (retries.length > 0) this.#retry(retries, (outcomes[batch.indexOf(retries[0]!)] as { error: Error }).error);
    this.#pump();
    this.#checkIdle();
  }

  /** Schedules the failed items of one call for one retry together (one jitter draw), or gives up on them. */
  #retry(entries: Entry<T, R>[], error: Error): void {
    const attempt = Math.max(...entries.map((e) => e.attempts)) + 1;
    const delay = backoffDelay(attempt, this.#o.retry, this.#random);
    const again: Entry<T, R>[] = [];
    for (const entry of entries) {
      entry.attempts++;
      const deadline = entry.firstAt + this.#o.retry.deadlineMs;
      if (entry.attempts >= this.#o.retry.maxAttempts || Date.now() + delay > deadline) entry.reject(new RetriesExhaustedError(entry.attempts, error));
      else again.push(entry);
    }
    if (again.length === 0) return;
    this.#o.onRetry?.({ attempt, delayMs: delay, error, items: again.length });
    this.#retrying += again.length;
    setTimeout(() => {
      this.#retrying -= again.length;
      // Retried items go first: they were submitted before anything still queued.
      this.#queue.unshift(...again);
      this.#pump();
    }, delay);
  }

  /**
   * Items past their deadline while still queued (calls were slow or hung) are given up here, unsent: their
   * callers have moved on (the spool took the record, the answer went without the status write), and sending
   * them late would only add duplicates and hold back what is current. It also bounds the queue while the
   * service is slower than the arrivals: to what arrives within one deadline.
   */
  #dropExpired(): void {
    const now = Date.now();
    while (this.#queue.length > 0 && now >= this.#queue[0]!.firstAt + this.#o.retry.deadlineMs) {
      const e = this.#queue.shift()!;
      e.reject(new RetriesExhaustedError(e.attempts, new Error(`not sent within ${this.#o.retry.deadlineMs} ms: the calls before it were too slow`)));
    }
  }

  #checkIdle(): void {
    if (this.pending !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
