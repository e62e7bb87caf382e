/** An open file: the few FileHandle methods the spool uses. */
export interface SpoolFile {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  /** fsync: on the spool directory, opened read-only, it makes a new segment's name durable. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file system as the spool uses it: `node:fs/promises` has this shape. A test passes a layer that injects
 * the faults a real disk has and a test cannot make without privileges (a full disk).
 */
export interface SpoolFiles {
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  unlink(path: string): Promise<void>;
  copyFile(src: string, dest: string, mode: number): Promise<void>;
  open(path: string, flags: string): Promise<SpoolFile>;
}
