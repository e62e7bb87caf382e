import type { KinesisClient, PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { splitRecord } from '../../../contract/aggregate';
import { StreamUnavailableError } from '../errors';
import { createLogger } from '../logger';
import type { OutgoingRecord, PublishedRecord, Publisher } from './Publisher';
import { Spool, SpoolFullError } from './spool/Spool';
import { SpoolingPublisher } from './SpoolingPublisher';
import { settle, until, useFakeClock } from './test/fakeTime';

/** Each record's data is a small JSON operation `{"v": text}`: aggregates of them split like the consumer's. */
const rec = (key: string, text: string): OutgoingRecord => ({ partitionKey: key, data: Buffer.from(JSON.stringify({ v: text })) });
const textOf = (data: Uint8Array) => (JSON.parse(Buffer.from(data).toString()) as { v: string }).v;

/**
 * Replays against a small Kinesis double (an emulator cannot fail part of a PutRecords): each record's answer
 * is scripted by the operations it carries; what was stored is kept in order, one entry per operation.
 */
function fakeKinesis(fail: (key: string, texts: string[], call: number) => boolean) {
  const stored: string[] = [];
  const records: string[][] = [];
  let calls = 0;
  const client = {
    send: async (cmd: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
      calls++;
      return {
        $metadata: {},
        Records: cmd.input.Records!.map((r) => {
          const texts = splitRecord(r.Data!).map(textOf);
          if (fail(r.PartitionKey!, texts, calls)) return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' };
          records.push(texts);
          for (const t of texts) stored.push(`${r.PartitionKey}:${t}`);
          return { ShardId: 'shardId-0', SequenceNumber: String(stored.length) };
        }),
      };
    },
  } as unknown as KinesisClient;
  return { client, stored, records, calls: () => calls };
}

/** A direct path that never answers in time: every record falls back to the spool. */
const down: Publisher = { publish: () => new Promise<PublishedRecord>(() => {}), close: async () => {} };
const failing: Publisher = { publish: () => Promise.reject(new StreamUnavailableError('down')), close: async () => {} };

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
    publish: async (r) => (taken.push(`${r.partitionKey}:${textOf(r.data)}`), { shardId: 's', sequenceNumber: '1' }),
    close: async () => {},
  };
  return { publisher, taken };
}
const logger = createLogger({ sink: () => {} });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spooling-'));
  useFakeClock();
});
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const openSpool = (maxBytes = 1 << 20) => Spool.open({ dir, maxBytes, logger });

function make(direct: Publisher, kinesis: KinesisClient, spool: Spool) {
  return new SpoolingPublisher({
    direct,
    spool,
    kinesis,
    streamName: 's',
    deadlineMs: 20,
    callTimeoutMs: 1000,
    replayBackoff: { baseMs: 10, capMs: 20 },
    logger,
    random: () => 0.5,
  });
}

describe('SpoolingPublisher', () => {
  it('spools a record the direct path cannot acknowledge in time, and answers once it is fsynced', async () => {
    const k = fakeKinesis(() => true);
    const p = make(down, k.client, await openSpool());
    await expect(settle(p.publish(rec('a', '1')))).resolves.toEqual({ spooled: true });
    expect(p.state()).toMatchObject({ mode: 'spooling', state: 'spoolAll', depth: 1 });
  });

  it('queues new records behind the spool while it is not empty, even when the direct path works', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => true);
    const spool = await openSpool();
    await spool.append(rec('a', 'left over'));
    const p = make(direct.publisher, k.client, spool);
    await expect(settle(p.publish(rec('a', 'new')))).resolves.toEqual({ spooled: true });
    expect(direct.taken).toEqual([]);
  });

  it("stores each key's operations in order when a record of a round fails and the others succeed", async () => {
    // The first attempts of a's first record and b's fail while the others would succeed.
    const attempts = new Map<string, number>();
    const k = fakeKinesis((key, texts) => {
      const n = (attempts.get(`${key}:${texts[0]}`) ?? 0) + 1;
      attempts.set(`${key}:${texts[0]}`, n);
      return n === 1 && key === 'a';
    });
    const p = make(failing, k.client, await openSpool());
    for (let i = 1; i <= 5; i++) {
      await settle(p.publish(rec('a', String(i))));
      await settle(p.publish(rec('b', String(i))));
    }
    p.start();
    await until(() => p.state().depth === 0);
    expect(k.stored.filter((s) => s.startsWith('a:'))).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5']);
    expect(k.stored.filter((s) => s.startsWith('b:'))).toEqual(['b:1', 'b:2', 'b:3', 'b:4', 'b:5']);
    await settle(p.close());
  });

  it("replays several of a key's spooled operations in one record, in order", async () => {
    const k = fakeKinesis(() => false);
    const spool = await openSpool();
    for (let i = 1; i <= 4; i++) await spool.append(rec('a', String(i)));
    await spool.append(rec('b', '1'));
    const p = make(failing, k.client, spool).start();
    await until(() => p.state().depth === 0);
    expect(k.calls()).toBe(1);
    expect(k.records).toEqual([['1', '2', '3', '4'], ['1']]);
    await settle(p.close());
  });

  it('goes back to the direct path once the spool is drained', async () => {
    const k = fakeKinesis(() => false);
    const p = make(failing, k.client, await openSpool()).start();
    await settle(p.publish(rec('a', '1')));
    await until(() => p.state().mode === 'direct');
    expect(k.stored).toEqual(['a:1']);
    await settle(p.close());
  });

  it('replays records appended to its spool by someone else (an adopted spool), ahead of newer records of their keys', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => false);
    const slow = gated(k.client, [1]);
    const spool = await openSpool();
    const p = make(direct.publisher, slow.client, spool).start();
    await spool.append(rec('a', 'adopted'));
    await until(() => slow.rounds() === 1);
    // Its key queues behind it; other keys still go direct.
    await expect(settle(p.publish(rec('a', 'new')))).resolves.toEqual({ spooled: true });
    await expect(settle(p.publish(rec('b', '1')))).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
    slow.release();
    await until(() => p.state().depth === 0);
    expect(k.stored).toEqual(['a:adopted', 'a:new']);
    expect(direct.taken).toEqual(['b:1']);
    expect(p.state().mode).toBe('direct');
    await settle(p.close());
  });

  it('while Kinesis is down, sends every new record to the spool at once, whatever its key', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => true); // every replayed record fails
    const spool = await openSpool();
    await spool.append(rec('a', 'left over'));
    const p = make(direct.publisher, k.client, spool).start();
    await until(() => k.calls() >= 2);
    await expect(settle(p.publish(rec('b', 'new')))).resolves.toEqual({ spooled: true });
    expect(direct.taken).toEqual([]);
    await settle(p.close());
  });

  it('while the spool drains and Kinesis takes records, only keys the spool holds queue behind it', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => false);
    // The second round (a's second record) waits: the spool still holds key a meanwhile.
    const slow = gated(k.client, [2]);
    const spool = await openSpool(4 << 20);
    // Two records of `a` too large to share one record: two rounds.
    await spool.append(rec('a', '1'.repeat(600_000)));
    await spool.append(rec('a', '2'.repeat(600_000)));
    const p = make(direct.publisher, slow.client, spool).start();
    await until(() => slow.rounds() === 2);
    expect(p.state().state).toBe('spoolHeldKeys');
    await expect(settle(p.publish(rec('b', '1')))).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
    await expect(settle(p.publish(rec('a', '3')))).resolves.toEqual({ spooled: true });
    expect(direct.taken).toEqual(['b:1']);
    slow.release();
    await until(() => p.state().depth === 0);
    expect(k.stored.map((s) => s.slice(0, 3))).toEqual(['a:1', 'a:2', 'a:3']);
    await settle(p.close());
  });

  it("sends a record of a key the spool holds directly once the key's spooled records are confirmed, so a busy key leaves the spool", async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => false);
    const slow = gated(k.client, [2]);
    const spool = await openSpool(4 << 20);
    await spool.append(rec('a', '1'.repeat(600_000)));
    await spool.append(rec('a', '2'.repeat(600_000)));
    const p = make(direct.publisher, slow.client, spool).start();
    await until(() => slow.rounds() === 2);
    const third = p.publish(rec('a', '3'));
    slow.release();
    await expect(settle(third)).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
    expect(k.stored.map((s) => s.slice(0, 3))).toEqual(['a:1', 'a:2']);
    expect(direct.taken).toEqual(['a:3']);
    await until(() => p.state().mode === 'direct');
    await settle(p.close());
  });

  it('a record that gave up waiting for its key leaves no waiter behind, however long the key takes to drain', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => false);
    const slow = gated(k.client, [2]);
    const spool = await openSpool(4 << 20);
    await spool.append(rec('a', '1'.repeat(600_000)));
    await spool.append(rec('a', '2'.repeat(600_000)));
    const p = make(direct.publisher, slow.client, spool).start();
    await until(() => slow.rounds() === 2);
    for (let i = 0; i < 10; i++) await expect(settle(p.publish(rec('a', `late-${i}`)))).resolves.toEqual({ spooled: true });
    expect(spool.releaseWaiters).toBe(0);
    slow.release();
    await until(() => p.state().depth === 0);
    expect(direct.taken).toEqual([]);
    await settle(p.close());
  });

  it('a direct failure during a replay round is not cleared by that round: the next records spool at once', async () => {
    let directCalls = 0;
    const hangs: Publisher = { publish: () => (directCalls++, new Promise<PublishedRecord>(() => {})), close: async () => {} };
    const k = fakeKinesis(() => false);
    const slow = gated(k.client, [2, 3]);
    const spool = await openSpool(4 << 20);
    await spool.append(rec('a', '1'.repeat(600_000)));
    await spool.append(rec('a', '2'.repeat(600_000)));
    const p = make(hangs, slow.client, spool).start();
    await until(() => slow.rounds() === 2); // round 1 was whole: keys the spool does not hold may go direct
    await expect(settle(p.publish(rec('c', '1')))).resolves.toEqual({ spooled: true }); // tried direct, missed the deadline
    expect(directCalls).toBe(1);
    slow.release(); // round 2 comes back whole, but it was sent before the direct failure
    await until(() => slow.rounds() === 3); // round 3 (c) is out and held
    await expect(settle(p.publish(rec('d', '1')))).resolves.toEqual({ spooled: true });
    expect(directCalls).toBe(1);
    slow.release();
    await until(() => p.state().depth === 0);
    await settle(p.close());
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
    const spool = await openSpool();
    await spool.append(rec('a', '1'));
    const p = make(failing, short, spool).start();
    await until(() => p.state().depth === 0);
    expect(calls).toBe(2);
    expect(k.stored).toEqual(['a:1']);
    await settle(p.close());
  });

  it('answers 503 with Retry-After when the spool is full, and spools nothing of the record', async () => {
    const k = fakeKinesis(() => true);
    const p = make(failing, k.client, await openSpool(1024 * 1024));
    await settle(p.publish(rec('a', 'x'.repeat(1024 * 1024 - 100))));
    const err = await settle(p.publish(rec('a', 'y'.repeat(200)))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolFullError);
    expect((err as SpoolFullError).headers['Retry-After']).toBe('5');
    expect(p.state().depth).toBe(1);
  });

  it('when the spool cannot take a record of a key it does not hold, tries it directly once', async () => {
    const direct = recordingDirect();
    const k = fakeKinesis(() => true);
    const spool = await openSpool(1024 * 1024);
    await spool.append(rec('a', 'x'.repeat(1024 * 1024 - 100))); // full, and Kinesis not yet shown to take records
    const p = make(direct.publisher, k.client, spool);
    await expect(settle(p.publish(rec('b', 'y'.repeat(200))))).resolves.toEqual({ shardId: 's', sequenceNumber: '1' });
    // A held key must not overtake its spooled records: refused.
    await expect(settle(p.publish(rec('a', 'z'.repeat(200))))).rejects.toBeInstanceOf(SpoolFullError);
    expect(direct.taken.map((t) => t.slice(0, 3))).toEqual(['b:y']);
  });

  it('a failed append with nothing spooled wakes the replayer, which goes back to direct writing', async () => {
    const k = fakeKinesis(() => false);
    const spool = await openSpool();
    vi.spyOn(spool, 'append').mockRejectedValue(new StreamUnavailableError('the local spool cannot be written', 5));
    const p = make(failing, k.client, spool).start();
    // Kinesis down and the disk full: 503. Nothing was spooled, so nothing holds the publisher to the spool.
    await expect(settle(p.publish(rec('a', '1')))).rejects.toBeInstanceOf(StreamUnavailableError);
    await until(() => p.state().mode === 'direct');
    await settle(p.close());
  });

  it('on close, waits up to the drain time, then leaves what is left on disk for the next start', async () => {
    const k = fakeKinesis(() => true);
    const p = make(failing, k.client, await openSpool()).start();
    await settle(p.publish(rec('a', '1')));
    await settle(p.close(50));
    const next = await openSpool();
    expect([...next.pending()].map((e) => textOf(e.data))).toEqual(['1']);
    await next.close();
  });
});
