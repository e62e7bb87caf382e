import { mkdir, open, readdir, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StreamUnavailableError } from '../errors';
import type { Logger } from '../logger';
import { encodeFrame, decodeFrames, type SpoolRecord } from './frame';

/** A spooled record with its place in the spool. */
export interface SpoolEntry extends SpoolRecord {
  /** Order of arrival, unique and increasing across restarts within one process. */
  readonly seq: number;
  readonly segment: number;
  readonly bytes: number;
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  /** A segment file is closed and a new one begun past this size. @default 4 MiB */
  segmentBytes?: number;
  logger: Logger;
}

/** The spool is full: the client should retry later; nothing of the record was written. */
export class SpoolFullError extends StreamUnavailableError {
  constructor() {
    super('the operations stream is unavailable and the local spool is full, retry later', 5);
  }
}

const SEGMENT = /^segment-(\d{12})\.log$/;
const segmentName = (n: number) => `segment-${String(n).padStart(12, '0')}.log`;

interface Segment {
  live: number;
}

interface PendingWrite {
  frame: Buffer;
  resolve(): void;
  reject(e: Error): void;
}

/**
 * The durable spool: an append-only log of checksummed frames in segment files, group-committed (appends that
 * arrive during an fsync share the next one) so an append resolves only once its record is on stable storage.
 * Unconfirmed records are also kept in memory, in arrival order, for the replayer (bounded by `maxBytes`).
 * A segment file is deleted once every record in it was confirmed by Kinesis; after a crash, records of a
 * partly confirmed segment are sent again (duplicates the consumer absorbs).
 */
export class Spool {
  private readonly entries = new Map<number, SpoolEntry>();
  private readonly segments = new Map<number, Segment>();
  private nextSeq = 0;
  private bytesHeld = 0;
  private active!: { n: number; file: FileHandle; size: number };
  private queue: PendingWrite[] = [];
  private writing = false;
  private closed = false;
  private readonly segmentBytes: number;

  private constructor(private readonly o: SpoolOptions) {
    this.segmentBytes = o.segmentBytes ?? 4 * 1024 * 1024;
  }

  /** Opens (creating) the spool directory, recovers what it holds, cutting a torn or corrupt tail. */
  static async open(o: SpoolOptions): Promise<Spool> {
    const spool = new Spool(o);
    await spool.recover();
    return spool;
  }

  /** Records not yet confirmed. */
  get depth(): number {
    return this.entries.size;
  }

  /** Bytes of records not yet confirmed. */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** Arrival time of the oldest unconfirmed record, epoch ms. */
  get oldestAppendedAt(): number | undefined {
    return this.entries.values().next().value?.appendedAt;
  }

  /** Unconfirmed records, oldest first. */
  pending(): IterableIterator<SpoolEntry> {
    return this.entries.values();
  }

  /**
   * Adds a record; resolves once it is fsynced. Throws {@link SpoolFullError} (writing nothing) when it
   * would exceed `maxBytes`. The record is visible to {@link pending} at once, in arrival order.
   */
  append(r: Omit<SpoolRecord, 'appendedAt'>, now = Date.now()): Promise<void> {
    if (this.closed) return Promise.reject(new StreamUnavailableError('the gateway is shutting down', 1));
    const record = { ...r, appendedAt: now };
    const frame = encodeFrame(record);
    if (this.bytesHeld + frame.length > this.o.maxBytes) return Promise.reject(new SpoolFullError());
    const entry: SpoolEntry = { ...record, seq: this.nextSeq++, segment: this.plannedSegment(frame.length), bytes: frame.length };
    this.entries.set(entry.seq, entry);
    this.bytesHeld += frame.length;
    this.segments.get(entry.segment)!.live++;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      void this.writeLoop();
    });
  }

  /** Marks records confirmed by Kinesis; deletes segment files that hold no unconfirmed record. */
  async release(entries: readonly SpoolEntry[]): Promise<void> {
    const emptied: number[] = [];
    for (const e of entries) {
      if (!this.entries.delete(e.seq)) continue;
      this.bytesHeld -= e.bytes;
      const seg = this.segments.get(e.segment)!;
      if (--seg.live === 0 && e.segment !== this.plannedTail) emptied.push(e.segment);
    }
    for (const n of emptied) {
      this.segments.delete(n);
      await unlink(join(this.o.dir, segmentName(n))).catch(() => {});
    }
  }

  /** Finishes pending writes and closes the active segment; unconfirmed records stay on disk. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.active.file.close();
    if (this.segments.get(this.active.n)?.live === 0 && this.entries.size === 0) {
      await unlink(join(this.o.dir, segmentName(this.active.n))).catch(() => {});
    }
  }

  // Segment planning: an append is assigned its segment synchronously (so release() knows where each record
  // lives); the writer rolls files by the same rule, in the same order.
  private plannedTail = 0;
  private plannedSize = 0;
  private plannedSegment(frameBytes: number): number {
    if (this.plannedSize > 0 && this.plannedSize + frameBytes > this.segmentBytes) {
      this.plannedTail++;
      this.plannedSize = 0;
      this.segments.set(this.plannedTail, { live: 0 });
    }
    this.plannedSize += frameBytes;
    return this.plannedTail;
  }

  private async writeLoop(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          // Frames of one batch may span a segment boundary: write each run to its own file.
          let i = 0;
          while (i < batch.length) {
            if (this.active.size > 0 && this.active.size + batch[i]!.frame.length > this.segmentBytes) await this.rollActive();
            const run: Buffer[] = [];
            let size = this.active.size;
            while (i < batch.length && (run.length === 0 || size + batch[i]!.frame.length <= this.segmentBytes)) {
              run.push(batch[i]!.frame);
              size += batch[i]!.frame.length;
              i++;
            }
            const buf = Buffer.concat(run);
            await this.active.file.write(buf, 0, buf.length, this.active.size);
            await this.active.file.datasync();
            this.active.size += buf.length;
          }
          for (const w of batch) w.resolve();
        } catch (e) {
          this.o.logger.error('spool write failed', { err: e });
          for (const w of batch) w.reject(new StreamUnavailableError('the local spool cannot be written', 5, { cause: e }));
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async rollActive(): Promise<void> {
    await this.active.file.close();
    const n = this.active.n + 1;
    const emptied = this.segments.get(this.active.n)?.live === 0;
    if (emptied) {
      this.segments.delete(this.active.n);
      await unlink(join(this.o.dir, segmentName(this.active.n))).catch(() => {});
    }
    this.active = { n, file: await open(join(this.o.dir, segmentName(n)), 'a+'), size: 0 };
  }

  private async recover(): Promise<void> {
    const { dir, logger } = this.o;
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((f) => SEGMENT.test(f)).sort();
    let last = -1;
    for (const name of names) {
      const n = Number(SEGMENT.exec(name)![1]);
      last = n;
      const path = join(dir, name);
      const buf = await readFile(path);
      const decoded = decodeFrames(buf);
      if (decoded.damage) {
        // A torn tail is what a crash mid-write leaves; it was never acknowledged, so it is cut, not sent.
        logger.warn('spool segment damaged: cutting it at the last whole record', {
          segment: name,
          damage: decoded.damage,
          keptBytes: decoded.validBytes,
          cutBytes: buf.length - decoded.validBytes,
        });
        await truncate(path, decoded.validBytes);
      }
      if (decoded.records.length === 0) {
        await unlink(path).catch(() => {});
        continue;
      }
      const seg: Segment = { live: 0 };
      this.segments.set(n, seg);
      for (const r of decoded.records) {
        const bytes = encodeFrame(r).length;
        const entry: SpoolEntry = { ...r, seq: this.nextSeq++, segment: n, bytes };
        this.entries.set(entry.seq, entry);
        this.bytesHeld += bytes;
        seg.live++;
      }
    }
    // Appends always start a fresh segment, so a recovered segment is never written again.
    const n = last + 1;
    this.active = { n, file: await open(join(dir, segmentName(n)), 'a+'), size: 0 };
    this.segments.set(n, { live: 0 });
    this.plannedTail = n;
    this.plannedSize = 0;
    if (this.entries.size > 0) logger.warn('spool holds records from a previous run; replaying them', { records: this.entries.size, bytes: this.bytesHeld });
  }
}
