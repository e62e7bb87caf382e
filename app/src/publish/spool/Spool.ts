import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { StreamUnavailableError } from '../../errors';
import type { Logger } from '../../logger';
import { decodeFrames, encodeFrame, frameBytes, type DamagedStretch, type SpoolRecord } from './frame';
import type { SpoolFiles, SpoolFile } from './SpoolFiles';

/**
 * A new segment, created (never an existing file) for positioned writes: each write lands at the segment's
 * known size, over whatever a failed write left there. (In append mode the position would be ignored, and a
 * record could follow torn bytes that recovery cuts, with it.)
 */
const SEGMENT_FLAGS = 'wx';

/**
 * Where copies of segments that lost acknowledged records are kept for inspection, as they were found: each named
 * after its segment and a digest of what recovery leaves of it on disk (see {@link Spool}).
 */
export const DAMAGED_DIR = 'damaged';

/** A spooled record with its place in the spool. */
export interface SpoolEntry extends SpoolRecord {
  /** Order of arrival, unique and increasing within one process. */
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
  /** The file system. @default node:fs/promises */
  files?: SpoolFiles;
  /** Called when the spool is closed (e.g. to stop a heartbeat). */
  onClose?(): void;
  /**
   * Called after each group is on disk, before its callers hear yes; a throw fails the group (e.g. a shared
   * spool whose directory another task has claimed: what is written now would be deleted with it).
   */
  beforeAck?(): Promise<void>;
  /** Told how many acknowledged records recovery could not read (a corrupt frame, a segment cut short). */
  onRecordsLost?(count: number): void;
}

/** The spool is full: the client should retry later; nothing of the record was written. */
export class SpoolFullError extends StreamUnavailableError {
  constructor() {
    super('the operations stream is unavailable and the local spool is full, retry later', 5);
  }
}

const SEGMENT = /^segment-(\d{12})\.log$/;
/** The segment a file in the spool directory or in `damaged/` is, or was, a copy of. */
const SEGMENT_NUMBER = /^segment-(\d{12})\.log/;
const segmentName = (n: number) => `segment-${String(n).padStart(12, '0')}.log`;
const segmentNumber = (name: string) => Number(SEGMENT_NUMBER.exec(name)?.[1] ?? -1);

/** The segment being written. */
interface ActiveSegment {
  n: number;
  file: SpoolFile;
  size: number;
  /** Its directory entry is on stable storage. */
  listed: boolean;
}

interface PendingWrite {
  record: SpoolRecord;
  frame: Buffer;
  resolve(): void;
  reject(e: Error): void;
}

/**
 * The durable spool: an append-only log of checksummed frames in segment files, group-committed (appends that
 * arrive during an fsync share the next one). An append resolves once its record is on stable storage, and
 * only then does the record become visible to {@link pending} (in arrival order) for the replayer, so a record
 * whose write failed is never sent. Unconfirmed records are also kept in memory (bounded by `maxBytes`).
 * A segment's space is freed once every record in it was confirmed by Kinesis, the segment being written
 * included; after a crash, records of a partly confirmed segment are sent again (duplicates the consumer absorbs).
 * A new segment's directory entry is fsynced before the first record in it is acknowledged.
 *
 * Recovery: a torn last frame of the newest segment (a crash mid-write; never acknowledged, since an append is
 * answered after its fsync) is cut, silently. Any other damage held acknowledged records: a full-length frame
 * whose checksum fails, anywhere, and a segment other than the newest cut short. Those are counted
 * ({@link SpoolOptions.onRecordsLost}) and logged as errors, and the segment is copied, byte for byte, into
 * {@link DAMAGED_DIR} before anything of it is cut. A restart before the segment drained finds its copy there and
 * does not count the loss again; segment numbers continue past the kept copies', so a later segment never takes
 * an earlier one's name.
 */
export class Spool {
  readonly #o: SpoolOptions;
  readonly #files: SpoolFiles;
  readonly #segmentBytes: number;
  readonly #appendListeners: Array<() => void> = [];
  readonly #entries = new Map<number, SpoolEntry>();
  /** Unconfirmed records per segment file. */
  readonly #live = new Map<number, number>();
  /** Per partition key: records appended (on disk or being written) and not yet confirmed. */
  readonly #perKey = new Map<string, number>();
  /** Who waits for a key to have no record left in the spool. */
  readonly #keyWaiters = new Map<string, Set<() => void>>();
  #nextSeq = 0;
  /** Bytes of unconfirmed records plus those being written: what `maxBytes` bounds. */
  #bytesHeld = 0;
  #active!: ActiveSegment;
  #queue: PendingWrite[] = [];
  /** The write loop runs; cleared synchronously when it finds nothing to do, so no append is stranded. */
  #writingActive = false;
  #writing: Promise<void> = Promise.resolve();
  #unanswered = 0;
  #closed = false;

  private constructor(o: SpoolOptions) {
    this.#o = o;
    this.#files = o.files ?? (fs as unknown as SpoolFiles);
    this.#segmentBytes = o.segmentBytes ?? 4 * 1024 * 1024;
  }

  /** Opens (creating) the spool directory and recovers what it holds (see {@link decodeFrames}). */
  static async open(o: SpoolOptions): Promise<Spool> {
    const spool = new Spool(o);
    await spool.#recover();
    return spool;
  }

  /** Records on disk and not yet confirmed. */
  get depth(): number {
    return this.#entries.size;
  }

  /** Appends not yet on disk (their callers have not been answered). */
  get writesInFlight(): number {
    return this.#unanswered;
  }

  /** Bytes of records not yet confirmed. */
  get bytes(): number {
    return this.#bytesHeld;
  }

  /** Whether {@link close} was called: appends are refused. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Arrival time of the oldest unconfirmed record, epoch ms. */
  get oldestAppendedAt(): number | undefined {
    return this.#entries.values().next().value?.appendedAt;
  }

  /** Whether a record of `partitionKey` is spooled or being spooled and not yet confirmed by Kinesis. */
  holds(partitionKey: string): boolean {
    return (this.#perKey.get(partitionKey) ?? 0) > 0;
  }

  /**
   * Resolves `true` once the spool holds no record of `partitionKey` (at once if it holds none), or `false` when
   * `signal` aborts first: a caller that stops waiting leaves nothing behind, however long the key takes to drain.
   */
  released(partitionKey: string, signal?: AbortSignal): Promise<boolean> {
    if (!this.holds(partitionKey)) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiters = this.#keyWaiters.get(partitionKey) ?? new Set<() => void>();
      const onAbort = () => {
        waiters.delete(onReleased);
        if (waiters.size === 0 && this.#keyWaiters.get(partitionKey) === waiters) this.#keyWaiters.delete(partitionKey);
        resolve(false);
      };
      const onReleased = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      waiters.add(onReleased);
      this.#keyWaiters.set(partitionKey, waiters);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls of {@link released} still waiting. */
  get releaseWaiters(): number {
    let n = 0;
    for (const waiters of this.#keyWaiters.values()) n += waiters.size;
    return n;
  }

  /** Unconfirmed records on disk, oldest first. */
  pending(): IterableIterator<SpoolEntry> {
    return this.#entries.values();
  }

  /**
   * Adds a record; resolves once it is fsynced. Throws {@link SpoolFullError} (writing nothing) when it
   * would exceed `maxBytes`, and StreamUnavailableError when the disk refuses it (then it is not spooled).
   */
  append(r: Omit<SpoolRecord, 'appendedAt'>, now = Date.now()): Promise<void> {
    if (this.#closed) return Promise.reject(new StreamUnavailableError('the gateway is shutting down', 1));
    const record = { ...r, appendedAt: now };
    const frame = encodeFrame(record);
    if (this.#bytesHeld + frame.length > this.#o.maxBytes) return Promise.reject(new SpoolFullError());
    this.#bytesHeld += frame.length;
    this.#unanswered++;
    this.#countKey(record.partitionKey, 1);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        record,
        frame,
        resolve,
        reject: (e: Error) => {
          this.#countKey(record.partitionKey, -1);
          reject(e);
        },
      });
      this.#startWriting();
    }).finally(() => this.#unanswered--);
  }

  /** Marks records confirmed by Kinesis; frees the segments that hold no unconfirmed record. */
  async release(entries: readonly SpoolEntry[]): Promise<void> {
    const emptied: number[] = [];
    for (const e of entries) {
      if (!this.#entries.delete(e.seq)) continue;
      this.#countKey(e.partitionKey, -1);
      this.#bytesHeld -= e.bytes;
      const left = (this.#live.get(e.segment) ?? 1) - 1;
      this.#live.set(e.segment, left);
      if (left === 0 && e.segment !== this.#active.n) emptied.push(e.segment);
    }
    for (const n of emptied) {
      this.#live.delete(n);
      await this.#files.unlink(join(this.#o.dir, segmentName(n))).catch(() => {});
    }
    // The segment being written is emptied in place, by the write loop, which owns its file.
    if (this.#activeDrained()) this.#startWriting();
  }

  /** Calls `listener` whenever appended records become visible (after their fsync), whoever appended them. */
  onAppended(listener: () => void): void {
    this.#appendListeners.push(listener);
  }

  /** Finishes pending writes and closes the active segment; unconfirmed records stay on disk. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#o.onClose?.();
    while (this.#writingActive) await this.#writing;
    await this.#active.file.close();
    if (this.#entries.size === 0) await this.#files.unlink(join(this.#o.dir, segmentName(this.#active.n))).catch(() => {});
  }

  #countKey(partitionKey: string, delta: number): void {
    const n = (this.#perKey.get(partitionKey) ?? 0) + delta;
    if (n > 0) {
      this.#perKey.set(partitionKey, n);
      return;
    }
    this.#perKey.delete(partitionKey);
    const waiters = this.#keyWaiters.get(partitionKey);
    this.#keyWaiters.delete(partitionKey);
    for (const w of waiters ?? []) w();
  }

  #startWriting(): void {
    if (this.#writingActive) return;
    this.#writingActive = true;
    this.#writing = this.#writeLoop();
  }

  /** The active segment has bytes and every record in it was confirmed. */
  #activeDrained(): boolean {
    return this.#active.size > 0 && (this.#live.get(this.#active.n) ?? 0) === 0;
  }

  async #writeLoop(): Promise<void> {
    // The flag is cleared in the very turn that finds nothing to do, so no append can be stranded.
    let canEmpty = true;
    try {
      for (;;) {
        if (canEmpty && this.#activeDrained()) canEmpty = await this.#emptyActive();
        if (this.#queue.length > 0) {
          const batch = this.#queue;
          this.#queue = [];
          await this.#writeBatch(batch);
        } else if (!canEmpty || !this.#activeDrained()) return;
      }
    } finally {
      this.#writingActive = false;
    }
  }

  /** Frees the space of a fully confirmed active segment (it needs none, unlike a new file: a full disk allows it). */
  async #emptyActive(): Promise<boolean> {
    try {
      await this.#active.file.truncate(0);
      this.#active.size = 0;
      return true;
    } catch (err) {
      this.#o.logger.warn('could not empty a drained spool segment', { segment: segmentName(this.#active.n), err });
      return false;
    }
  }

  async #writeBatch(batch: PendingWrite[]): Promise<void> {
    let i = 0;
    try {
      // A batch may span a segment boundary: each run goes to its own file, fsynced before its callers hear.
      while (i < batch.length) {
        if (this.#active.size > 0 && this.#active.size + batch[i]!.frame.length > this.#segmentBytes) await this.#roll();
        let end = i;
        let size = this.#active.size;
        do size += batch[end++]!.frame.length;
        while (end < batch.length && size + batch[end]!.frame.length <= this.#segmentBytes);
        await this.#writeRun(batch.slice(i, end));
        i = end;
        for (const listener of this.#appendListeners) listener();
      }
    } catch (e) {
      this.#o.logger.error('spool write failed', { err: e });
      for (const w of batch.slice(i)) {
        this.#bytesHeld -= w.frame.length;
        w.reject(new StreamUnavailableError('the local spool cannot be written', 5, { cause: e }));
      }
      // Whatever part of the failed write reached the file must not sit before later records: cut it, or,
      // if even that fails, continue in a new segment (recovery cuts a damaged tail, never what follows).
      await this.#active.file.truncate(this.#active.size).catch(() => this.#roll().catch(() => {}));
    }
  }

  /** Writes frames that fit the active segment, fsyncs, and only then makes them visible and answers their callers. */
  async #writeRun(run: PendingWrite[]): Promise<void> {
    const buf = Buffer.concat(run.map((w) => w.frame));
    const { bytesWritten } = await this.#active.file.write(buf, 0, buf.length, this.#active.size);
    // A short write (a full disk) is a failed write: none of these callers may hear yes.
    if (bytesWritten !== buf.length) throw new Error(`short write to the spool: ${bytesWritten} of ${buf.length} bytes`);
    await this.#active.file.datasync();
    if (!this.#active.listed) {
      await this.#syncDir();
      this.#active.listed = true;
    }
    await this.#o.beforeAck?.();
    for (const w of run) {
      const entry: SpoolEntry = { ...w.record, seq: this.#nextSeq++, segment: this.#active.n, bytes: w.frame.length };
      this.#entries.set(entry.seq, entry);
      this.#live.set(this.#active.n, (this.#live.get(this.#active.n) ?? 0) + 1);
      w.resolve();
    }
    this.#active.size += buf.length;
  }

  async #roll(): Promise<void> {
    const old = this.#active;
    this.#active = await this.#createSegment(old.n + 1);
    await old.file.close().catch(() => {});
    if ((this.#live.get(old.n) ?? 0) === 0) {
      this.#live.delete(old.n);
      await this.#files.unlink(join(this.#o.dir, segmentName(old.n))).catch(() => {});
    }
  }

  /** A new, empty segment file; its name is made durable before the first acknowledgement in it. */
  async #createSegment(n: number): Promise<ActiveSegment> {
    return { n, file: await this.#files.open(join(this.#o.dir, segmentName(n)), SEGMENT_FLAGS), size: 0, listed: false };
  }

  /** fsyncs the spool directory: the names of the files created in it are then on stable storage. */
  async #syncDir(): Promise<void> {
    const dir = await this.#files.open(this.#o.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async #recover(): Promise<void> {
    const { dir, logger } = this.#o;
    await this.#files.mkdir(dir, { recursive: true });
    const names = (await this.#files.readdir(dir)).filter((f) => SEGMENT.test(f)).sort();
    for (const [i, name] of names.entries()) {
      const n = segmentNumber(name);
      const records = await this.#recoverSegment(name, i === names.length - 1);
      if (records.length === 0) {
        await this.#files.unlink(join(dir, name)).catch(() => {});
        continue;
      }
      for (const r of records) {
        const entry: SpoolEntry = { ...r, seq: this.#nextSeq++, segment: n, bytes: frameBytes(r) };
        this.#entries.set(entry.seq, entry);
        this.#countKey(entry.partitionKey, 1);
        this.#bytesHeld += entry.bytes;
        this.#live.set(n, (this.#live.get(n) ?? 0) + 1);
      }
    }
    // Appends always start a fresh segment, so a recovered segment is never written again; numbered past the
    // kept copies too, so that no later segment is taken for one already kept.
    const kept = await this.#files.readdir(join(dir, DAMAGED_DIR)).catch(() => []);
    const last = Math.max(-1, ...names.map(segmentNumber), ...kept.map(segmentNumber));
    this.#active = await this.#createSegment(last + 1);
    if (this.#entries.size > 0) logger.warn('spool holds records from a previous run; replaying them', { records: this.#entries.size, bytes: this.#bytesHeld });
  }

  /**
   * The records a segment holds. Keeps a segment that lost acknowledged records aside and counts them; cuts a
   * torn tail of the newest segment, after the copy. A segment that lost records is not otherwise changed, so a
   * restart reads the same bytes and finds its copy by their digest.
   */
  async #recoverSegment(name: string, newest: boolean): Promise<SpoolRecord[]> {
    const path = join(this.#o.dir, name);
    const buf = await this.#files.readFile(path);
    const { records, corrupt, torn } = decodeFrames(buf);
    const cutAt = newest && torn ? torn.at : buf.length;
    const lost = newest || !torn ? corrupt : [...corrupt, torn];
    if (lost.length > 0) await this.#keepAside(name, buf.subarray(0, cutAt), lost);
    if (cutAt < buf.length) {
      this.#o.logger.info('spool segment ends in a torn write (never acknowledged): cut', { segment: name, keptBytes: cutAt, cutBytes: buf.length - cutAt });
      await this.#cut(path, cutAt);
    }
    return records;
  }

  /** Truncates a file and makes that durable, so the next recovery reads what this one kept. */
  async #cut(path: string, length: number): Promise<void> {
    const file = await this.#files.open(path, 'r+');
    try {
      await file.truncate(length);
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  /** Acknowledged records that cannot be read are lost: counted and logged once, and the segment copied aside. */
  async #keepAside(name: string, remains: Buffer, lost: DamagedStretch[]): Promise<void> {
    const recordsLost = lost.reduce((n, s) => n + s.records, 0);
    const digest = createHash('sha256').update(remains).digest('hex').slice(0, 16);
    const aside = join(this.#o.dir, DAMAGED_DIR, `${name}.${digest}`);
    const first = await this.#files
      .mkdir(join(this.#o.dir, DAMAGED_DIR), { recursive: true })
      .then(() => this.#files.copyFile(join(this.#o.dir, name), aside, constants.COPYFILE_EXCL))
      .then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') this.#o.logger.warn('could not keep a damaged spool segment aside', { segment: name, err });
          return err.code !== 'EEXIST';
        },
      );
    // Kept aside already: a restart before it drained read it again, and its loss was counted then.
    if (!first) return;
    this.#o.onRecordsLost?.(recordsLost);
    this.#o.logger.error('spool segment damaged: acknowledged records lost, the others replayed; the segment is kept aside', {
      segment: name,
      recordsLost,
      damaged: lost.map((s) => ({ at: s.at, bytes: s.bytes })),
      keptAt: aside,
    });
  }
}
