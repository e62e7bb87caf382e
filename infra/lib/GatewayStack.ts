import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { ConsumerStub } from './ConsumerStub';
import { FieldEncryptionKey } from './FieldEncryptionKey';
import { GatewayService, type SpoolVolume } from './GatewayService';
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
  /** @default - not checked */
  readonly jwtIssuer?: string;
  /** @default - not checked */
  readonly jwtAudience?: string;
  /** @default - HTTP only */
  readonly certificateArn?: string;
  /** @default 2 */
  readonly desiredCount?: number;
  /** @default 100 */
  readonly consumerBatchSize?: number;
  /** @default 1 */
  readonly consumerParallelizationFactor?: number;
  /** @default 'efs' */
  readonly spoolVolume?: SpoolVolume;
  /** @default - none */
  readonly sensitiveFields?: string[];
  /** @default 'ResourceGateway' */
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
  public readonly resources: ResourcesTable;
  public readonly fieldKey: FieldEncryptionKey;
  public readonly gateway: GatewayService;
  public readonly consumer: ConsumerStub;
  public readonly monitoring: StreamMonitoring;

  constructor(scope: Construct, id: string, props: GatewayStackProps = {}) {
    super(scope, id, props);
    const metricsNamespace = props.metricsNamespace ?? 'ResourceGateway';

    this.operations = new OperationsStream(this, 'Operations', {
      shardCount: props.shardCount,
      retention: Duration.hours(props.retentionHours ?? 24),
    });
    this.status = new StatusTable(this, 'Status');
    this.resources = new ResourcesTable(this, 'Resources');
    this.fieldKey = new FieldEncryptionKey(this, 'FieldKey');

    this.gateway = new GatewayService(this, 'Gateway', {
      stream: this.operations.stream,
      statusTable: this.status.table,
      fieldEncryptionKey: this.fieldKey,
      auth: { jwksUrl: props.jwtJwksUrl, issuer: props.jwtIssuer, audience: props.jwtAudience },
      certificate: props.certificateArn
        ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)
        : undefined,
      desiredCount: props.desiredCount,
      spoolVolume: props.spoolVolume,
      sensitiveFields: props.sensitiveFields,
      metricsNamespace,
      image: props.gatewayImage,
    });

    this.consumer = new ConsumerStub(this, 'Consumer', {
      stream: this.operations.stream,
      streamRetention: this.operations.retention,
      statusTable: this.status.table,
      resourcesTable: this.resources.table,
      fieldEncryptionKey: this.fieldKey,
      batchSize: props.consumerBatchSize,
      parallelizationFactor: props.consumerParallelizationFactor,
      metricsNamespace,
      entry: props.consumerEntry,
    });

    this.monitoring = new StreamMonitoring(this, 'Monitoring', {
      stream: this.operations.stream,
      consumerFunction: this.consumer.function,
      onFailureQueue: this.consumer.onFailureQueue,
      loadBalancer: this.gateway.service.loadBalancer,
      targetGroup: this.gateway.service.targetGroup,
      gatewayService: this.gateway.service.service,
      alarmEmail: props.alarmEmail,
      metricsNamespace,
    });

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
