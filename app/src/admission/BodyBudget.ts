/**
 * The task's budget of request-body bytes held at once. A request reserves its body's size when it arrives
 * and gives it back when its answer is written or its connection closes; a request that does not fit is
 * refused before its body is read. The bytes a request holds meanwhile are several times its body (the
 * buffered chunks, the decoded text, the parsed value, the encoded record until Kinesis acknowledges it), so
 * the budget bounds memory by bounding what multiplies.
 */
export class BodyBudget {
  readonly capacityBytes: number;
  #heldBytes = 0;

  constructor(capacityBytes: number) {
    if (!(capacityBytes > 0)) throw new Error('BodyBudget needs a positive capacity');
    this.capacityBytes = capacityBytes;
  }

  /** Bytes reserved now. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Reserves `bytes` if they fit beside what is held; false (and nothing reserved) otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.#heldBytes + bytes > this.capacityBytes) return false;
    this.#heldBytes += bytes;
    return true;
  }

  /** Gives back bytes an earlier {@link tryReserve} took. */
  release(bytes: number): void {
    this.#heldBytes = Math.max(0, this.#heldBytes - bytes);
  }
}

/**
 * The budget for a task's memory: a sixty-fourth of it. Measured (bench/largeBodies.ts), a body taken onto the
 * stream costs the process about eight times its size at the peak (and garbage awaiting a major GC more), so
 * a sixty-fourth keeps large bodies to about a fifth of the memory, beside the spool's and the runtime's share.
 */
export function bodyBudgetBytesFor(taskMemoryMiB: number): number {
  return Math.floor((taskMemoryMiB * 1024 * 1024) / 64);
}

/** Default of GATEWAY_BODY_BUDGET_BYTES: the budget of a 2 GiB task. */
export const DEFAULT_BODY_BUDGET_BYTES = bodyBudgetBytesFor(2048);
