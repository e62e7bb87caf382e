import { startEmulators } from './emulators';

/**
 * The local stack's emulator process: kinesalite and dynalite on fixed ports, state under DATA_DIR.
 * Prints one JSON line `{"ready":true,...}` when both listen.
 */
const dataDir = process.env.DATA_DIR || '.data';
const emulators = await startEmulators({
  kinesisPort: Number(process.env.LOCAL_KINESIS_PORT || 4567),
  dynamoPort: Number(process.env.LOCAL_DYNAMODB_PORT || 4568),
  dataDir,
});
process.stdout.write(`${JSON.stringify({ ready: true, kinesis: emulators.kinesisEndpoint, dynamodb: emulators.dynamoEndpoint, dataDir })}\n`);
const stop = async () => {
  await emulators.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
// Under `npm start`, Ctrl-C reaches the whole process group at once: the emulators wait for the launcher's
// SIGTERM, which comes after the gateway and the consumer have drained into them.
process.on('SIGINT', () => {
  if (process.env.LOCAL_LAUNCHER !== '1') void stop();
});
