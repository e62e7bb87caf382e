import { appendFile, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../logger';
import { crc32 } from 'node:zlib';
import { encodeFrame } from './frame';
import { DAMAGED_DIR, Spool, SpoolFullError } from './Spool';

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

  it.each([
    ['a torn tail (half a frame)', (frame: Buffer) => frame.subarray(0, frame.length - 3)],
    ['a corrupt tail (a flipped byte)', (frame: Buffer) => Buffer.from(frame.map((b, i) => (i === frame.length - 1 ? b ^ 0xff : b)))],
    ['garbage', () => Buffer.from('not a frame at all')],
  ])('cuts %s on recovery and never returns it', async (_name, damage) => {
    const s = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    await s.append(rec('k', 'good-1'));
    await s.append(rec('k', 'good-2'));
    await s.close();
    const [file] = (await readdir(dir)).sort();
    const path = join(dir, file!);
    const goodSize = (await readFile(path)).length;
    await appendFile(path, damage(encodeFrame({ partitionKey: 'k', data: Buffer.from('torn'), appendedAt: 1 })));
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger() });
    expect(texts(again)).toEqual(['good-1', 'good-2']);
    expect((await readFile(path)).length).toBe(goodSize);
    expect(lines.some((l) => l.includes('spool segment damaged'))).toBe(true);
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
    expect(await readFile(join(dir, DAMAGED_DIR, file!))).toEqual(buf);
    await again.close();
    // Read again before it drained: the same records, and the loss is not counted twice.
    const third = await Spool.open({ dir, maxBytes: 1 << 20, logger: logger(), onRecordsLost: (n) => lost.push(n) });
    expect(third.depth).toBe(49);
    expect(lost).toEqual([1]);
    await third.close();
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
