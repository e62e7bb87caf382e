import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from './gatewayProcess';
import { firstPositions } from './streamOperations';

/** The gateway is killed with SIGKILL mid-load while spooling, and restarted on the same spool. */
let f: GatewayFixture;
beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(() => f.close());

it('replays every acknowledged operation after a SIGKILL, in causal order per key', async () => {
  const first = f.start();
  await f.waitFor(async () => ((await f.ready()).spool ? true : undefined), 'the gateway');

  let killed = false;
  let outageFrom = Infinity;
  let acknowledgedInOutage = 0;
  const acknowledged: string[][] = [];
  const load = Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      const mine: string[] = [];
      acknowledged.push(mine);
      for (let i = 0; !killed; i++) {
        // A request the kill cut was never acknowledged.
        const sent = Date.now();
        const id = await f.put(`l${c}`, i).catch(() => undefined);
        if (id) mine.push(id);
        if (id && sent > outageFrom) acknowledgedInOutage++;
      }
    }),
  );
  await sleep(300);
  await f.proxy.setMode('refuse');
  outageFrom = Date.now();
  await sleep(1500);
  // What the kill must not lose: records acknowledged from the spool alone, still on its disk.
  const spooled = (await f.ready()).spool;
  first.proc.kill('SIGKILL');
  killed = true;
  await load;
  await first.exited;
  await f.proxy.setMode('pass');

  const second = f.start();
  try {
    await f.waitFor(async () => ((await f.ready()).spool?.depth === 0 ? true : undefined), 'the spool to drain');
  } finally {
    second.proc.kill('SIGTERM');
    await second.exited;
  }

  expect(spooled).toMatchObject({ mode: 'spooling' });
  expect(spooled!.depth).toBeGreaterThan(0);
  expect(acknowledgedInOutage).toBeGreaterThan(10);
  const at = firstPositions(await f.records());
  const all = acknowledged.flat();
  expect(all.length).toBeGreaterThan(20);
  expect(all.filter((id) => !at.has(id))).toEqual([]);
  // Each client wrote one key, one request after the other: their first appearances keep that order.
  for (const client of acknowledged) {
    const positions = client.map((id) => at.get(id)!);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  }
}, 120_000);
