import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { ConsumerStub } from './ConsumerStub';
import { FieldEncryptionKey } from './FieldEncryptionKey';
import { DEFAULT_METRICS_NAMESPACE } from '../../common/metricNames';
import type { Egress } from './GatewayNetwork';
import { GatewayService, type SpoolVolume } from './GatewayService';
import { IdempotencyTable } from './IdempotencyTable';
import { OperationsStream } from './OperationsStream';
import { ResourcesTable } from './ResourcesTable';
import { StatusTable } from './StatusTable';
import { StreamMonitoring } from './StreamMonitoring';

export interface GatewayStackProps extends StackProps {
  /** @default 'on-demand' */
  readonly shardCount?: number | 'on-demand';
  /** @default 24 */
  readonly retentionHours?: number;
  /** @default - no e-mail subscription */
  readonly alarmEmail?: string;
  /** @default - secret mode (HS256 with a generated Secrets Manager secret) */
  readonly jwtJwksUrl?: string;
  /** Required in JWKS mode. @default - not checked in secret mode */
  readonly jwtIssuer?: string;
  /** Required in JWKS mode unless `jwtAllowAnyAudience`. @default - not checked in secret mode */
  readonly jwtAudience?: string;
  /** JWKS mode without `jwtAudience`, for providers whose tokens carry none. @default false */
  readonly jwtAllowAnyAudience?: boolean;
  /** @default 'endpoints' */
  readonly egress?: Egress;
  /** @default - HTTP only */
  readonly certificateArn?: string;
  /** @default 2 */
  readonly desiredCount?: number;
  /** @default CONSUMER_SETTINGS.batchSize */
  readonly consumerBatchSize?: number;
  /** @default CONSUMER_SETTINGS.parallelizationFactor */
  readonly consumerParallelizationFactor?: number;
  /** The consumer reads through an enhanced fan-out consumer of its own. @default false */
  readonly consumerFanOut?: boolean;
  /** @default 'efs' */
  readonly spoolVolume?: SpoolVolume;
  /** @default - none */
  readonly sensitiveFields?: string[];
  /** @default DEFAULT_METRICS_NAMESPACE */
  readonly metricsNamespace?: string;
  /**
   * The gateway image; tests pass a prebuilt one.
   * @default - built from app/Dockerfile
   */
  readonly gatewayImage?: ecs.ContainerImage;
  /** @default consumer-stub/src/handler.ts */
  readonly consumerEntry?: string;
}

/**
 * The resource gateway: stream, tables, keys, the gateway service, the consumer stub and their monitoring.
 * It only composes the constructs of this folder.
 */
export class GatewayStack extends Stack {
  public readonly operations: OperationsStream;
  public readonly status: StatusTable;
  public readonly idempotency: IdempotencyTable;
  public readonly resources: ResourcesTable;
  public readonly fieldKey: FieldEncryptionKey;
  public readonly gateway: GatewayService;
  public readonly consumer: ConsumerStub;
  public readonly monitoring: StreamMonitoring;

  constructor(scope: Construct, id: string, props: GatewayStackProps = {}) {
    super(scope, id, props);
    const metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    this.operations = new OperationsStream(this, 'Operations', {
      shardCount: props.shardCount,
      retention: Duration.hours(props.retentionHours ?? 24),
    });
    this.status = new StatusTable(this, 'Status');
    this.idempotency = new IdempotencyTable(this, 'Idempotency');
    this.resources = new ResourcesTable(this, 'Resources');
    this.fieldKey = new FieldEncryptionKey(this, 'FieldKey');
    this.gateway = this.#buildGateway(props, metricsNamespace);
    this.consumer = this.#buildConsumer(props, metricsNamespace);
    this.monitoring = this.#buildMonitoring(props, metricsNamespace);
    this.#addOutputs();
  }

  #buildGateway(props: GatewayStackProps, metricsNamespace: string): GatewayService {
    return new GatewayService(this, 'Gateway', {
      stream: this.operations.stream,
      statusTable: this.status.table,
      idempotencyTable: this.idempotency.table,
      fieldEncryptionKey: this.fieldKey,
      auth: {
        jwksUrl: props.jwtJwksUrl,
        issuer: props.jwtIssuer,
        audience: props.jwtAudience,
        allowAnyAudience: props.jwtAllowAnyAudience,
      },
      egress: props.egress,
      certificate: props.certificateArn
        ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)
        : undefined,
      desiredCount: props.desiredCount,
      spoolVolume: props.spoolVolume,
      sensitiveFields: props.sensitiveFields,
      metricsNamespace,
      image: props.gatewayImage,
    });
  }

  #buildConsumer(props: GatewayStackProps, metricsNamespace: string): ConsumerStub {
    return new ConsumerStub(this, 'Consumer', {
      stream: this.operations.stream,
      streamRetention: this.operations.retention,
      statusTable: this.status.table,
      resourcesTable: this.resources.table,
      fieldEncryptionKey: this.fieldKey,
      batchSize: props.consumerBatchSize,
      parallelizationFactor: props.consumerParallelizationFactor,
      fanOut: props.consumerFanOut,
      metricsNamespace,
      entry: props.consumerEntry,
    });
  }

  #buildMonitoring(props: GatewayStackProps, metricsNamespace: string): StreamMonitoring {
    return new StreamMonitoring(this, 'Monitoring', {
      stream: this.operations.stream,
      consumerFunction: this.consumer.function,
      streamConsumer: this.consumer.streamConsumer,
      onFailureQueue: this.consumer.onFailureQueue,
      loadBalancer: this.gateway.service.loadBalancer,
      targetGroup: this.gateway.service.targetGroup,
      gatewayService: this.gateway.service.service,
      gatewayCluster: this.gateway.cluster,
      alarmEmail: props.alarmEmail,
      metricsNamespace,
    });
  }

  #addOutputs(): void {
    new CfnOutput(this, 'GatewayUrl', { value: this.gateway.url, description: 'Base URL of the gateway' });
    new CfnOutput(this, 'DashboardUrl', { value: this.monitoring.dashboardUrl, description: 'CloudWatch dashboard' });
    new CfnOutput(this, 'StreamName', { value: this.operations.stream.streamName, description: 'Kinesis stream' });
    if (this.gateway.jwtSecret) {
      new CfnOutput(this, 'JwtSecretArn', {
        value: this.gateway.jwtSecret.secretArn,
        description: 'HS256 secret token issuers sign with',
      });
    }
  }
}
