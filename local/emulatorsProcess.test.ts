import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from '../common/awsClients';
import { ensureStream, tableInput } from './provision';

const ENTRY = fileURLToPath(new URL('./emulatorsProcess.ts', import.meta.url));

let child: ChildProcess;
let endpoints: { kinesis: string; dynamodb: string };
const warnings: { emulator: string; error: string }[] = [];
let warned: () => void = () => {};

beforeAll(async () => {
  const env = { ...process.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'emulators-')), LOCAL_KINESIS_PORT: '0', LOCAL_DYNAMODB_PORT: '0' };
  child = spawn(process.execPath, ['--import', 'tsx', ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stderr! }).on('line', (l) => {
    if (!l.includes('request failed mid-body')) return;
    warnings.push(JSON.parse(l));
    warned();
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  endpoints = JSON.parse(line);
});
afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

/** Resolves once `count` mid-body failures have been logged; rejects if the process exits first. */
function warningsReach(count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the emulators exited (${code})`)));
    warned = () => warnings.length >= count && resolve();
    warned();
  });
}

/**
 * Opens a raw connection, sends a request's headers and waits for `100 Continue` (the server has handed the
 * request to the emulator), then sends `body` and destroys the socket.
 */
async function cutOff(endpoint: string, target: string, headers: string, body: string): Promise<void> {
  const { hostname, port } = new URL(endpoint);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(
    `POST / HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: ${target}\r\n` +
      `Expect: 100-continue\r\n${headers}\r\n`,
  );
  await once(socket, 'data');
  socket.write(body);
  socket.destroy();
}

describe('the emulators process', () => {
  it('survives uploads cut off mid-body and malformed chunked bodies, then serves Kinesis and DynamoDB', async () => {
    const half = `{"StreamName":"s","Records":[{"Data":"${'A'.repeat(400)}`;
    await cutOff(endpoints.kinesis, 'Kinesis_20131202.PutRecords', 'Content-Length: 1000\r\n', half);
    await cutOff(endpoints.dynamodb, 'DynamoDB_20120810.PutItem', 'Content-Length: 1000\r\n', half);
    await cutOff(endpoints.kinesis, 'Kinesis_20131202.PutRecords', 'Transfer-Encoding: chunked\r\n', 'zz\r\nnot a chunk\r\n');
    await cutOff(endpoints.dynamodb, 'DynamoDB_20120810.PutItem', 'Transfer-Encoding: chunked\r\n', 'zz\r\nnot a chunk\r\n');
    await warningsReach(4);
    expect(warnings.map((w) => w.emulator).sort()).toEqual(['dynamodb', 'dynamodb', 'kinesis', 'kinesis']);
    expect(child.exitCode).toBeNull();

    const kinesis = createKinesisClient({ region: 'us-east-1', endpoint: endpoints.kinesis });
    await ensureStream(kinesis, 'after-aborts', 1);
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: 'after-aborts', Records: [{ PartitionKey: 'k', Data: Buffer.from('still serving') }] }),
    );
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: 'after-aborts', ShardId: put.Records![0]!.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const read = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    expect(read.Records!.map((r) => Buffer.from(r.Data!).toString())).toEqual(['still serving']);
    kinesis.destroy();

    const dynamo = createDynamoClient({ region: 'us-east-1', endpoint: endpoints.dynamodb });
    await (dynamo as unknown as DynamoDBClient).send(new CreateTableCommand(tableInput('after-aborts', { partitionKey: 'pk', sortKey: 'sk' })));
    await dynamo.send(new PutCommand({ TableName: 'after-aborts', Item: { pk: 'p', sk: 's', text: 'still serving' } }));
    const got = await dynamo.send(new GetCommand({ TableName: 'after-aborts', Key: { pk: 'p', sk: 's' } }));
    expect(got.Item).toEqual({ pk: 'p', sk: 's', text: 'still serving' });
    dynamo.destroy();
    expect(child.exitCode).toBeNull();
  });
});
