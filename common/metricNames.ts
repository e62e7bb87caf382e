/**
 * The metric names and namespace that the gateway, the consumer, the alarms, the dashboard and the tests
 * share. Each name is defined here once and imported everywhere else, so a rename cannot silently leave an
 * alarm watching a metric nobody emits.
 */

/** Default CloudWatch namespace of every metric of the gateway and the consumer. */
export const DEFAULT_METRICS_NAMESPACE = 'ResourceGateway';

/** Names of the gateway's metrics (EMF, dimension `service=gateway`). */
export const GATEWAY_METRICS = {
  requests: 'Requests',
  /** Requests refused 503 `GATEWAY_BUSY` by the body budget: load shed, counted apart from `Requests`. */
  gatewayBusy: 'GatewayBusy',
  requestLatency: 'RequestLatency',
  recordsPerPutRecords: 'RecordsPerPutRecords',
  putRecordsLatency: 'PutRecordsLatency',
  putRecordsRetries: 'PutRecordsRetries',
  statusWriteFailures: 'StatusWriteFailures',
  spoolFallbacks: 'SpoolFallbacks',
  spoolDepth: 'SpoolDepth',
  spoolOldestAgeMs: 'SpoolOldestAgeMs',
  spoolReplayed: 'SpoolReplayed',
  /** Records lost to a damaged spool frame (checksum failed on replay). */
  spoolRecordsLost: 'SpoolRecordsLost',
} as const;

/** Names of the consumer's metrics (EMF, dimension `service=consumer`). */
export const CONSUMER_METRICS = {
  processed: 'RecordsProcessed',
  failed: 'RecordsFailed',
  duplicates: 'DuplicatesSkipped',
  endToEndAge: 'EndToEndAgeMs',
  /** Records reported in `batchItemFailures` (a transient failure, or behind one): they will be delivered again. */
  heldBack: 'RecordsHeldBack',
} as const;

/** The `service` dimension value of each component's metrics. */
export const METRICS_SERVICE = { gateway: 'gateway', consumer: 'consumer' } as const;
