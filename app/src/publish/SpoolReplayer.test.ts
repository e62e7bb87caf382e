import type { KinesisClient, PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_AGGREGATE_OPERATIONS, splitRecord } from '../../../contract/aggregate';
import { MAX_RECORD_BYTES } from '../../../contract/operation';
import { createLogger } from '../logger';
import { Spool, type SpoolEntry } from './spool/Spool';
import { pickRound, SpoolReplayer, type RoundReport } from './SpoolReplayer';
import { settle, until, useFakeClock } from './test/fakeTime';

const logger = createLogger({ sink: () => {} });
let seq = 0;
const entry = (key: string, text: string): SpoolEntry => {
  const data = Buffer.from(JSON.stringify({ v: text }));
  return { partitionKey: key, data, appendedAt: 0, seq: seq++, segment: 0, bytes: data.length };
};
const texts = (data: Uint8Array) => splitRecord(data).map((d) => (JSON.parse(Buffer.from(d).toString()) as { v: string }).v);

describe('pickRound', () => {
  it("carries a key's oldest operations in one aggregate record, one record per key, oldest key first", () => {
    const round = pickRound([entry('a', '1'), entry('b', '1'), entry('a', '2'), entry('a', '3'), entry('c', '1')]);
    expect(round.map((r) => [r.partitionKey, texts(r.data)])).toEqual([
      ['a', ['1', '2', '3']],
      ['b', ['1']],
      ['c', ['1']],
    ]);
  });

  it('sends a lone operation as the plain record it was', () => {
    const e = entry('a', '1');
    expect(pickRound([e])[0]!.data).toBe(e.data);
  });

  it(`carries at most ${MAX_AGGREGATE_OPERATIONS} operations in one record`, () => {
    const round = pickRound(Array.from({ length: MAX_AGGREGATE_OPERATIONS + 5 }, (_, i) => entry('a', String(i))));
    expect(round).toHaveLength(1);
    expect(round[0]!.entries).toHaveLength(MAX_AGGREGATE_OPERATIONS);
  });

  it("keeps an aggregate within Kinesis' record limit, and once one of a key's operations does not fit, leaves the later ones too", () => {
    const big = (t: string) => entry('a', t.repeat(400_000));
    const round = pickRound([big('1'), big('2'), big('3'), entry('a', 'small')]);
    expect(round).toHaveLength(1);
    expect(round[0]!.entries.map((e) => e.seq)).toHaveLength(2);
    expect(round[0]!.data.byteLength + 1).toBeLessThanOrEqual(MAX_RECORD_BYTES);
  });

  it("stays within PutRecords' 500 records and 5 MiB", () => {
    const many = pickRound(Array.from({ length: 600 }, (_, i) => entry(`k${i}`, '1')));
    expect(many).toHaveLength(500);
    const heavy = pickRound(Array.from({ length: 8 }, (_, i) => entry(`k${i}`, 'x'.repeat(900_000))));
    expect(heavy.reduce((n, r) => n + r.data.byteLength + r.partitionKey.length, 0)).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(heavy).toHaveLength(5);
  });
});

describe('SpoolReplayer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replayer-'));
    useFakeClock();
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(dir, { recursive: true, force: true });
  });

  /** A Kinesis double that fails every record of the first `failedCalls` calls. */
  function kinesis(failedCalls: number) {
    const at: number[] = [];
    const client = {
      send: async (cmd: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
        at.push(Date.now());
        const fail = at.length <= failedCalls;
        return { $metadata: {}, Records: cmd.input.Records!.map(() => (fail ? { ErrorCode: 'InternalFailure' } : { ShardId: 's', SequenceNumber: '1' })) };
      },
    } as unknown as KinesisClient;
    return { client, at };
  }

  async function replayer(client: KinesisClient, reports: RoundReport[]) {
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger });
    const r = new SpoolReplayer({
      spool,
      kinesis: client,
      streamName: 's',
      callTimeoutMs: 1000,
      backoff: { baseMs: 100, capMs: 1000 },
      logger,
      random: () => 0.5,
      onRoundEnded: (report) => reports.push(report),
    });
    spool.onAppended(() => r.wake());
    return { spool, r };
  }

  it('reports each round: not confirmed whole while Kinesis fails, then confirmed whole with the operations it released', async () => {
    const k = kinesis(2);
    const reports: RoundReport[] = [];
    const { spool, r } = await replayer(k.client, reports);
    await spool.append({ partitionKey: 'a', data: Buffer.from('{"v":"1"}') });
    await spool.append({ partitionKey: 'a', data: Buffer.from('{"v":"2"}') });
    r.start();
    await until(() => spool.depth === 0);
    expect(reports).toEqual([
      { confirmedWhole: false, operations: 0 },
      { confirmedWhole: false, operations: 0 },
      { confirmedWhole: true, operations: 2 },
    ]);
    // Full jitter at random() = 0.5: 50 ms, then 100 ms between the rounds.
    expect([k.at[1]! - k.at[0]!, k.at[2]! - k.at[1]!]).toEqual([50, 100]);
    await settle(r.stop());
    await spool.close();
  });

  it('waits while the spool is empty and sends what is appended when woken', async () => {
    const k = kinesis(0);
    const reports: RoundReport[] = [];
    const { spool, r } = await replayer(k.client, reports);
    r.start();
    await until(() => false, 0).catch(() => {});
    expect(k.at).toHaveLength(0);
    await spool.append({ partitionKey: 'a', data: Buffer.from('{"v":"1"}') });
    await until(() => spool.depth === 0);
    expect(reports).toEqual([{ confirmedWhole: true, operations: 1 }]);
    await settle(r.stop());
    await spool.close();
  });
});
