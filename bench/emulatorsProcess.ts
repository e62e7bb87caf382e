import type { IncomingMessage } from 'node:http';
import { startEmulators } from '../local/emulators';

/**
 * The bench's emulator process: the local stack's emulators (local/emulators.ts) in memory (no LevelDB on
 * disk, so they cost as little CPU as they can on the shared cores), in a process of their own so they share
 * neither the bench's nor the gateway's event loop.
 *
 * It counts the calls it receives by `X-Amz-Target` (PutRecords, PutRecord, BatchWriteItem, PutItem, ...):
 * the exact number of PutRecords calls for the price of reading one header, where a counting proxy would add
 * an HTTP hop and its CPU. The parent asks over IPC: send `'counts'`, receive `{ counts }`.
 * Prints one JSON line `{"ready":true,...}` when both listen.
 */
const counts: Record<string, number> = {};
function count(_emulator: string, req: IncomingMessage): void {
  const target = req.headers['x-amz-target'];
  if (typeof target !== 'string') return;
  const op = target.slice(target.indexOf('.') + 1);
  counts[op] = (counts[op] ?? 0) + 1;
}

const emulators = await startEmulators({
  kinesisPort: Number(process.env.LOCAL_KINESIS_PORT || 0),
  dynamoPort: Number(process.env.LOCAL_DYNAMODB_PORT || 0),
  onRequest: count,
});

process.on('message', (m) => {
  if (m === 'counts') process.send?.({ counts: { ...counts } });
});
// The bench holds the IPC channel; if it dies without killing us, we go too.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true, kinesis: emulators.kinesisEndpoint, dynamodb: emulators.dynamoEndpoint })}\n`);
