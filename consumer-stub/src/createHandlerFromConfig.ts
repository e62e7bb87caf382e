import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoClient } from '../../common/awsClients';
import { createFieldDecryptor } from '../../common/fieldEncryption/FieldDecryptor';
import { keyringFor } from '../../common/fieldEncryption/keyrings';
import { METRICS_SERVICE } from '../../common/metricNames';
import type { ConsumerConfig } from './config';
import { createHandler, type ConsumerHandler, type DecryptFields } from './createHandler';
import { createDecryptFields } from './decryptFields';
import { DYNAMODB_CALL } from './eventSourceSettings';
import { ResourceStore } from './ResourceStore';
import { StatusRecorder } from './StatusRecorder';

/** Overrides for the wiring, for the local stack and tests. */
export interface WiringOverrides {
  dynamo?: DynamoDBDocumentClient;
  logger?: Logger;
  decryptFields?: DecryptFields;
}

/** Wires real clients from configuration: the Lambda entry and the local consumer process both use it. */
export function createHandlerFromConfig(config: ConsumerConfig, overrides: WiringOverrides = {}): ConsumerHandler {
  const dynamo = overrides.dynamo ?? createDynamoClient({ region: config.region, endpoint: config.dynamoEndpoint, ...DYNAMODB_CALL });
  const logger = overrides.logger ?? new Logger({ serviceName: 'consumer', logLevel: config.logLevel });
  const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: METRICS_SERVICE.consumer });
  // Always a decryption step: without a key it refuses records with encrypted fields instead of storing ciphertexts.
  const decryptFields =
    overrides.decryptFields ??
    createDecryptFields(config.fieldEncryption ? createFieldDecryptor({ keyring: keyringFor(config.fieldEncryption) }) : undefined);
  return createHandler({
    store: new ResourceStore({
      client: dynamo,
      tableName: config.resourcesTableName,
      tombstoneRetentionSeconds: config.statusRetentionSeconds,
    }),
    status: new StatusRecorder({
      client: dynamo,
      tableName: config.statusTableName,
      retentionSeconds: config.statusRetentionSeconds,
    }),
    logger,
    metrics,
    decryptFields,
  });
}
