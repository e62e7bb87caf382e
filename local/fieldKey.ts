import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOCAL_KEY_BYTES } from '../common/fieldEncryption/keyrings';

/** File name of the local field encryption key under `DATA_DIR`. */
export const LOCAL_FIELD_KEY_FILE = 'field-encryption.key';

/**
 * The local stack's field encryption key: a raw AES-256 key (32 random bytes, mode 0600) under `dataDir`,
 * created on first start and kept with the rest of the local state, so records already on the stream stay
 * readable across restarts. Returns its absolute path, for `FIELD_ENCRYPTION_KEY_FILE` of gateway and consumer.
 * Throws if an existing file is not a key (wrong length).
 */
export function ensureLocalFieldKey(dataDir: string): string {
  const file = resolve(join(dataDir, LOCAL_FIELD_KEY_FILE));
  mkdirSync(dataDir, { recursive: true });
  try {
    // `wx`: never overwrite; two launchers racing keep the first key.
    writeFileSync(file, randomBytes(LOCAL_KEY_BYTES), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const size = readFileSync(file).byteLength;
  if (size !== LOCAL_KEY_BYTES) throw new Error(`${file} is not a field encryption key (${size} bytes, not ${LOCAL_KEY_BYTES}); remove it to start over (records encrypted under it become unreadable)`);
  return file;
}
