import { RawAesKeyringNode, RawAesWrappingSuiteIdentifier, CommitmentPolicy, NodeAlgorithmSuite } from '@aws-crypto/client-node';
import { randomBytes } from 'node:crypto';
import { cachingMaterialsManager } from './common/fieldEncryption/dataKeyCache';
import { encryptField, FIELD_SUITE } from './common/fieldEncryption/fieldCipher';
import { getEncryptionInfo } from '@aws-crypto/encrypt-node/build/main/src/encrypt_stream';
import { getEncryptFrame } from '@aws-crypto/encrypt-node/build/main/src/framed_encrypt_stream';
const keyring = new RawAesKeyringNode({ keyName: 'k', keyNamespace: 'ns', unencryptedMasterKey: randomBytes(32), wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING });
const cmm = cachingMaterialsManager(keyring);
const ctx = { businessId: 'business-1', locationId: 'location-1', resourceType: 'appointment' };
const N = 20000;
async function m(name: string, fn: () => unknown) {
  for (let i = 0; i < 2000; i++) await fn();
  const c0 = process.cpuUsage(); for (let i = 0; i < N; i++) await fn(); const c = process.cpuUsage(c0);
  console.log(name, ((c.user + c.system) / N).toFixed(1), 'µs');
}
await m('encryptField', () => encryptField(cmm, ctx, { subject: 'r-123', field: 'patientName' }, 'John Doe'));
const SUITE = new NodeAlgorithmSuite(FIELD_SUITE);
const req = () => ({ suite: SUITE, encryptionContext: ctx, plaintextLength: 60, commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT });
await m('cmm.getEncryptionMaterials', async () => (await cmm.getEncryptionMaterials(req())).zeroUnencryptedDataKey());
const mat = await cmm.getEncryptionMaterials(req());
await m('getEncryptionInfo', () => getEncryptionInfo(mat, 1024));
const pt = Buffer.from(JSON.stringify({ subject: 'r-123', field: 'patientName', value: 'John Doe' }));
await m('info+frame', () => { const { getCipher, messageHeader, rawHeader } = getEncryptionInfo(mat, 1024);
  const frame = getEncryptFrame({ pendingFrame: { content: [pt], contentLength: pt.length, sequenceNumber: 1 }, messageHeader, getCipher, isFinalFrame: true, suite: mat.suite });
  return Buffer.concat([...rawHeader, frame.bodyHeader, frame.cipher.update(pt), frame.cipher.final(), frame.cipher.getAuthTag()]).toString('base64'); });
