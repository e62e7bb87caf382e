import * as fs from 'node:fs/promises';
import type { SpoolFile, SpoolFiles } from '../../app/src/publish/spool/SpoolFiles';

/**
 * The real file system with a capacity a test sets: a write that would grow the files it made past the
 * capacity fails with ENOSPC, as a full disk answers; truncating and deleting give the space back. A loop mount
 * or a small tmpfs would need privileges a test run does not have.
 */
export class FullDiskFiles implements SpoolFiles {
  readonly #sizes = new Map<string, number>();
  #capacity = Infinity;
  /** Writes refused with ENOSPC. */
  refused = 0;

  /** Bytes in the files made through this layer. */
  get used(): number {
    let n = 0;
    for (const size of this.#sizes.values()) n += size;
    return n;
  }

  /** The disk fills up (with something else): no file may grow from now on. */
  fill(): void {
    this.#capacity = this.used;
  }

  /** The disk is full and stays so, whatever the spool frees (other files take the space at once). */
  fillForever(): void {
    this.#capacity = -Infinity;
  }

  mkdir = (path: string, options: { recursive: true }) => fs.mkdir(path, options);
  readdir = (path: string) => fs.readdir(path);
  readFile = (path: string) => fs.readFile(path);
  copyFile = (src: string, dest: string, mode: number) => fs.copyFile(src, dest, mode);

  async truncate(path: string, length: number): Promise<void> {
    await fs.truncate(path, length);
    if (this.#sizes.has(path)) this.#sizes.set(path, length);
  }

  async unlink(path: string): Promise<void> {
    await fs.unlink(path);
    this.#sizes.delete(path);
  }

  async open(path: string, flags: string): Promise<SpoolFile> {
    const handle = await fs.open(path, flags);
    // Opened read-only (the spool directory, to sync it), it cannot grow.
    if (flags !== 'r') this.#sizes.set(path, (await handle.stat()).size);
    return {
      write: async (buffer, offset, length, position) => {
        const grows = Math.max(0, position + length - (this.#sizes.get(path) ?? 0));
        if (grows > 0 && this.used + grows > this.#capacity) {
          this.refused++;
          throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
        }
        const r = await handle.write(buffer, offset, length, position);
        this.#sizes.set(path, Math.max(this.#sizes.get(path) ?? 0, position + r.bytesWritten));
        return r;
      },
      datasync: () => handle.datasync(),
      sync: () => handle.sync(),
      truncate: async (length) => {
        await handle.truncate(length);
        this.#sizes.set(path, length);
      },
      close: () => handle.close(),
    };
  }
}
