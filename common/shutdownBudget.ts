/**
 * The gateway's shutdown budget, shared by the server (which spends it after SIGTERM) and the infrastructure
 * (whose ECS stop timeout must outlast it before SIGKILL).
 */

/** How long SIGTERM lets requests in flight (a status wait included) finish, in ms. */
export const HTTP_DRAIN_MS = 10_000;
/** Default of SPOOL_DRAIN_MS: how long SIGTERM then drains the spool into Kinesis, in ms. */
export const DEFAULT_SPOOL_DRAIN_MS = 20_000;
/** What the stop timeout keeps beyond both drains: the last flush of batches and metrics, and process exit. */
export const STOP_MARGIN_MS = 15_000;
/** ECS's upper bound on a container's stop timeout, in seconds. */
const MAX_STOP_TIMEOUT_SECONDS = 120;

/** The ECS container stop timeout, in seconds, for a spool drain budget: the HTTP drain, the spool drain and the margin. */
export function stopTimeoutSeconds(spoolDrainMs: number = DEFAULT_SPOOL_DRAIN_MS): number {
  return Math.min(MAX_STOP_TIMEOUT_SECONDS, Math.ceil((HTTP_DRAIN_MS + spoolDrainMs + STOP_MARGIN_MS) / 1000));
}
