import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { GATEWAY_METRICS } from '../../common/metricNames';
import type { Metrics } from '../../app/src/metrics/Metrics';
import { readStream } from '../../app/test/harness';
import { createPublisher } from '../../app/src/publish/createPublisher';
import { ensureStream } from '../../app/src/publish/ensureStream';
import { firstPositions } from './streamOperations';
import { outageKinesisConfig, useKinesisOutage } from './kinesisOutage';

/**
 * One partition key under sustained load through an outage: 16 writers keep writing to one key while Kinesis
 * is away and after it is back. The spool must drain while the load goes on (the replayer carries several of
 * the key's operations per record), and the key's order must hold.
 */
const WRITERS = 16;

const fx = useKinesisOutage('hot-key-');

it('drains the spool of one hot key while its load goes on, keeping the order of each writer', async () => {
  const streamName = `${fx.h.streamName}-hot`;
  await ensureStream(fx.h.kinesis, streamName, 2);
  const kinesis = fx.throughProxy();
  let replayed = 0;

  const { publisher, spooling } = await createPublisher({
    kinesis,
    kinesisConfig: outageKinesisConfig(streamName),
    spoolConfig: { dir: fx.dir, maxBytes: 256 * 1024 * 1024, drainMs: 10_000, shared: false },
    logger: fx.h.logger,
    metrics: { count: (name: string, n = 1) => name === GATEWAY_METRICS.spoolReplayed && (replayed += n), observe: () => {} } as unknown as Metrics,
  });
  const app = fx.h.app({ publisher });
  const token = await fx.h.token(['*:*:*:*']);
  let stopped = false;
  const acknowledged: string[][] = Array.from({ length: WRITERS }, () => []);
  const statuses: number[] = [];
  const load = Promise.all(
    acknowledged.map(async (mine, c) => {
      for (let i = 0; !stopped; i++) {
        const res = await app.request(`/api/resources/hot-loc/w${c}-${i}`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Business-ID': 'hot', 'X-Location-ID': 'loc', 'X-Resource-Type': 'item' },
          body: JSON.stringify({ data: { writer: c, i, pad: 'x'.repeat(200) } }),
        });
        statuses.push(res.status);
        if (res.status === 202) mine.push(((await res.json()) as { data: { requestId: string } }).data.requestId);
      }
    }),
  );

  await sleep(300);
  await fx.proxy.setMode('refuse');
  // Outage long enough for the key to build a backlog worth draining (at least 2 s, however slow the machine).
  await sleep(2000);
  for (let t = 0; t < 300 && spooling!.state().depth <= 60; t++) await sleep(50);
  const peak = spooling!.state().depth;
  await fx.proxy.setMode('pass');
  const back = Date.now();
  // Drained with the load still running: the replayer outpaced the arrivals on the key.
  for (let t = 0; t < 600 && !(spooling!.state().depth === 0 && spooling!.state().mode === 'direct'); t++) await sleep(50);
  const drainedAfterMs = Date.now() - back;
  const drained = spooling!.state();
  const replayedByThen = replayed;
  await sleep(300);
  stopped = true;
  await load;

  process.stdout.write(
    `hot key: ${peak} records spooled after a 2 s outage; drained ${drainedAfterMs} ms after Kinesis answered, under load; ${replayedByThen} operations replayed (${Math.round(replayedByThen / (drainedAfterMs / 1000))}/s)\n`,
  );
  expect(peak).toBeGreaterThan(50);
  expect(drained).toMatchObject({ depth: 0, mode: 'direct' });
  expect(statuses.filter((s) => s !== 202)).toEqual([]);
  const at = firstPositions(await readStream(fx.h.kinesis, streamName));
  for (const mine of acknowledged) {
    const positions = mine.map((id) => at.get(id));
    expect(positions.every((p) => p !== undefined)).toBe(true);
    expect(positions).toEqual([...(positions as number[])].sort((a, b) => a - b));
  }
  await spooling!.close();
  kinesis.destroy();
}, 90_000);
