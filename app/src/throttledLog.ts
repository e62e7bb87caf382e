import type { LogFields, Logger, LogLevel } from './logger';

export interface ThrottledLogOptions {
  /** The shortest time between two lines, ms. @default 10000 */
  intervalMs?: number;
  /** Clock, ms. @default Date.now */
  now?: () => number;
}

/**
 * A log line for a condition that repeats while it lasts (an outage fails every record): written at most once
 * per interval, with `suppressed`, how many lines were held back since the last one written. One line per
 * interval is enough to act on; one per failure would flood the logs when they matter most.
 */
export class ThrottledLog {
  readonly #logger: Logger;
  readonly #level: LogLevel;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastWritten = -Infinity;
  #suppressed = 0;

  constructor(logger: Logger, level: LogLevel, o: ThrottledLogOptions = {}) {
    this.#logger = logger;
    this.#level = level;
    this.#intervalMs = o.intervalMs ?? 10_000;
    this.#now = o.now ?? Date.now;
  }

  /** Writes the line, unless one was written less than the interval ago (then it only counts it). */
  write(message: string, fields?: LogFields): void {
    const now = this.#now();
    if (now - this.#lastWritten < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#lastWritten = now;
    this.#logger[this.#level](message, { ...fields, suppressed: this.#suppressed });
    this.#suppressed = 0;
  }
}
