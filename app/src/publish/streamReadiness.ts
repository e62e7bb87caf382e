import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

/** What `/ready` says of the stream. */
export interface StreamReadiness {
  ready: boolean;
  stream: string;
  streamStatus?: string;
}

/** How long one DescribeStreamSummary may take before the stream counts as not answering. */
const DESCRIBE_TIMEOUT_MS = 2000;

/**
 * Whether the stream answers and is writable (ACTIVE or UPDATING), cached for `ttlMs` so probes do not
 * spend the account's DescribeStreamSummary quota (20 per second).
 */
export function streamReadiness(kinesis: KinesisClient, streamName: string, ttlMs = 2000, now: () => number = Date.now): () => Promise<StreamReadiness> {
  let cached: { at: number; value: StreamReadiness } | undefined;
  return async () => {
    if (cached && now() - cached.at < ttlMs) return cached.value;
    let value: StreamReadiness;
    try {
      const r = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), { abortSignal: AbortSignal.timeout(DESCRIBE_TIMEOUT_MS) });
      const s = r.StreamDescriptionSummary?.StreamStatus;
      value = { ready: s === 'ACTIVE' || s === 'UPDATING', stream: streamName, streamStatus: s };
    } catch {
      value = { ready: false, stream: streamName };
    }
    cached = { at: now(), value };
    return value;
  };
}
