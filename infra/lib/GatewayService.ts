import { fileURLToPath } from 'node:url';
import { Annotations, Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IDependable } from 'constructs';
import { bodyBudgetBytesFor } from '../../app/src/admission/BodyBudget';
import { DEFAULT_METRICS_NAMESPACE } from '../../common/metricNames';
import { stopTimeoutSeconds } from '../../common/shutdownBudget';
import { GatewayNetwork, type Egress } from './GatewayNetwork';
import { IDEMPOTENCY_GATEWAY_ACTIONS } from './IdempotencyTable';
import { STATUS_GATEWAY_ACTIONS } from './StatusTable';
import type { FieldEncryptionKey } from './FieldEncryptionKey';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The port the gateway container listens on. */
export const GATEWAY_PORT = 3000;
/** Where the gateway keeps its spool; an EFS volume is mounted here when `spoolVolume` is `'efs'`. */
export const SPOOL_DIR = '/var/spool/gateway';

/** The task's memory; the gateway's request-body budget is derived from it. */
export const TASK_MEMORY_MIB = 2048;

/** Where the gateway's spool lives: the task's own disk, or an EFS file system that outlives the task. */
export type SpoolVolume = 'ephemeral' | 'efs';

export interface GatewayAuthProps {
  /**
   * JWKS URL for RS256/ES256 tokens. Without it, the gateway verifies HS256 tokens with a secret generated in
   * Secrets Manager and injected as an ECS secret. With it, `issuer` and `audience` are required.
   * @default - secret mode
   */
  readonly jwksUrl?: string;
  /** Required `iss` claim; required in JWKS mode. @default - not checked in secret mode */
  readonly issuer?: string;
  /** Required `aud` claim; required in JWKS mode unless `allowAnyAudience`. @default - not checked in secret mode */
  readonly audience?: string;
  /**
   * JWKS mode without an audience: for identity providers whose tokens carry none (Cognito access tokens).
   * Every token the issuer mints for any application is then accepted.
   * @default false
   */
  readonly allowAnyAudience?: boolean;
}

export interface GatewayServiceProps {
  /** The stream the gateway writes operations to; it may only put records and describe the stream. */
  readonly stream: kinesis.IStream;
  /** The status table; the gateway writes `accepted` items and reads statuses. */
  readonly statusTable: dynamodb.ITable;
  /** The idempotency table; the gateway keeps `Idempotency-Key` records there. */
  readonly idempotencyTable: dynamodb.ITable;
  /** The key of encrypted fields; the gateway may only generate data keys with it. */
  readonly fieldEncryptionKey: FieldEncryptionKey;
  /** @default - secret mode */
  readonly auth?: GatewayAuthProps;
  /**
   * An ACM certificate for an HTTPS listener on 443 (HTTP on 80 redirects to it).
   * @default - plain HTTP on port 80, with a synth-time warning
   */
  readonly certificate?: acm.ICertificate;
  /**
   * How the tasks reach AWS APIs from their private subnets ({@link GatewayNetwork}).
   * @default 'endpoints'
   */
  readonly egress?: Egress;
  /**
   * Tasks running normally; autoscaling never goes below it.
   * @default 2
   */
  readonly desiredCount?: number;
  /**
   * Upper bound for autoscaling.
   * @default 5 times desiredCount
   */
  readonly maxCount?: number;
  /**
   * Where the spool lives. `'efs'`: a file system all tasks share, so operations spooled during a Kinesis
   * outage survive the task (a scale-in, a deployment, a lost host) and are replayed by another task.
   * `'ephemeral'`: the task's own disk, cheaper, but a task stopped before its spool drained takes what it held.
   * @default 'efs'
   */
  readonly spoolVolume?: SpoolVolume;
  /**
   * Top-level fields of `data` encrypted before they reach the stream.
   * @default - none
   */
  readonly sensitiveFields?: string[];
  /**
   * Days a status item is kept.
   * @default 7
   */
  readonly statusRetentionDays?: number;
  /** @default 'info' */
  readonly logLevel?: string;
  /**
   * CloudWatch namespace of the gateway's embedded-format metrics.
   * @default DEFAULT_METRICS_NAMESPACE
   */
  readonly metricsNamespace?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The gateway image.
   * @default - built from app/Dockerfile with the repository root as context (its `.dockerignore` applies)
   */
  readonly image?: ecs.ContainerImage;
}

/**
 * The gateway: a Fargate service behind an Application Load Balancer, with `/health` checks, a deployment
 * circuit breaker that rolls back, autoscaling on CPU and on requests per target, a stop timeout longer
 * than the server's drain, and logs with retention. Its tasks start only once their network and spool are.
 */
export class GatewayService extends Construct {
  public readonly network: GatewayNetwork;
  public readonly cluster: ecs.Cluster;
  public readonly service: ecsPatterns.ApplicationLoadBalancedFargateService;
  public readonly taskRole: iam.Role;
  public readonly container: ecs.ContainerDefinition;
  public readonly logGroup: logs.LogGroup;
  /** The generated HS256 secret, in secret mode. */
  public readonly jwtSecret?: secretsmanager.Secret;
  /** The spool's file system, when `spoolVolume` is `'efs'`. */
  public readonly spoolFileSystem?: efs.FileSystem;
  /** The gateway's base URL (the load balancer's DNS name). */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: GatewayServiceProps) {
    super(scope, id);
    const auth = validateAuth(props.auth ?? {});
    const spoolVolume = props.spoolVolume ?? 'efs';

    this.network = new GatewayNetwork(this, 'Network', { egress: props.egress, internetAccess: Boolean(auth.jwksUrl) });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.network.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.taskRole = new iam.Role(this, 'TaskRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    const taskDefinition = this.#buildTaskDefinition();
    this.jwtSecret = auth.jwksUrl ? undefined : this.#buildJwtSecret();
    this.container = this.#buildContainer(taskDefinition, props, auth, spoolVolume);
    this.service = this.#buildLoadBalancedService(taskDefinition, props);
    this.#configureTargetsAndScaling(props);
    this.spoolFileSystem = spoolVolume === 'efs' ? this.#buildEfsSpool(taskDefinition) : undefined;
    this.network.allowEndpointsFrom(this.service.service);
    this.#startAfter(this.network.egressReady, ...(this.spoolFileSystem ? [this.spoolFileSystem] : []));
    this.#grantTaskRole(props);
    this.url = `${props.certificate ? 'https' : 'http'}://${this.service.loadBalancer.loadBalancerDnsName}`;
  }

  #buildTaskDefinition(): ecs.FargateTaskDefinition {
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: 1024,
      memoryLimitMiB: TASK_MEMORY_MIB,
      // x86_64 builds natively on the common CI runners; the bundle is plain JS, so ARM64 is a two-line change.
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: this.taskRole,
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The plain environment holds only names, ARNs and tuning values; the one secret (JWT_SECRET) is injected from Secrets Manager.',
    });
    Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken, added by CDK for pulling the image, has no resource-level permissions.',
    });
    return taskDefinition;
  }

  #buildJwtSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'JwtSecret', {
      description: 'HS256 key the gateway verifies bearer tokens with; token issuers sign with it',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'An HS256 key shared with token issuers cannot rotate without them; rotate by re-deploying, or use JWKS mode (jwtJwksUrl), whose keys rotate at the issuer.',
    });
    return secret;
  }

  #buildContainer(
    taskDefinition: ecs.FargateTaskDefinition,
    props: GatewayServiceProps,
    auth: GatewayAuthProps,
    spoolVolume: SpoolVolume,
  ): ecs.ContainerDefinition {
    return taskDefinition.addContainer('gateway', {
      image:
        props.image ??
        // The context is the repository root; its .dockerignore (an allowlist, which CDK reads too) decides what enters.
        ecs.ContainerImage.fromAsset(REPO_ROOT, { file: 'app/Dockerfile', platform: Platform.LINUX_AMD64 }),
      portMappings: [{ containerPort: GATEWAY_PORT }],
      environment: {
        PORT: String(GATEWAY_PORT),
        LOG_LEVEL: props.logLevel ?? 'info',
        AWS_REGION: Stack.of(this).region,
        KINESIS_STREAM_NAME: props.stream.streamName,
        STATUS_TABLE_NAME: props.statusTable.tableName,
        IDEMPOTENCY_TABLE_NAME: props.idempotencyTable.tableName,
        STATUS_RETENTION_DAYS: String(props.statusRetentionDays ?? 7),
        SPOOL_DIR,
        // On EFS every task mounts the same directory: each spools in its own subdirectory and adopts dead tasks'.
        ...(spoolVolume === 'efs' ? { SPOOL_SHARED: 'true' } : {}),
        SENSITIVE_FIELDS: (props.sensitiveFields ?? []).join(','),
        FIELD_ENCRYPTION_KEY_ARN: props.fieldEncryptionKey.key.keyArn,
        METRICS_NAMESPACE: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
        GATEWAY_BODY_BUDGET_BYTES: String(bodyBudgetBytesFor(TASK_MEMORY_MIB)),
        ...(auth.jwksUrl ? { JWT_JWKS_URL: auth.jwksUrl } : {}),
        ...(auth.issuer ? { JWT_ISSUER: auth.issuer } : {}),
        ...(auth.audience ? { JWT_AUDIENCE: auth.audience } : {}),
      },
      secrets: this.jwtSecret ? { JWT_SECRET: ecs.Secret.fromSecretsManager(this.jwtSecret) } : {},
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'gateway',
        logGroup: this.logGroup,
        // Non-blocking: a slow CloudWatch Logs must not stall stdout and with it the event loop.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      // The server's HTTP drain, its spool drain (the image's default SPOOL_DRAIN_MS) and a margin, before SIGKILL.
      stopTimeout: Duration.seconds(stopTimeoutSeconds()),
      // An init process as PID 1 forwards SIGTERM and reaps children.
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
    });
  }

  #buildLoadBalancedService(
    taskDefinition: ecs.FargateTaskDefinition,
    props: GatewayServiceProps,
  ): ecsPatterns.ApplicationLoadBalancedFargateService {
    const service = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition,
      desiredCount: props.desiredCount ?? 2,
      publicLoadBalancer: true,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      ...(props.certificate
        ? {
            certificate: props.certificate,
            protocol: elbv2.ApplicationProtocol.HTTPS,
            redirectHTTP: true,
            sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
          }
        : { protocol: elbv2.ApplicationProtocol.HTTP }),
    });
    if (!props.certificate) {
      Annotations.of(this).addWarningV2(
        'resource-gateway:http-listener',
        'No certificateArn: the gateway listens on plain HTTP, so bearer tokens cross the internet unencrypted. ' +
          'Pass -c certificateArn=arn:aws:acm:... for an HTTPS listener.',
      );
    }
    const loadBalancer = service.loadBalancer;
    loadBalancer.setAttribute('routing.http.drop_invalid_header_fields.enabled', 'true');
    loadBalancer.logAccessLogs(this.#buildAccessLogBucket());
    Validations.of(loadBalancer).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'A public API: clients reach the load balancer from anywhere on its listener ports; tasks accept traffic only from it.',
    });
    return service;
  }

  #configureTargetsAndScaling(props: GatewayServiceProps): void {
    const desiredCount = props.desiredCount ?? 2;
    const targetGroup = this.service.targetGroup;
    targetGroup.configureHealthCheck({
      path: '/health',
      healthyHttpCodes: '200',
      interval: Duration.seconds(15),
      timeout: Duration.seconds(5),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 3,
    });
    // ECS sends SIGTERM only after deregistration: 30 s lets in-flight requests (at most ~3 s, the spool
    // fallback bound) and idle keep-alive connections end first, without slowing deployments by minutes.
    targetGroup.setAttribute('deregistration_delay.timeout_seconds', '30');

    const scaling = this.service.service.autoScaleTaskCount({
      minCapacity: desiredCount,
      maxCapacity: props.maxCount ?? desiredCount * 5,
    });
    // 60%: one Node process per task; headroom for GC and for a neighbour task failing.
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
    // 60,000 per minute is 1,000 req/s per task, well under the ~1.6k req/s a core serves unbatched.
    scaling.scaleOnRequestCount('Requests', { requestsPerTarget: 60_000, targetGroup });
  }

  #buildAccessLogBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // the only encryption ALB log delivery supports
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket only receives the load balancer access logs; logging access to the log bucket would need another bucket for the same purpose.',
    });
    return bucket;
  }

  #buildEfsSpool(taskDefinition: ecs.FargateTaskDefinition): efs.FileSystem {
    const fileSystem = new efs.FileSystem(this, 'Spool', {
      vpc: this.network.vpc,
      encrypted: true,
      throughputMode: efs.ThroughputMode.ELASTIC,
      // Holds acknowledged operations not yet on the stream: never deleted with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // uid/gid 1000 is the image's `node` user.
    const accessPoint = fileSystem.addAccessPoint('SpoolAccessPoint', {
      path: '/spool',
      posixUser: { uid: '1000', gid: '1000' },
      createAcl: { ownerUid: '1000', ownerGid: '1000', permissions: '750' },
    });
    taskDefinition.addVolume({
      name: 'spool',
      efsVolumeConfiguration: {
        fileSystemId: fileSystem.fileSystemId,
        transitEncryption: 'ENABLED',
        authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
      },
    });
    this.container.addMountPoints({ sourceVolume: 'spool', containerPath: SPOOL_DIR, readOnly: false });
    fileSystem.grantReadWrite(this.taskRole);
    fileSystem.connections.allowDefaultPortFrom(this.service.service);
    return fileSystem;
  }

  /**
   * The service (and so its first tasks, and every task an update starts) waits for what a task needs to
   * start: routes and endpoints, and the spool's mount targets with their NFS ingress rule. Without it, a switch
   * to EFS starts tasks that fail with ResourceInitializationError and the circuit breaker rolls back.
   */
  #startAfter(...dependencies: IDependable[]): void {
    // The CloudFormation service alone: its security group is referenced by the very ingress rule it waits for.
    (this.service.service.node.defaultChild as ecs.CfnService).node.addDependency(...dependencies);
  }

  #grantTaskRole(props: GatewayServiceProps): void {
    // The gateway writes records and describes the stream (readiness); the stream key only generates data keys.
    props.stream.grant(this.taskRole, 'kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary');
    props.stream.encryptionKey?.grant(this.taskRole, 'kms:GenerateDataKey');
    props.statusTable.grant(this.taskRole, ...STATUS_GATEWAY_ACTIONS);
    props.idempotencyTable.grant(this.taskRole, ...IDEMPOTENCY_GATEWAY_ACTIONS);
    props.fieldEncryptionKey.grantEncrypt(this.taskRole);
  }
}

/** A JWKS-mode gateway with neither audience nor issuer would accept tokens the provider minted for anyone. */
export class GatewayAuthError extends Error {
  override readonly name = 'GatewayAuthError';
}

/**
 * Refuses JWKS mode without `issuer` and `audience` (the message names both settings); `allowAnyAudience`
 * lifts the audience requirement only.
 * @throws GatewayAuthError
 */
export function validateAuth(auth: GatewayAuthProps): GatewayAuthProps {
  if (!auth.jwksUrl) return auth;
  const missing = [...(auth.issuer ? [] : ['jwtIssuer']), ...(auth.audience || auth.allowAnyAudience ? [] : ['jwtAudience'])];
  if (missing.length > 0) {
    throw new GatewayAuthError(
      `JWKS mode (jwtJwksUrl) needs jwtIssuer and jwtAudience, missing ${missing.join(' and ')}: without them the gateway ` +
        'accepts tokens the identity provider minted for other applications. Set both; if the provider\'s tokens carry ' +
        'no audience, set jwtIssuer and jwtAllowAnyAudience=true.',
    );
  }
  return auth;
}
