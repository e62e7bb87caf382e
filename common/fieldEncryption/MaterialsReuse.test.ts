import { buildClient, CommitmentPolicy, NodeAlgorithmSuite, type NodeEncryptionMaterial } from '@aws-crypto/client-node';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { fakeKms, kmsError } from '../test/fakeKms';
import { encryptField, FIELD_SUITE } from './fieldCipher';
import { kmsKeyring, localKeyring } from './keyrings';
import { MaterialsReuse } from './MaterialsReuse';

const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const dir = mkdtempSync(join(tmpdir(), 'materials-reuse-'));
const keyFile = join(dir, 'field.key');
writeFileSync(keyFile, randomBytes(32));
const keyring = localKeyring(keyFile);
const SUITE = new NodeAlgorithmSuite(FIELD_SUITE);
const scope = { businessId: 'business-1', locationId: 'location-1', resourceType: 'appointment' };
const CACHE = { maxAgeMs: 60_000, maxMessages: 10_000, capacity: 100 };
const turn = () => new Promise((r) => setImmediate(r));
const dataKeyOf = (m: NodeEncryptionMaterial) => Buffer.from(m.encryptedDataKeys[0]!.encryptedDataKey).toString('base64');

describe('MaterialsReuse', () => {
  it('looks up materials once per maxUses values of a scope', async () => {
    const reuse = MaterialsReuse.over(keyring, CACHE, { maxUses: 100, maxAgeMs: 60_000 });
    const lookups = vi.spyOn(reuse.manager, 'getEncryptionMaterials');
    const got = await Promise.all(Array.from({ length: 250 }, () => reuse.get(SUITE, scope, 10)));
    expect(lookups).toHaveBeenCalledTimes(3);
    expect(new Set(got).size).toBe(3);
  });

  it('looks up again after maxAgeMs, and keeps scopes apart', async () => {
    const reuse = MaterialsReuse.over(keyring, CACHE, { maxUses: 100, maxAgeMs: 1000 });
    const lookups = vi.spyOn(reuse.manager, 'getEncryptionMaterials');
    const t0 = 1_000_000;
    const a = await reuse.get(SUITE, scope, 10, t0);
    expect(await reuse.get(SUITE, scope, 10, t0 + 999)).toBe(a);
    const other = await reuse.get(SUITE, { ...scope, businessId: 'business-2' }, 10, t0 + 999);
    expect(dataKeyOf(other)).not.toBe(dataKeyOf(a));
    expect(await reuse.get(SUITE, scope, 10, t0 + 1000)).not.toBe(a);
    expect(lookups).toHaveBeenCalledTimes(3);
  });

  it('keeps the data key bound: a data key encrypts at most cache.maxMessages values', async () => {
    // 250 values per data key, 100 per lookup: a data key serves two lookups (200 values), then a new one is made.
    const reuse = MaterialsReuse.over(keyring, { ...CACHE, maxMessages: 250 }, { maxUses: 100, maxAgeMs: 60_000 });
    const perDataKey = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const key = dataKeyOf(await reuse.get(SUITE, scope, 10));
      perDataKey.set(key, (perDataKey.get(key) ?? 0) + 1);
    }
    expect([...perDataKey.values()].every((n) => n <= 250)).toBe(true);
    expect(perDataKey.size).toBe(5);
  });

  it('zeroes retired materials a turn later, after every value that holds them has used them', async () => {
    const reuse = MaterialsReuse.over(keyring, CACHE, { maxUses: 10, maxAgeMs: 60_000 });
    const first = await reuse.get(SUITE, scope, 10);
    for (let i = 0; i < 9; i++) await reuse.get(SUITE, scope, 10);
    await reuse.get(SUITE, scope, 10); // the eleventh value retires the first materials
    expect(first.hasUnencryptedDataKey).toBe(true);
    await turn();
    await turn();
    expect(first.hasUnencryptedDataKey).toBe(false);
  });

  it('encrypts many values at once while materials retire under them; the SDK reads every one', async () => {
    const reuse = MaterialsReuse.over(keyring, CACHE, { maxUses: 7, maxAgeMs: 60_000 });
    const values = Array.from({ length: 300 }, (_, i) => `patient ${i}`);
    const ciphertexts = await Promise.all(values.map((value, i) => encryptField(reuse, scope, { subject: `r-${i}`, field: 'patientName', request: 'request-1' }, value)));
    const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const plain = await Promise.all(ciphertexts.map(async (c) => JSON.parse((await decrypt(keyring, Buffer.from(c, 'base64'))).plaintext.toString()).value));
    expect(plain).toEqual(values);
    // Every message has its own message id (and so its own derived key), reused materials or not.
    const ids = ciphertexts.map((c) => Buffer.from(c, 'base64').subarray(3, 35).toString('hex'));
    expect(new Set(ids).size).toBe(values.length);
  });

  it('zeroes the materials of a scope that went quiet once maxAgeMs passed', async () => {
    const reuse = MaterialsReuse.over(keyring, CACHE, { maxUses: 100, maxAgeMs: 20 });
    const m = await reuse.get(SUITE, scope, 10);
    expect(m.hasUnencryptedDataKey).toBe(true);
    // Timers run in order: the entry's (20 ms) before this one; the zeroing follows a turn later.
    await new Promise((r) => setTimeout(r, 40));
    await turn();
    await turn();
    expect(m.hasUnencryptedDataKey).toBe(false);
  });

  it('retires materials whose lookup is still pending without zeroing them under a value that holds them', async () => {
    const reuse = MaterialsReuse.over(keyring, CACHE, { maxUses: 3, maxAgeMs: 60_000 });
    const lookup = reuse.manager.getEncryptionMaterials.bind(reuse.manager);
    // A slow lookup, as KMS can be: every value below asks before the first materials exist.
    vi.spyOn(reuse.manager, 'getEncryptionMaterials').mockImplementation(async (request) => {
      await new Promise((r) => setTimeout(r, 20));
      return lookup(request);
    });
    const usable = await Promise.all(
      Array.from({ length: 8 }, () => reuse.get(SUITE, scope, 10).then((m) => ({ m, usable: m.hasUnencryptedDataKey }))),
    );
    expect(usable.every((u) => u.usable)).toBe(true);
    expect(new Set(usable.map((u) => u.m)).size).toBe(3);
    await turn();
    await turn();
    // The first two retired (used up); the third is still in service.
    expect(usable.map((u) => u.m.hasUnencryptedDataKey)).toEqual([false, false, false, false, false, false, true, true]);
  });

  it('refuses bounds that are not positive integers', () => {
    expect(() => MaterialsReuse.over(keyring, CACHE, { maxUses: 2.5, maxAgeMs: 1000 })).toThrow(/maxUses/);
    expect(() => MaterialsReuse.over(keyring, { ...CACHE, maxMessages: Number.NaN }, { maxUses: 10, maxAgeMs: 1000 })).toThrow(/maxMessages/);
    expect(() => MaterialsReuse.over(keyring, CACHE, { maxUses: 10, maxAgeMs: 0 })).toThrow(/maxAgeMs/);
  });

  it('does not keep a failed lookup: the next value asks KMS again', async () => {
    const kms = fakeKms(KEY_ARN);
    kms.fail = kmsError('ThrottlingException', 'Rate exceeded');
    const reuse = MaterialsReuse.over(kmsKeyring(KEY_ARN, { kms: kms.client }), CACHE, { maxUses: 100, maxAgeMs: 60_000 });
    await expect(reuse.get(SUITE, scope, 10)).rejects.toThrow();
    kms.fail = undefined;
    await expect(reuse.get(SUITE, scope, 10)).resolves.toBeDefined();
  });
});

describe('MaterialsReuse and values longer than a frame', () => {
  it('encrypts them under the whole data-key bounds, not the bounds divided by the reuse', async () => {
    const reuse = MaterialsReuse.over(keyring, CACHE, { maxUses: 100, maxAgeMs: 60_000 });
    const onEncrypt = vi.spyOn(keyring, 'onEncrypt');
    for (let i = 0; i < 300; i++) await encryptField(reuse, scope, { subject: `r-${i}`, field: 'notes', request: 'request-1' }, 'x'.repeat(2048));
    // One data key serves all 300 (10,000 allowed): the keyring made one.
    expect(onEncrypt).toHaveBeenCalledTimes(1);
    onEncrypt.mockRestore();
  });
});
