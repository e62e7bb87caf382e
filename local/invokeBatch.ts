import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';

/** The function the mapping invokes: a Lambda handler for Kinesis events with partial batch responses. */
export type KinesisBatchHandler = (
  event: KinesisStreamEvent,
  context: Context,
) => Promise<KinesisStreamBatchResponse | void | undefined>;

/** How an invocation ended: every record done, or the index in the batch to retry from. */
export type InvocationResult = { ok: true } | { ok: false; retryFrom: number; error?: string };

/**
 * Invokes the handler and reads its answer as Lambda does with ReportBatchItemFailures: a throw retries the
 * whole batch, and a partial response retries from the lowest failed sequence number (an identifier not in
 * the batch fails it all).
 */
export async function invokeBatch(
  handler: KinesisBatchHandler,
  event: KinesisStreamEvent,
  batch: readonly KinesisRecord[],
  context: Context,
): Promise<InvocationResult> {
  let response: KinesisStreamBatchResponse | void | undefined;
  try {
    response = await handler(event, context);
  } catch (e) {
    return { ok: false, retryFrom: 0, error: String(e) };
  }
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return { ok: true };
  let first = batch.length;
  for (const f of failures) {
    const i = batch.findIndex((r) => r.SequenceNumber === f.itemIdentifier);
    if (i === -1) return { ok: false, retryFrom: 0 };
    first = Math.min(first, i);
  }
  return { ok: false, retryFrom: first };
}
