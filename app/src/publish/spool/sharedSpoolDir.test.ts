import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createLogger } from '../../logger';
import { until, useFakeClock } from '../test/fakeTime';
import { openSharedSpool } from './sharedSpoolDir';

let root: string;
const logger = createLogger({ sink: () => {} });
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'shared-spool-'));
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(root, { recursive: true, force: true });
});

async function ageHeartbeats(ms: number) {
  const then = new Date(Date.now() - ms);
  for (const d of await readdir(root)) await utimes(join(root, d, 'heartbeat'), then, then).catch(() => {});
}

it('gives each task its own directory and leaves a live task alone', async () => {
  const a = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  await a.append({ partitionKey: 'k', data: Buffer.from('a1') });
  const b = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  expect(b.depth).toBe(0);
  expect((await readdir(root)).length).toBe(2);
  await a.close();
  await b.close();
});

it('adopts the unconfirmed records of a task whose heartbeat stopped, ahead of anything new', async () => {
  const dead = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  await dead.append({ partitionKey: 'k', data: Buffer.from('1') });
  await dead.append({ partitionKey: 'k', data: Buffer.from('2') });
  await dead.close();
  await ageHeartbeats(120_000);
  const heir = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  await heir.append({ partitionKey: 'k', data: Buffer.from('3') });
  expect([...heir.pending()].map((e) => Buffer.from(e.data).toString())).toEqual(['1', '2', '3']);
  expect((await readdir(root)).length).toBe(1);
  await heir.close();
});

it('adopts, while running, the records of a task that died after it started', async () => {
  // Fake sweep and heartbeat intervals; a real clock, since staleness compares Date.now() with file times.
  useFakeClock({ realDate: true });
  const heir = await openSharedSpool({ root, maxBytes: 1 << 20, logger, sweepMs: 20 });
  const [heirDir] = await readdir(root);
  const dead = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  const deadDir = (await readdir(root)).find((d) => d !== heirDir)!;
  await dead.append({ partitionKey: 'k', data: Buffer.from('left behind') });
  await dead.close();
  // Only the dead task's heartbeat is old; the heir keeps beating.
  const then = new Date(Date.now() - 120_000);
  await utimes(join(root, deadDir, 'heartbeat'), then, then);
  // The next sweeps find it stale: the adoption copies the records, then deletes the claimed directory.
  await until(() => readdirSync(root).length === 1, 5_000);
  expect([...heir.pending()].map((e) => Buffer.from(e.data).toString())).toEqual(['left behind']);
  expect(await readdir(root)).toEqual([heirDir]);
  await heir.close();
});

it('keeps a directory it claimed fresh, so no other task takes it over while it copies (or after it failed to)', async () => {
  const dead = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  await dead.append({ partitionKey: 'k', data: Buffer.alloc(4096) });
  await dead.close();
  await ageHeartbeats(120_000);
  // The heir's spool cannot take the record: the adoption fails after the claim, and the claim stays.
  const startedAt = Date.now();
  const heir = await openSharedSpool({ root, maxBytes: 1024, logger });
  const claimed = (await readdir(root)).find((d) => d.includes('.adopted-by-'));
  expect(claimed).toBeDefined();
  const { mtimeMs } = await stat(join(root, claimed!, 'heartbeat'));
  expect(mtimeMs).toBeGreaterThanOrEqual(startedAt - 1000);
  await heir.close();
});

it('claims a directory again under one suffix, however often adopting it failed', async () => {
  const dead = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  await dead.append({ partitionKey: 'k', data: Buffer.alloc(4096) });
  await dead.close();
  for (let i = 0; i < 3; i++) {
    await ageHeartbeats(120_000);
    // Too small to take the record: each adoption fails after its claim.
    const heir = await openSharedSpool({ root, maxBytes: 1024, logger });
    await heir.close();
  }
  const claimed = (await readdir(root)).filter((d) => d.includes('.adopted-by-'));
  expect(claimed).toHaveLength(1);
  expect(claimed[0]!.match(/\.adopted-by-/g)).toHaveLength(1);
});

it('refuses to acknowledge once another task has claimed its directory (what it writes there would be deleted)', async () => {
  const live = await openSharedSpool({ root, maxBytes: 1 << 20, logger });
  await live.append({ partitionKey: 'k', data: Buffer.from('before') });
  const [mine] = await readdir(root);
  // Another task took it for dead (its heartbeat could not be written for a minute) and claimed it.
  await rename(join(root, mine!), join(root, `${mine}.adopted-by-task-other`));
  const refused = await live.append({ partitionKey: 'k', data: Buffer.from('after') }).catch((e: unknown) => e);
  expect((refused as { status?: number }).status).toBe(503);
  await live.close();
});
