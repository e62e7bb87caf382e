import type { StatusItem } from '../../../contract/status';

/** The longest `Prefer: wait=N` honoured, in seconds; a longer one is shortened to it. */
export const MAX_WAIT_SECONDS = 20;
/** Pauses between the reads of one wait, in ms; the last repeats: at most 23 reads in a 20 s wait. */
export const WAIT_SCHEDULE_MS = [100, 200, 400, 800, 1_000] as const;
/** Waiting requests per task, by default: past it a wait is not applied and the status is answered at once. */
export const DEFAULT_MAX_WAITING = 500;

export interface StatusWaiterOptions {
  /** A status read (StatusStore.get). */
  read(requestId: string): Promise<StatusItem | undefined>;
  /** @default DEFAULT_MAX_WAITING */
  maxWaiting?: number;
  /** @default WAIT_SCHEDULE_MS */
  schedule?: readonly number[];
  /** True once the server is stopping: waits end at their next step, within the drain budget. */
  draining?: () => boolean;
  /** @default Date.now */
  now?: () => number;
  /** @default a global setTimeout (fake timers replace it in tests) */
  sleep?: (ms: number) => Promise<unknown>;
}

/** How a wait ended: `applied` is false when it was not taken (bound reached, or draining). */
export interface WaitResult {
  item: StatusItem | undefined;
  applied: boolean;
}

const defaultSleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for an operation's outcome (`Prefer: wait=N`) by reading the status table on a backoff schedule, so
 * a wait costs a bounded number of reads, and a task holds a bounded number of waits.
 */
export class StatusWaiter {
  #waiting = 0;
  readonly #max: number;
  readonly #schedule: readonly number[];
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<unknown>;
  readonly #o: StatusWaiterOptions;

  constructor(o: StatusWaiterOptions) {
    this.#o = o;
    this.#max = o.maxWaiting ?? DEFAULT_MAX_WAITING;
    this.#schedule = o.schedule ?? WAIT_SCHEDULE_MS;
    this.#now = o.now ?? Date.now;
    this.#sleep = o.sleep ?? defaultSleep;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Reads `requestId` until it is no longer `processing` or `waitMs` passed; `current` is what the caller
   * last read. A read that fails ends the wait with its error (StatusStore.get retries it first).
   */
  async wait(requestId: string, current: StatusItem, waitMs: number): Promise<WaitResult> {
    if (this.#waiting >= this.#max || this.#o.draining?.()) return { item: current, applied: false };
    this.#waiting++;
    try {
      const end = this.#now() + waitMs;
      let item: StatusItem | undefined = current;
      for (let step = 0; item?.status === 'processing'; step++) {
        const pause = Math.min(this.#schedule[Math.min(step, this.#schedule.length - 1)]!, end - this.#now());
        if (pause <= 0 || this.#o.draining?.()) break;
        await this.#sleep(pause);
        if (this.#o.draining?.()) break;
        item = await this.#o.read(requestId);
      }
      return { item, applied: true };
    } finally {
      this.#waiting--;
    }
  }
}
