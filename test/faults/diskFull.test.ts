import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readStream, type Harness } from '../../app/test/harness';
import { pollUntil } from '../../common/pollUntil';
import { createPublisher } from '../../app/src/publish/createPublisher';
import { ensureStream } from '../../app/src/publish/ensureStream';
import { FullDiskFiles } from './FullDiskFiles';
import { firstPositions } from './streamOperations';
import { outageKinesisConfig, useKinesisOutage } from './kinesisOutage';

/**
 * Two outages at once: Kinesis stops answering, the gateway spools, then the spool's disk fills up, then Kinesis
 * comes back while the disk is still full. Writes must be taken again within seconds of Kinesis answering,
 * whatever the disk holds, and nothing acknowledged may be lost or reordered.
 */
const fx = useKinesisOutage('disk-full-');

const waitFor = (check: () => boolean, what: string, timeoutMs = 30_000) => pollUntil(check, { what, timeoutMs, intervalMs: 20 });

interface Answer {
  client: number;
  key: string;
  status: number;
  requestId?: string;
  at: number;
}

/** Sequential writers, each alternating between its own two keys, until stopped; every answer is kept in order. */
function writers(app: ReturnType<Harness['app']>, token: string, clients: number) {
  let stopped = false;
  const answers: Answer[] = [];
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; !stopped; i++) {
        const location = `loc${c}${i % 2}`;
        const res = await app.request(`/api/resources/biz-${location}/item-${i}`, {
          method: 'PATCH',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Business-ID': 'biz', 'X-Location-ID': location, 'X-Resource-Type': 'item' },
          body: JSON.stringify({ data: { n: i } }),
        });
        const body = (await res.json()) as { data?: { requestId: string } };
        answers.push({ client: c, key: location, status: res.status, requestId: res.status === 202 ? body.data!.requestId : undefined, at: Date.now() });
      }
    }),
  );
  return { answers, stop: () => ((stopped = true), done) };
}

describe.each([
  ['fills up (what drains frees space again)', (d: FullDiskFiles) => d.fill()],
  ['stays full (no write ever lands)', (d: FullDiskFiles) => d.fillForever()],
])('when Kinesis is down and then the spool disk %s', (name, fill) => {
  it('takes writes again within seconds of Kinesis answering, frees the drained spool, and loses nothing acknowledged', async () => {
    const streamName = `${fx.h.streamName}-disk-${name.split(' ')[0]}`;
    await ensureStream(fx.h.kinesis, streamName, 2);
    const kinesis = fx.throughProxy();
    const disk = new FullDiskFiles();
    const { publisher, spooling } = await createPublisher({
      kinesis,
      kinesisConfig: outageKinesisConfig(streamName),
      spoolConfig: { dir: join(fx.dir, name.split(' ')[0]!), maxBytes: 64 * 1024 * 1024, drainMs: 10_000, shared: false },
      logger: fx.h.logger,
      spoolFiles: disk,
    });
    const run = writers(fx.h.app({ publisher }), await fx.h.token(['*:*:*:*']), 6);

    await sleep(200);
    await fx.proxy.setMode('refuse');
    await waitFor(() => spooling!.state().depth >= 50, 'records to be spooled');
    fill(disk);
    await waitFor(() => disk.refused >= 5, 'the full disk to refuse spool writes');
    const spooledWhenFull = spooling!.state().depth;
    await sleep(500);
    await fx.proxy.setMode('pass');
    const back = Date.now();
    await waitFor(() => run.answers.filter((a) => a.at > back && a.status === 202).length >= 50, 'writes to be taken again', 15_000);
    const firstTaken = run.answers.find((a) => a.at > back && a.status === 202)!.at - back;
    await waitFor(() => spooling!.state().depth === 0 && spooling!.state().mode === 'direct', 'the spool to drain');
    await run.stop();

    // Both faults were real: records were spooled, then the disk refused them (503).
    expect(spooledWhenFull).toBeGreaterThanOrEqual(50);
    expect(run.answers.some((a) => a.status === 503 && a.at < back)).toBe(true);
    // Once Kinesis answered, writes were taken again, and the drained spool gave its space back, active segment included.
    expect(firstTaken).toBeLessThan(10_000);
    expect(disk.used).toBe(0);
    // No 5xx other than 503 (with Retry-After, the gateway's answer to "retry later"), and nothing acknowledged lost or reordered.
    expect(run.answers.filter((a) => a.status !== 202 && a.status !== 503)).toEqual([]);
    const at = firstPositions(await readStream(fx.h.kinesis, streamName));
    const acknowledged = run.answers.filter((a) => a.requestId);
    expect(acknowledged.filter((a) => !at.has(a.requestId!))).toEqual([]);
    for (const c of new Set(acknowledged.map((a) => `${a.client}`))) {
      for (const key of new Set(acknowledged.filter((a) => `${a.client}` === c).map((a) => a.key))) {
        const positions = acknowledged.filter((a) => `${a.client}` === c && a.key === key).map((a) => at.get(a.requestId!)!);
        expect(positions).toEqual([...positions].sort((x, y) => x - y));
      }
    }
    process.stdout.write(`disk full (${name}): first write taken ${firstTaken} ms after Kinesis answered; ${spooledWhenFull} records spooled when the disk filled\n`);
    await spooling!.close();
    kinesis.destroy();
  }, 90_000);
});
