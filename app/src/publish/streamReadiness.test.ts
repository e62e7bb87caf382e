import { DeleteStreamCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../../common/awsClients';
import { startEmulators, type Emulators } from '../../../local/emulators';
import { freePort } from '../../../test/freePort';
import { ensureStream } from './ensureStream';
import { streamReadiness } from './streamReadiness';

let emulators: Emulators;
let kinesis: KinesisClient;
beforeAll(async () => {
  emulators = await startEmulators();
  kinesis = createKinesisClient({ region: 'us-east-1', endpoint: emulators.kinesisEndpoint, maxAttempts: 1 });
});
afterAll(async () => {
  kinesis.destroy();
  await emulators.close();
});

describe('streamReadiness', () => {
  it('is ready when the stream is ACTIVE', async () => {
    await ensureStream(kinesis, 'ready-active', 1);
    expect(await streamReadiness(kinesis, 'ready-active')()).toEqual({ ready: true, stream: 'ready-active', streamStatus: 'ACTIVE' });
  });

  it('is not ready when the stream does not exist', async () => {
    expect(await streamReadiness(kinesis, 'ready-missing')()).toEqual({ ready: false, stream: 'ready-missing' });
  });

  it('is not ready when Kinesis does not answer', async () => {
    const nowhere = createKinesisClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1 });
    expect(await streamReadiness(nowhere, 'ready-active')()).toEqual({ ready: false, stream: 'ready-active' });
    nowhere.destroy();
  });

  it('answers from its cache within ttlMs, and asks again after it', async () => {
    await ensureStream(kinesis, 'ready-cached', 1);
    let now = 0;
    const probe = streamReadiness(kinesis, 'ready-cached', 2000, () => now);
    expect((await probe()).ready).toBe(true);
    await kinesis.send(new DeleteStreamCommand({ StreamName: 'ready-cached' }));
    now = 1999;
    expect((await probe()).ready).toBe(true);
    now = 2000;
    expect((await probe()).ready).toBe(false);
  });
});
