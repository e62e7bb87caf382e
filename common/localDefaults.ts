/**
 * What an unconfigured run uses: the gateway's and the local consumer's defaults and the local stack's
 * names and ports, in one place, so that `npm start`, `npm run gateway`, the local consumer and
 * `npm run kinesis:check` agree without each repeating them. In AWS every one of these is configured.
 */
export const LOCAL_DEFAULTS = {
  region: 'us-east-1',
  streamName: 'resources-operations',
  shardCount: 1,
  statusTableName: 'operation-status',
  idempotencyTableName: 'idempotency-keys',
  resourcesTableName: 'resources',
  /** State of the local stack (emulators, spool, checkpoints, field key), relative to the working directory. */
  dataDir: '.data',
  gatewayPort: 3000,
  kinesisPort: 4567,
  dynamoPort: 4568,
} as const;
