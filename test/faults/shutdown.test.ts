import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from './gatewayProcess';
import { firstPositions } from './streamOperations';

/** SIGTERM, as ECS sends it: in-flight work finishes, the spool drains within SPOOL_DRAIN_MS, the rest waits on disk. */
let f: GatewayFixture;
beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(() => f.close());

async function spoolSome(count: number): Promise<string[]> {
  await f.proxy.setMode('refuse');
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = await f.put('shutdown', i);
    if (id) ids.push(id);
  }
  expect(ids).toHaveLength(count);
  expect((await f.ready()).spool).toMatchObject({ mode: 'spooling', depth: count });
  return ids;
}

describe('graceful shutdown', () => {
  it('drains the spool into Kinesis before exiting when Kinesis is back', async () => {
    const run = f.start({ SPOOL_DRAIN_MS: '20000' });
    await f.waitFor(async () => ((await f.ready()).spool ? true : undefined), 'the gateway');
    const ids = await spoolSome(5);
    // Kinesis answers again, but the replayer is still backing off when the stop arrives.
    await f.proxy.setMode('pass');
    run.proc.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const at = firstPositions(await f.records());
    expect(ids.filter((id) => !at.has(id))).toEqual([]);
  }, 60_000);

  it('exits after SPOOL_DRAIN_MS with what could not drain left on disk, and the next start replays it', async () => {
    const run = f.start({ SPOOL_DRAIN_MS: '300' });
    await f.waitFor(async () => ((await f.ready()).spool ? true : undefined), 'the gateway');
    const ids = await spoolSome(3);
    run.proc.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const before = firstPositions(await f.records());
    expect(ids.some((id) => before.has(id))).toBe(false);

    await f.proxy.setMode('pass');
    const next = f.start();
    try {
      await f.waitFor(async () => ((await f.ready()).spool?.depth === 0 ? true : undefined), 'the spool to drain');
    } finally {
      next.proc.kill('SIGTERM');
      await next.exited;
    }
    const after = firstPositions(await f.records());
    expect(ids.filter((id) => !after.has(id))).toEqual([]);
  }, 60_000);
});
