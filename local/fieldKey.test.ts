import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureLocalFieldKey } from './fieldKey';

describe('ensureLocalFieldKey', () => {
  it('creates a 32-byte key readable only by its owner on first start, and keeps it afterwards', () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'field-key-')), 'data');
    const file = ensureLocalFieldKey(dataDir);
    expect(file).toBe(join(dataDir, 'field-encryption.key'));
    const key = readFileSync(file);
    expect(key.byteLength).toBe(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(ensureLocalFieldKey(dataDir)).toBe(file);
    expect(readFileSync(file).equals(key)).toBe(true);
  });

  it('refuses a file that is not a key', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'field-key-'));
    writeFileSync(join(dataDir, 'field-encryption.key'), 'not a key');
    expect(() => ensureLocalFieldKey(dataDir)).toThrow('is not a field encryption key');
  });
});
