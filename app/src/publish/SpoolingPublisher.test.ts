import type { KinesisClient, PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamUnavailableError } from '../errors';
import { createLogger } from '../logger';
import type { OutgoingRecord, PublishedRecord, Publisher } from './Publisher';
import { Spool, SpoolFullError } from './spool/Spool';
import { SpoolingPublisher } from './SpoolingPublisher';

/**
 * Replays against a small Kinesis double (an emulator cannot fail part of a PutRecords): each call's answer is
 * scripted by the records it carries; what was stored is kept in order.
 */
function fakeKinesis(fail: (key: string, data: string, call: number) => boolean) {
  const stored: string[] = [];
  let calls = 0;
  const client = {
    send: async (cmd: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
      calls++;
      const records = cmd.input.Records!.map((r) => ({ key: r.PartitionKey!, data: Buffer.from(r.Data!).toString() }));
      return {
        $metadata: {},
        Records: records.map((r) => {
          if (fail(r.key, r.data, calls)) return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' };
          stored.push(`${r.key}:${r.data}`);
          return { ShardId: 'shardId-0', SequenceNumber: String(stored.length) };
        }),
      };
    },
  } as unknown as KinesisClient;
  return { client, stored, calls: () => calls };
}

/** A direct path that never answers in time: every record falls back to the spool. */
const down: Publisher = { publish: () => new Promise<PublishedRecord>(() => {}), close: async () => {} };
const failing: Publisher = { publish: () => Promise.reject(new StreamUnavailableError('down')), close: async () => {} };
const rec = (key: string, data: string): OutgoingRecord => ({ partitionKey: key, data: Buffer.from(data) });

/**
 * `kinesis` whose replay rounds numbered in `held` wait until released, oldest first: a test can act while the
 * spool still holds a key. `rounds()` counts the rounds started.
 */
function gated(kinesis: KinesisClient, held: number[]) {
  const waiting: Array<() => void> = [];
  let rounds = 0;
  const client = {
    send: async (cmd: PutRecordsCommand) => {
      if (held.includes(++rounds)) await new Promise<void>((r) => waiting.push(r));
      return (kinesis as unknown as { send(c: PutRecordsCommand): Promise<PutRecordsCommandOutput> }).send(cmd);
    },
  } as unknown as KinesisClient;
  return { client, rounds: () => rounds, release: () => waiting.shift()!() };
}

/** A direct path that works, and the records it took. */
function recordingDirect() {
  const taken: string[] = [];
  const publisher: Publisher = {
    publish: async (r) => (taken.push(`${r.partitionKey}:${Buffer.from(r.data).toString()}`), { shardId: 's', sequenceNumber: '1' }),
    close: async () => {},
  };
  return { publisher, taken };
}
const logger = createLogger({ sink: () => {} });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spooling-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function until(check: () => boolean) {
  for (let i = 0; i < 400 && !check(); i++) await sleep(5);
  expect(check()).toBe(true);
}

function make(inner: Publisher, kinesis: KinesisClient, spool: Spool) {
  return new SpoolingPublisher({
    inner,
    spool,
    kinesis,
    streamName: 's',
    deadlineMs: 20,
    callTimeoutMs: 1000,
    replayBackoff: { baseMs: 1, capMs: 2 },
    logger,
    random: () => 0.5,
  });
}

describe('SpoolingPublisher', () => {
  it('spools a record the direct path cannot acknowledge in time, and answers once it is fsynced', async () => {
    const k = fakeKinesis(() => true);
    const p = make(down, k.client, await Spool.open({ dir, maxBytes: 1 << 20, logger }));
    await expect(p.publish(rec('a', '1'))).resolves.toEqual({ spooled: true });
    expect(p.state()).toMatchObject({ mode: 'spooling', depth: 1 });
  });

  it('queues new records behind the spool while it is not empty, even when the direct path works', async () => {
    let directCalls = 0;
    const works: Publisher = { publish: async () => (directCalls++, { shardId: 's', sequenceNumber: '1' }), close: async () => {} };
    const k = fakeKinesis(() => true);
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    await spool.append(rec('a', 'left over'));
    const p = make(works, k.client, spool);
    await expect(p.publish(rec('a', 'new'))).resolves.toEqual({ spooled: true });
    expect(directCalls).toBe(0);
  });

  it('replays one record per partition key per call, so a failed record is never overtaken by a later one of its key', async () => {
    // The first attempts of records 1 and 3 fail while the others would succeed: sent together, 2 would land
    // before 1. The replayer must still store each key's records in order.
    const attempts = new Map<string, number>();
    const k = fakeKinesis((key, data) => {
      const n = (attempts.get(`${key}:${data}`) ?? 0) + 1;
      attempts.set(`${key}:${data}`, n);
      return n === 1 && (data === '1' || data === '3');
    });
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    const p = make(failing, k.client, spool);
    for (let i = 1; i <= 5; i++) {
      await p.publish(rec('a', String(i)));
      await p.publish(rec('b', String(i)));
    }
    p.start();
    await until(() => p.state().depth === 0);
    expect(k.stored.filter((s) => s.startsWith('a:'))).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5']);
    expect(k.stored.filter((s) => s.startsWith('b:'))).toEqual(['b:1', 'b:2', 'b:3', 'b:4', 'b:5']);
    await p.close();
  });

  it('goes back to the direct path once the spool is drained', async () => {
    const k = fakeKinesis(() => false);
    const p = make(failing, k.client, await Spool.open({ dir, maxBytes: 1 << 20, logger })).start();
    await p.publish(rec('a', '1'));
    await until(() => p.state().mode === 'direct');
    expect(k.stored).toEqual(['a:1']);
    await p.close();
  });

  it('replays records appended to its spool by someone else (an adopted spool), ahead of newer records of their keys', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => false);
    const slow = gated(k.client, [1]);
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    const p = make(direct.publisher, slow.client, spool).start();
    await sleep(10);
    await spool.append(rec('a', 'adopted'));
    await until(() => slow.rounds() === 1);
    // Its key queues behind it; other keys still go direct.
    await expect(p.publish(rec('a', 'new'))).resolves.toEqual({ spooled: true });
    await expect(p.publish(rec('b', '1'))).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
    slow.release();
    await until(() => p.state().depth === 0);
    expect(k.stored).toEqual(['a:adopted', 'a:new']);
    expect(direct.taken).toEqual(['b:1']);
    expect(p.state().mode).toBe('direct');
    await p.close();
  });

  it('while Kinesis is down, sends every new record to the spool at once, whatever its key', async () => {
    let directCalls = 0;
    const works: Publisher = { publish: async () => (directCalls++, { shardId: 's', sequenceNumber: '1' }), close: async () => {} };
    const k = fakeKinesis(() => true); // every replayed record fails
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    await spool.append(rec('a', 'left over'));
    const p = make(works, k.client, spool).start();
    await until(() => k.calls() >= 2);
    await expect(p.publish(rec('b', 'new'))).resolves.toEqual({ spooled: true });
    expect(directCalls).toBe(0);
    await p.close();
  });

  it('while the spool drains and Kinesis takes records, only keys the spool holds queue behind it', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => false);
    // The second round (a's second record) waits: the spool still holds key a meanwhile.
    const slow = gated(k.client, [2]);
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    await spool.append(rec('a', '1'));
    await spool.append(rec('a', '2'));
    const p = make(direct.publisher, slow.client, spool).start();
    await until(() => slow.rounds() === 2);
    await expect(p.publish(rec('b', '1'))).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
    await expect(p.publish(rec('a', '3'))).resolves.toEqual({ spooled: true });
    expect(direct.taken).toEqual(['b:1']);
    slow.release();
    await until(() => p.state().depth === 0);
    expect(k.stored).toEqual(['a:1', 'a:2', 'a:3']);
    await p.close();
  });

  it('a direct failure during a replay round is not cleared by that round: the next records spool at once', async () => {
    let directCalls = 0;
    const hangs: Publisher = { publish: () => (directCalls++, new Promise<PublishedRecord>(() => {})), close: async () => {} };
    const k = fakeKinesis(() => false);
    const slow = gated(k.client, [2, 3]);
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    await spool.append(rec('a', '1'));
    await spool.append(rec('a', '2'));
    const p = make(hangs, slow.client, spool).start();
    await until(() => slow.rounds() === 2); // round 1 was whole: keys the spool does not hold may go direct
    await expect(p.publish(rec('c', '1'))).resolves.toEqual({ spooled: true }); // tried direct, missed the deadline
    expect(directCalls).toBe(1);
    slow.release(); // round 2 comes back whole, but it was sent before the direct failure
    await until(() => slow.rounds() === 3); // round 3 (c) is out and held
    await expect(p.publish(rec('d', '1'))).resolves.toEqual({ spooled: true });
    expect(directCalls).toBe(1);
    slow.release();
    await until(() => p.state().depth === 0);
    await p.close();
  });

  it('confirms nothing from a replay answer that lacks a result per record', async () => {
    let calls = 0;
    const k = fakeKinesis(() => false);
    const short = {
      send: async (cmd: PutRecordsCommand) => {
        if (++calls === 1) return { $metadata: {}, Records: [] } as PutRecordsCommandOutput;
        return (k.client as unknown as { send(c: PutRecordsCommand): Promise<PutRecordsCommandOutput> }).send(cmd);
      },
    } as unknown as KinesisClient;
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    await spool.append(rec('a', '1'));
    const p = make(failing, short, spool).start();
    await until(() => p.state().depth === 0);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(k.stored).toEqual(['a:1']);
    await p.close();
  });

  it('answers 503 with Retry-After when the spool is full, and spools nothing of the record', async () => {
    const k = fakeKinesis(() => true);
    const spool = await Spool.open({ dir, maxBytes: 1024 * 1024, logger });
    const p = make(failing, k.client, spool);
    await p.publish(rec('a', 'x'.repeat(1024 * 1024 - 100)));
    const err = await p.publish(rec('a', 'y'.repeat(200))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolFullError);
    expect((err as SpoolFullError).headers['Retry-After']).toBe('5');
    expect(p.state().depth).toBe(1);
  });

  it('on close, waits up to the drain time, then leaves what is left on disk for the next start', async () => {
    const k = fakeKinesis(() => true);
    const p = make(failing, k.client, await Spool.open({ dir, maxBytes: 1 << 20, logger })).start();
    await p.publish(rec('a', '1'));
    await p.close(50);
    const next = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    expect([...next.pending()].map((e) => Buffer.from(e.data).toString())).toEqual(['1']);
  });
});
