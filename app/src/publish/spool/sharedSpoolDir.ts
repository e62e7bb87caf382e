import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../logger';
import { DAMAGED_DIR, Spool } from './Spool';

const HEARTBEAT = 'heartbeat';

export interface SharedSpoolOptions {
  root: string;
  maxBytes: number;
  logger: Logger;
  /** A directory whose heartbeat is older than this belongs to a task that is gone. @default 60000 */
  staleMs?: number;
  /** @default 10000 */
  heartbeatMs?: number;
  /** How often a running task looks for stale directories. @default staleMs */
  sweepMs?: number;
  /** Told of acknowledged records that a corrupt frame made unreadable, in this task's spool or an adopted one. */
  onRecordsLost?(count: number): void;
}

/**
 * On a spool root shared by several gateway tasks (an EFS volume), each task spools in a directory of its own
 * and touches a heartbeat file in it every `heartbeatMs`. A task adopts the directories whose heartbeat is
 * older than `staleMs` (their task is gone), when it starts and every `sweepMs` while it runs: it claims one by
 * renaming it (atomic, so only one task wins), copies its unconfirmed records into its own spool, which replays
 * them ahead of anything new, and deletes it. A crash mid-adoption leaves the renamed directory to be adopted
 * again: duplicates, not loss.
 */
export async function openSharedSpool(o: SharedSpoolOptions): Promise<Spool> {
  const me = `task-${hostname()}-${process.pid}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const dir = await createTaskDir(o.root, me);
  const beat = join(dir, HEARTBEAT);
  // Beating from the start, so a long adoption below cannot make this directory look abandoned.
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(beat, now, now).catch((err: unknown) => o.logger.warn('spool heartbeat failed', { err }));
  }, o.heartbeatMs ?? 10_000);
  heartbeat.unref();
  let sweep: NodeJS.Timeout | undefined;
  let closed = false;
  const spool = await Spool.open({
    dir,
    maxBytes: o.maxBytes,
    logger: o.logger,
    onRecordsLost: o.onRecordsLost,
    beforeAck: refuseOnceTakenOver(beat, me, o.logger),
    onClose: () => {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(sweep);
    },
  });
  // A failed adoption (this spool full, a damaged directory) is logged, not thrown: at start it must not keep
  // the gateway from starting; the claimed directory stays, and the next sweep tries again.
  let adopting = false;
  const sweepOnce = async () => {
    if (adopting || closed) return;
    adopting = true;
    await adoptStale(o, me, spool, () => closed)
      .catch((err: unknown) => o.logger.warn('adopting stale spools failed; the next sweep tries again', { err }))
      .finally(() => (adopting = false));
  };
  await sweepOnce();
  // And again while running: a task that dies after this one started (or left records when it stopped) must
  // not wait for the next start of some task to have its records replayed.
  sweep = setInterval(() => void sweepOnce(), o.sweepMs ?? o.staleMs ?? 60_000);
  sweep.unref();
  return spool;
}

/**
 * The task's directory, which appears with its heartbeat already in it: another task starting at the same
 * moment must never see it without one and adopt it.
 */
async function createTaskDir(root: string, me: string): Promise<string> {
  const dir = join(root, me);
  const staging = join(root, `.${me}`);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, HEARTBEAT), me);
  await rename(staging, dir);
  return dir;
}

/**
 * If another task took this directory for dead (its heartbeat could not be written for staleMs), it copies what
 * it read and deletes the rest: from then on nothing written here may be acknowledged.
 */
function refuseOnceTakenOver(beat: string, me: string, logger: Logger): () => Promise<void> {
  let adoptedByOther = false;
  return async () => {
    if (adoptedByOther) throw new Error("this task's spool directory was adopted by another task");
    const present = await stat(beat).then(
      () => true,
      (err: NodeJS.ErrnoException) => err.code !== 'ENOENT',
    );
    if (present) return;
    adoptedByOther = true;
    logger.error("this task's spool directory was taken over by another task; spooling is refused until restart", { dir: me });
    throw new Error("this task's spool directory was adopted by another task");
  };
}

/** Claims and replays every directory whose task stopped beating. */
async function adoptStale(o: SharedSpoolOptions, me: string, spool: Spool, closed: () => boolean): Promise<void> {
  const staleMs = o.staleMs ?? 60_000;
  for (const name of await readdir(o.root)) {
    if (closed()) return;
    if (name === me || name.startsWith('.')) continue;
    const other = join(o.root, name);
    const last = await stat(join(other, HEARTBEAT)).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (Date.now() - last < staleMs) continue;
    const claimed = await claim(o, name, me);
    if (claimed) await adopt(o, name, claimed, spool);
  }
}

/** Renames a stale directory to this task's claim; undefined when another task claimed it first (or it failed). */
async function claim(o: SharedSpoolOptions, name: string, me: string): Promise<string | undefined> {
  // One suffix, whoever claimed it before: a name that grew with each failed adoption would end in ENAMETOOLONG.
  const claimed = join(o.root, `${name.replace(/\.adopted-by-.*$/, '')}.adopted-by-${me}`);
  const won = await rename(join(o.root, name), claimed).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      // ENOENT: another task claimed it first. Anything else would leave records unreplayed: say so.
      if (err.code !== 'ENOENT') o.logger.warn('could not claim a stale spool directory', { dir: name, err });
      return false;
    },
  );
  return won ? claimed : undefined;
}

/** Copies a claimed directory's unconfirmed records into this task's spool, then deletes it. */
async function adopt(o: SharedSpoolOptions, name: string, claimed: string, spool: Spool): Promise<void> {
  // Fresh again: another task's sweep must not take it over while this one copies it. If this task dies
  // mid-copy, the heartbeat goes stale and the claimed directory is adopted again (duplicates, not loss).
  const now = new Date();
  await utimes(join(claimed, HEARTBEAT), now, now).catch(() => {});
  const orphan = await Spool.open({ dir: claimed, maxBytes: Number.MAX_SAFE_INTEGER, logger: o.logger, onRecordsLost: o.onRecordsLost });
  const entries = [...orphan.pending()];
  try {
    await Promise.all(entries.map((e) => spool.append({ partitionKey: e.partitionKey, data: e.data }, e.appendedAt)));
  } finally {
    await orphan.close();
  }
  // Its damaged segments, if any, stay for inspection where no sweep adopts them (names starting with a dot).
  await rename(join(claimed, DAMAGED_DIR), join(o.root, `.damaged-${name}`)).catch(() => {});
  await rm(claimed, { recursive: true, force: true });
  o.logger.warn('adopted the spool of a gateway task that is gone', { from: name, records: entries.length });
}
