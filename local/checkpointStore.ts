import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A shard's persisted position: the last sequence number whose record is done (applied or dead-lettered). */
export interface Checkpoint {
  shardId: string;
  /** The shard's first sequence number: tells this shard from one of the same id in an earlier stream. */
  shardStart?: string;
  sequenceNumber?: string;
  /** The shard is closed and fully processed (children may start). */
  finished?: boolean;
  updatedAt: string;
}

/** A fresh checkpoint of a shard: nothing done yet. */
export function initialCheckpoint(shardId: string, shardStart: string | undefined): Checkpoint {
  return { shardId, ...(shardStart ? { shardStart } : {}), updatedAt: new Date().toISOString() };
}

/** One JSON file per shard under a directory, replaced atomically, so a restart resumes after the last record done. */
export class CheckpointStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The shard's checkpoint, or undefined when it has none or it belongs to an earlier stream of the same name. */
  async read(shardId: string, shardStart: string | undefined): Promise<Checkpoint | undefined> {
    let c: Checkpoint;
    try {
      c = JSON.parse(await readFile(this.#path(shardId), 'utf8')) as Checkpoint;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    // Same shard id, another stream (it was deleted and made again): its position means nothing here.
    if (c.shardStart !== undefined && shardStart !== undefined && c.shardStart !== shardStart) return undefined;
    return c;
  }

  async write(c: Checkpoint): Promise<void> {
    // Write-then-rename, so a crash mid-write never leaves a torn checkpoint.
    const path = this.#path(c.shardId);
    await mkdir(this.#dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(c));
    await rename(tmp, path);
  }

  #path(shardId: string): string {
    return join(this.#dir, `${shardId}.json`);
  }
}
