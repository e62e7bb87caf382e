import { isResourceNotFound } from './awsErrors';

/** How {@link waitUntilActive} polls. */
export interface WaitUntilActiveOptions {
  /** What is awaited, for the timeout's message (`stream resources-operations`). */
  what: string;
  /** Give up after this long. @default 30000 */
  timeoutMs?: number;
  /** Pause between two reads of the status. @default 50 */
  intervalMs?: number;
  /** Called once, after the first read that is not ACTIVE: a place to log that the wait has begun. */
  onWaiting?: () => void;
}

/**
 * Reads a stream's or a table's status until it is `ACTIVE`, for the code that creates them locally or waits
 * for another process to. A `ResourceNotFoundException` counts as "not yet": the resource is being made,
 * possibly by someone else. Any other error ends the wait.
 *
 * @throws Error naming `what` when the status is not ACTIVE within `timeoutMs`.
 * @example
 * await waitUntilActive(
 *   async () => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName }))).StreamDescriptionSummary?.StreamStatus,
 *   { what: `stream ${StreamName}` },
 * );
 */
export async function waitUntilActive(readStatus: () => Promise<string | undefined>, o: WaitUntilActiveOptions): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let waiting = false;
  for (;;) {
    const status = await readStatus().catch((e: unknown) => {
      if (isResourceNotFound(e)) return undefined;
      throw e;
    });
    if (status === 'ACTIVE') return;
    if (Date.now() >= deadline) throw new Error(`${o.what} did not become ACTIVE within ${timeoutMs} ms (status: ${status ?? 'not found'})`);
    if (!waiting) o.onWaiting?.();
    waiting = true;
    // The global timer, so that tests with fake timers drive the wait.
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 50));
  }
}
