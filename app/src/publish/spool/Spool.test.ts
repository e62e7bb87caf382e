import * as fs from 'node:fs/promises';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../logger';
import { crc32 } from 'node:zlib';
import { encodeFrame } from './frame';
import { DAMAGED_DIR, Spool, SpoolFullError } from './Spool';
import type { SpoolFiles } from './SpoolFiles';

let dir: string;
let lines: string[];
const logger = () => createLogger({ sink: (l) => lines.push(l) });
const rec = (key: string, text: string) => ({ partitionKey: key, data: Buffer.from(text) });
const texts = (s: Spool) => [...s.pending()].map((e) => Buffer.from(e.data).toString());

/** FileHandle is not exported; its prototype is reachable through any open handle. */
async function fileHandlePrototype() {
  const h = await open(join(dir, 'probe'), 'w');
  await h.close();
  await rm(join(dir, 'probe'));
  return Object.getPrototypeOf(h) as {
    datasync(): Promise<void>;
    write(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-'));
  lines = [];
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('Spool', () => {
  it('keeps appended records in order across a reopen', async () => {
    const a = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    await Promise.all(['1', '2', '3'].map((t) => a.append(rec('k', t))));
    await a.close();
    const b = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    expect(texts(b)).toEqual(['1', '2', '3']);
    expect(b.depth).toBe(3);
  });

  it('writes concurrent appends with one fsync per group', async () => {
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    const datasync = vi.spyOn(await fileHandlePrototype(), 'datasync');
    await Promise.all(Array.from({ length: 100 }, (_, i) => s.append(rec('k', String(i)))));
    expect(s.depth).toBe(100);
    // The first append starts a write; the 99 that arrive during it share the next one.
    expect(datasync).toHaveBeenCalledTimes(2);
    await s.close();
  });

  it.each([
    [
      'a failed fsync',
      async () => {
        vi.spyOn(await fileHandlePrototype(), 'datasync').mockRejectedValueOnce(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
      },
    ],
    [
      'a short write (a full disk)',
      async () => {
        const proto = await fileHandlePrototype();
        const write = proto.write;
        vi.spyOn(proto, 'write').mockImplementationOnce(function (this: unknown, buf, offset, length, position) {
          return write.call(this, buf, offset, Math.floor(length / 2), position);
        });
      },
    ],
  ])('answers %s with 503, never lets the replayer see that record, and the next one lands where it began', async (_name, fail) => {
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    await s.append(rec('k', 'before'));
    await fail();
    const err = await s.append(rec('k', 'refused')).catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(503);
    await s.append(rec('k', 'after'));
    expect(texts(s)).toEqual(['before', 'after']);
    await s.close();
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    expect(texts(again)).toEqual(['before', 'after']);
  });

  it('forgets released records and deletes segments that hold none', async () => {
    const s = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64, logger: logger() });
    for (const t of ['aaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbb', 'cccccccccccccccccccc']) await s.append(rec('k', t));
    expect((await readdir(dir)).length).toBe(3);
    await s.release([...s.pending()].slice(0, 2));
    expect(texts(s)).toEqual(['cccccccccccccccccccc']);
    expect((await readdir(dir)).length).toBe(1);
    await s.close();
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    expect(texts(again)).toEqual(['cccccccccccccccccccc']);
  });

  it('refuses a record beyond maxBytes with 503 and writes nothing of it', async () => {
    const s = await Spool.open({ dir, maxBytes: 200, logger: logger() });
    await s.append(rec('k', 'x'.repeat(100)));
    const [file] = await readdir(dir);
    const before = (await stat(join(dir, file!))).size;
    const err = await s.append(rec('k', 'y'.repeat(100))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolFullError);
    expect((err as SpoolFullError).status).toBe(503);
    expect((err as SpoolFullError).headers['Retry-After']).toBeDefined();
    expect((await stat(join(dir, file!))).size).toBe(before);
    expect(s.depth).toBe(1);
  });

  /** Segment 0 holds good-1 and good-2, then `tail`; with `later`, segment 1 holds good-3 (segment 0 is not the newest). */
  async function damagedSegment(tail: (frame: Buffer) => Buffer, later = false) {
    const frame = (text: string) => encodeFrame({ partitionKey: 'k', data: Buffer.from(text), appendedAt: 1.7e12 });
    const original = Buffer.concat([frame('good-1'), frame('good-2'), tail(frame('lost'))]);
    await writeFile(join(dir, 'segment-000000000000.log'), original);
    if (later) await writeFile(join(dir, 'segment-000000000001.log'), frame('good-3'));
    return { original, goodBytes: frame('good-1').length + frame('good-2').length };
  }
  const kept = async () => Promise.all((await readdir(join(dir, DAMAGED_DIR)).catch(() => [])).map((f) => readFile(join(dir, DAMAGED_DIR, f))));
  const errors = () => lines.filter((l) => l.includes('"level":"error"'));

  it.each([
    ['half a frame', (frame: Buffer) => frame.subarray(0, frame.length - 3)],
    ['a header cut short', (frame: Buffer) => frame.subarray(0, 9)],
    ['the first bytes of a sync marker', (frame: Buffer) => frame.subarray(0, 2)],
  ])('cuts a torn tail of the newest segment (%s) silently: a crash mid-write, never acknowledged', async (_name, tail) => {
    const lost: number[] = [];
    const { goodBytes } = await damagedSegment(tail);
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    expect(texts(s)).toEqual(['good-1', 'good-2']);
    expect((await readFile(join(dir, 'segment-000000000000.log'))).length).toBe(goodBytes);
    expect(lost).toEqual([]);
    expect(errors()).toEqual([]);
    expect(await kept()).toEqual([]);
    await s.close();
  });

  it.each([
    ['a full-length last frame whose checksum fails', (frame: Buffer) => Buffer.from(frame.map((b, i) => (i === frame.length - 1 ? b ^ 0xff : b))), false, ['good-1', 'good-2']],
    ['bytes after the last frame that are no frame', () => Buffer.from('not a frame at all'), false, ['good-1', 'good-2']],
    ['a torn tail in a segment other than the newest', (frame: Buffer) => frame.subarray(0, frame.length - 3), true, ['good-1', 'good-2', 'good-3']],
  ])('counts %s as an acknowledged record lost, logs an error, and keeps the segment aside as it was', async (_name, tail, later, replayed) => {
    const lost: number[] = [];
    const { original } = await damagedSegment(tail, later);
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    expect(texts(s)).toEqual(replayed);
    expect(lost).toEqual([1]);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toContain('records lost');
    expect(await kept()).toEqual([original]);
    await s.close();
  });

  it('keeps a byte-for-byte copy of the newest segment, torn tail included, before cutting that tail', async () => {
    const lost: number[] = [];
    const { original, goodBytes } = await damagedSegment((frame) => frame.subarray(0, frame.length - 3));
    const hit = original.indexOf('good-1');
    original[hit]! ^= 0x01;
    await writeFile(join(dir, 'segment-000000000000.log'), original);
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    expect(texts(s)).toEqual(['good-2']);
    expect(lost).toEqual([1]);
    expect(await kept()).toEqual([original]);
    expect((await readFile(join(dir, 'segment-000000000000.log'))).length).toBe(goodBytes);
    await s.close();
    // Read again before it drained: the same record, and the loss is not counted twice.
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    expect(texts(again)).toEqual(['good-2']);
    expect(lost).toEqual([1]);
    await again.close();
  });

  it('counts the loss of every damaged segment, also one damaged after the spool emptied and filled again', async () => {
    const lost: number[] = [];
    const reopen = () => Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    const flipFirstRecord = async () => {
      const [file] = (await readdir(dir)).filter((f) => f.startsWith('segment-'));
      const buf = await readFile(join(dir, file!));
      buf[buf.indexOf('round-')]! ^= 0x01;
      await writeFile(join(dir, file!), buf);
    };
    for (const round of [1, 2]) {
      const s = await reopen();
      await s.append(rec('k', `round-${round}-a`));
      await s.append(rec('k', `round-${round}-b`));
      await s.close();
      await flipFirstRecord();
      const recovered = await reopen();
      expect(texts(recovered)).toEqual([`round-${round}-b`]);
      // Drained: the spool directory holds no segment any more.
      await recovered.release([...recovered.pending()]);
      await recovered.close();
      expect((await readdir(dir)).filter((f) => f.startsWith('segment-'))).toEqual([]);
    }
    expect(lost).toEqual([1, 1]);
    expect(errors()).toHaveLength(2);
    expect(await kept()).toHaveLength(2);
  });

  it('drops a segment file that holds nothing valid', async () => {
    await writeFile(join(dir, 'segment-000000000007.log'), Buffer.from([0xa5, 0, 0]));
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    expect(s.depth).toBe(0);
    expect(await readdir(dir)).not.toContain('segment-000000000007.log');
  });

  it('frees a drained segment that is still being written, so a full disk gets its space back', async () => {
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    await s.append(rec('k', 'x'.repeat(1000)));
    const [file] = await readdir(dir);
    expect((await stat(join(dir, file!))).size).toBeGreaterThan(1000);
    await s.release([...s.pending()]);
    // The write loop empties it in place; the next append lands at its start.
    await s.append(rec('k', 'after'));
    expect((await stat(join(dir, file!))).size).toBeLessThan(100);
    await s.close();
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    expect(texts(again)).toEqual(['after']);
  });

  it('loses only the frame a flipped byte hit mid-segment: replays all others, keeps the segment aside, counts the loss once', async () => {
    const lost: number[] = [];
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    const all = Array.from({ length: 50 }, (_, i) => `record-${i}`);
    for (const t of all) await s.append(rec('k', t));
    await s.close();
    const [file] = await readdir(dir);
    const path = join(dir, file!);
    const buf = await readFile(path);
    const hit = buf.indexOf('record-25');
    buf[hit + 3]! ^= 0x01;
    await writeFile(path, buf);
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    expect(texts(again)).toEqual(all.filter((t) => t !== 'record-25'));
    expect(lost).toEqual([1]);
    expect(lines.some((l) => l.includes('records lost') && l.includes('"level":"error"'))).toBe(true);
    // Kept aside, byte for byte, where recovery does not read it.
    expect(await kept()).toEqual([buf]);
    await again.close();
    // Read again before it drained: the same records, and the loss is not counted twice.
    const third = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    expect(third.depth).toBe(49);
    expect(lost).toEqual([1]);
    await third.close();
  });

  it('makes a new segment durable in its directory once, before the first record in it is acknowledged', async () => {
    const trace: string[] = [];
    const files: SpoolFiles = {
      mkdir: (path, options) => fs.mkdir(path, options),
      readdir: (path) => fs.readdir(path),
      readFile: (path) => fs.readFile(path),
      unlink: (path) => fs.unlink(path),
      copyFile: (src, dest, mode) => fs.copyFile(src, dest, mode),
      open: async (path, flags) => {
        const h = await fs.open(path, flags);
        if (flags === 'wx') trace.push(`create ${basename(path)}`);
        return {
          write: (buf, offset, length, position) => h.write(buf, offset, length, position),
          datasync: () => h.datasync(),
          sync: async () => {
            await h.sync();
            if (path === dir) trace.push('sync dir');
          },
          truncate: (length) => h.truncate(length),
          close: () => h.close(),
        };
      },
    };
    // Two frames of 48 bytes fit a segment.
    const s = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 100, logger: logger(), files });
    for (let i = 1; i <= 4; i++) {
      await s.append(rec('k', 'x'.repeat(20)));
      trace.push(`ack ${i}`);
    }
    expect(trace).toEqual(['create segment-000000000000.log', 'sync dir', 'ack 1', 'ack 2', 'create segment-000000000001.log', 'sync dir', 'ack 3', 'ack 4']);
    await s.close();
  });

  it('forgets a wait for a key that was given up, however long the key takes to drain', async () => {
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    await s.append(rec('hot', 'held'));
    const givenUp = Array.from({ length: 1000 }, () => {
      const giveUp = new AbortController();
      const released = s.released('hot', giveUp.signal);
      giveUp.abort();
      return released;
    });
    expect(new Set(await Promise.all(givenUp))).toEqual(new Set([false]));
    expect(s.releaseWaiters).toBe(0);
    const waiting = s.released('hot');
    expect(s.releaseWaiters).toBe(1);
    await s.release([...s.pending()]);
    await expect(waiting).resolves.toBe(true);
    expect(s.releaseWaiters).toBe(0);
    await s.close();
  });

  it('skips a frame whose length field was hit and resynchronizes on the next one', async () => {
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    for (const t of ['a', 'b', 'c']) await s.append(rec('k', t));
    await s.close();
    const [file] = await readdir(dir);
    const path = join(dir, file!);
    const buf = await readFile(path);
    const second = encodeFrame({ partitionKey: 'k', data: Buffer.from('a'), appendedAt: 0 }).length;
    buf[second + 6]! ^= 0xff; // the length of frame b
    await writeFile(path, buf);
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    expect(texts(again)).toEqual(['a', 'c']);
    await again.close();
  });

  it('reads segments of format version 1 (left on a volume by an earlier gateway)', async () => {
    const v1 = (text: string, appendedAt: number) => {
      const key = Buffer.from('k');
      const payload = Buffer.alloc(10 + key.length + text.length);
      payload.writeDoubleBE(appendedAt, 0);
      payload.writeUInt16BE(key.length, 8);
      key.copy(payload, 10);
      payload.write(text, 10 + key.length);
      const header = Buffer.alloc(9);
      header.writeUInt8(0xa5, 0);
      header.writeUInt32BE(payload.length, 1);
      header.writeUInt32BE(crc32(payload), 5);
      return Buffer.concat([header, payload]);
    };
    await writeFile(join(dir, 'segment-000000000003.log'), Buffer.concat([v1('old-1', 1.7e12), v1('old-2', 1.7e12 + 1)]));
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    await s.append(rec('k', 'new'));
    expect(texts(s)).toEqual(['old-1', 'old-2', 'new']);
    expect(s.oldestAppendedAt).toBe(1.7e12);
    await s.close();
  });
});
