import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

/**
 * Whether the stream answers and is writable (ACTIVE or UPDATING), cached for `ttlMs` so probes do not
 * spend the account's DescribeStreamSummary quota (20 per second).
 */
export function streamReadiness(kinesis: KinesisClient, streamName: string, ttlMs = 2000) {
  let cached: { at: number; value: { ready: boolean; stream: string; streamStatus?: string } } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.value;
    let value: { ready: boolean; stream: string; streamStatus?: string };
    try {
      const r = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), { abortSignal: AbortSignal.timeout(2000) });
      const s = r.StreamDescriptionSummary?.StreamStatus;
      value = { ready: s === 'ACTIVE' || s === 'UPDATING', stream: streamName, streamStatus: s };
    } catch {
      value = { ready: false, stream: streamName };
    }
    cached = { at: Date.now(), value };
    return value;
  };
}
