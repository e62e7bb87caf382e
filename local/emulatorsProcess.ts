import * as v from 'valibot';
import { LOCAL_DEFAULTS } from '../common/localDefaults';
import { envBool, envInt, envNonEmpty, parseEnv } from '../common/env';
import { startEmulators } from './emulators';

/**
 * The local stack's emulator process: kinesalite and dynalite, state under DATA_DIR. A request its client
 * aborts, or a malformed body, is logged on stderr and dropped; the emulators keep serving.
 * Prints one JSON line `{"ready":true,...}` when both listen.
 *
 * Environment: DATA_DIR (.data); LOCAL_KINESIS_PORT (4567) and LOCAL_DYNAMODB_PORT (4568), 0 for free ports;
 * LOCAL_LAUNCHER (set by `npm start`).
 */
const EnvSchema = v.object({
  DATA_DIR: v.optional(envNonEmpty, LOCAL_DEFAULTS.dataDir),
  LOCAL_KINESIS_PORT: v.optional(envInt(0, 65535), String(LOCAL_DEFAULTS.kinesisPort)),
  LOCAL_DYNAMODB_PORT: v.optional(envInt(0, 65535), String(LOCAL_DEFAULTS.dynamoPort)),
  LOCAL_LAUNCHER: v.optional(envBool, 'false'),
});
const env = parseEnv(EnvSchema, process.env, (m) => new Error(`invalid emulators configuration: ${m}`));

const emulators = await startEmulators({ kinesisPort: env.LOCAL_KINESIS_PORT, dynamoPort: env.LOCAL_DYNAMODB_PORT, dataDir: env.DATA_DIR });
process.stdout.write(`${JSON.stringify({ ready: true, kinesis: emulators.kinesisEndpoint, dynamodb: emulators.dynamoEndpoint, dataDir: env.DATA_DIR })}\n`);
const stop = async () => {
  await emulators.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
// Under `npm start`, Ctrl-C reaches the whole process group at once: the emulators wait for the launcher's
// SIGTERM, which comes after the gateway and the consumer have drained into them.
process.on('SIGINT', () => {
  if (!env.LOCAL_LAUNCHER) void stop();
});
