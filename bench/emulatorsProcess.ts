import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';

/**
 * The bench's emulator process: kinesalite and dynalite in memory (no LevelDB on disk, so they cost as little
 * CPU as they can on the shared cores), in a process of their own so they share neither the bench's nor the
 * gateway's event loop. Same options as `local/emulators.ts`; built here because the bench needs the servers.
 *
 * It counts the calls it receives by `X-Amz-Target` (PutRecords, PutRecord, BatchWriteItem, PutItem, ...):
 * the exact number of PutRecords calls for the price of reading one header, where a counting proxy would add
 * an HTTP hop and its CPU. The parent asks over IPC: send `'counts'`, receive `{ counts }`.
 * Prints one JSON line `{"ready":true,...}` when both listen.
 */
const counts: Record<string, number> = {};
function count(req: IncomingMessage): void {
  const target = req.headers['x-amz-target'];
  if (typeof target !== 'string') return;
  const op = target.slice(target.indexOf('.') + 1);
  counts[op] = (counts[op] ?? 0) + 1;
}

async function listen(server: Server, port: number): Promise<string> {
  server.prependListener('request', count);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const kinesis = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const kinesisEndpoint = await listen(kinesis, Number(process.env.LOCAL_KINESIS_PORT || 0));
const dynamoEndpoint = await listen(dynamo, Number(process.env.LOCAL_DYNAMODB_PORT || 0));

process.on('message', (m) => {
  if (m === 'counts') process.send?.({ counts: { ...counts } });
});
// The bench holds the IPC channel; if it dies without killing us, we go too.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true, kinesis: kinesisEndpoint, dynamodb: dynamoEndpoint })}\n`);
