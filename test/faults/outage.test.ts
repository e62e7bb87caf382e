import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readStream, type Harness } from '../../app/test/harness';
import { createPublisher } from '../../app/src/publish/createPublisher';
import type { SpoolingPublisher } from '../../app/src/publish/SpoolingPublisher';
import { firstPositions, streamOperations } from './streamOperations';
import { OUTAGE_DEADLINE_MS, outageKinesisConfig, useKinesisOutage } from './kinesisOutage';

/**
 * Kinesis becomes unreachable while clients keep writing: every request is still answered 202 within the
 * bound, and after recovery every acknowledged operation is on the stream, in causal order per key.
 */
const fx = useKinesisOutage('outage-');

/** Runs `clients` sequential writers, each alternating between its own two keys, until `stop` resolves. */
async function writers(app: ReturnType<Harness['app']>, token: string, clients: number, stop: Promise<void>) {
  let stopped = false;
  void stop.then(() => (stopped = true));
  const acknowledged: { key: string; requestId: string }[][] = [];
  const durations: number[] = [];
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const mine: { key: string; requestId: string }[] = [];
      acknowledged.push(mine);
      for (let i = 0; !stopped; i++) {
        const location = `loc${c}${i % 2}`;
        const started = performance.now();
        const res = await app.request(`/api/resources/biz-${location}/item-${i}`, {
          method: 'PATCH',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Business-ID': 'biz', 'X-Location-ID': location, 'X-Resource-Type': 'item' },
          body: JSON.stringify({ data: { n: i } }),
        });
        durations.push(performance.now() - started);
        statuses.push(res.status);
        if (res.status === 202) mine.push({ key: `biz-${location}-item`, requestId: ((await res.json()) as { data: { requestId: string } }).data.requestId });
      }
    }),
  );
  return { acknowledged, durations, statuses };
}

async function drained(spooling: SpoolingPublisher) {
  for (let i = 0; i < 600 && spooling.state().depth > 0; i++) await sleep(50);
  expect(spooling.state()).toMatchObject({ depth: 0, mode: 'direct' });
}

function expectCausalOrder(records: Awaited<ReturnType<typeof readStream>>, acknowledged: { key: string; requestId: string }[][]) {
  const firstAt = firstPositions(records);
  for (const client of acknowledged) {
    for (const key of new Set(client.map((a) => a.key))) {
      const positions = client.filter((a) => a.key === key).map((a) => firstAt.get(a.requestId));
      expect(positions.every((p) => p !== undefined)).toBe(true);
      expect(positions).toEqual([...(positions as number[])].sort((a, b) => a - b));
    }
  }
}

describe.each([
  ['hangs', 'hang'],
  ['refuses connections', 'refuse'],
] as const)('when Kinesis %s while clients keep writing', (_name, fault) => {
  it('answers every request 202 within the bound, then delivers every acknowledged operation in causal order per key', async () => {
    const streamName = `${fx.h.streamName}-${fault}`;
    const { ensureStream } = await import('../../local/provision');
    await ensureStream(fx.h.kinesis, streamName, 2);
    const kinesis = fx.throughProxy();
    const { publisher, spooling } = await createPublisher({
      kinesis,
      kinesisConfig: outageKinesisConfig(streamName),
      spoolConfig: { dir: join(fx.dir, fault), maxBytes: 64 * 1024 * 1024, drainMs: 10_000, shared: false },
      logger: fx.h.logger,
    });
    const app = fx.h.app({ publisher });
    const token = await fx.h.token(['*:*:*:*']);

    let stop!: () => void;
    const run = writers(app, token, 6, new Promise<void>((r) => (stop = r)));
    await sleep(300);
    await fx.proxy.setMode(fault);
    await sleep(1500);
    expect(spooling!.state().mode).toBe('spooling');
    await fx.proxy.setMode('pass');
    await sleep(300);
    stop();
    const { acknowledged, durations, statuses } = await run;

    expect(statuses.every((s) => s === 202)).toBe(true);
    // Generous against the 600 ms deadline: the promise is "within about the deadline", not a benchmark.
    expect(Math.max(...durations)).toBeLessThan(OUTAGE_DEADLINE_MS + 2000);
    await drained(spooling!);
    const records = await readStream(fx.h.kinesis, streamName);
    const onStream = new Set(streamOperations(records).map((op) => op.requestId));
    const all = acknowledged.flat();
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter((a) => !onStream.has(a.requestId))).toEqual([]);
    expectCausalOrder(records, acknowledged);
    await spooling!.close();
    kinesis.destroy();
  });
});
