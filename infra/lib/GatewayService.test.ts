import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetStaging, type App } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_METRICS_NAMESPACE } from '../../common/metricNames';
import { stopTimeoutSeconds } from '../../common/shutdownBudget';
import { logicalId, roleStatements, synthGatewayStack, testApp } from '../test/synth';
import { bodyBudgetBytesFor } from '../../app/src/admission/BodyBudget';
import { GatewayAuthError, SPOOL_DIR, TASK_MEMORY_MIB } from './GatewayService';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every file under a directory, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** The build context CDK staged for the gateway image, in an app's cloud assembly. */
function stagedImageContext(app: App, artifactId: string): { directory: string; source: Record<string, string> } {
  const assembly = app.synth();
  const manifest = JSON.parse(readFileSync(join(assembly.directory, `${artifactId}.assets.json`), 'utf8'));
  const images = Object.values(manifest.dockerImages) as Array<{ source: { directory: string; dockerFile: string; platform: string } }>;
  expect(images).toHaveLength(1);
  return { directory: join(assembly.directory, images[0]!.source.directory), source: images[0]!.source };
}

/** The `DependsOn` of the gateway's ECS service. */
function serviceDependencies(template: Template): string[] {
  return template.toJSON().Resources[logicalId(template, 'AWS::ECS::Service', 'GatewayService')].DependsOn as string[];
}

/** The gateway container's plain environment, as a map. */
function environment(template: Template): Record<string, unknown> {
  const taskDefinition = template.toJSON().Resources[logicalId(template, 'AWS::ECS::TaskDefinition', 'GatewayTaskDefinition')];
  const entries = taskDefinition.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>;
  return Object.fromEntries(entries.map((e) => [e.Name, e.Value]));
}

const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

describe('GatewayService', () => {
  const { stack, template } = synthGatewayStack();
  const ref = (token: string) => stack.resolve(token);
  const gateway = stack.gateway;

  it('runs two tasks behind a public load balancer, rolling back a failing deployment', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
      },
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
  });

  it('checks targets on /health and deregisters them in 30 s', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 80,
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200' },
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
    });
  });

  it('gives the container the stop timeout the shutdown budget derives after SIGTERM, behind an init process, listening on 3000', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          StopTimeout: stopTimeoutSeconds(),
          LinuxParameters: { InitProcessEnabled: true },
          PortMappings: [{ ContainerPort: 3000, Protocol: 'tcp' }],
        }),
      ],
    });
  });

  it('builds the image for linux/amd64 from app/Dockerfile with only what the Dockerfile copies as context', () => {
    const { directory, source } = stagedImageContext(stack.node.root as App, stack.artifactId);
    expect(source).toMatchObject({ dockerFile: 'app/Dockerfile', platform: 'linux/amd64' });
    expect(readdirSync(directory).sort()).toEqual(['.dockerignore', 'app', 'common', 'contract', 'package-lock.json', 'package.json', 'tsconfig.json']);
    const files = filesUnder(directory);
    expect(files).toContain('app/src/server.ts');
    expect(files.filter((f) => /(^|\/)(node_modules|dist|test)\/|\.test\.ts$|\.md$/.test(f))).toEqual([]);
  });

  it('synthesizes into an output folder inside the repository without copying it into the image context', () => {
    const outdir = join(REPO_ROOT, `cdk.out.test-${process.pid}`);
    try {
      const { stack: inRepo } = synthGatewayStack({}, testApp({ outdir }));
      const { directory } = stagedImageContext(inRepo.node.root as App, inRepo.artifactId);
      expect(readdirSync(directory)).not.toContain(`cdk.out.test-${process.pid}`);
      expect(existsSync(join(outdir, 'ResourceGateway.template.json'))).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('keeps local folders and dot-files inside the admitted folders out of the image context', () => {
    const local = `image-context-test-${process.pid}`;
    const planted = [
      `common/${local}/coverage/lcov.info`,
      `common/${local}/cdk.out.local/manifest.json`,
      `common/${local}/.cache/state.json`,
      `common/${local}/node_modules/dependency/index.js`,
      `app/.env.${local}`,
    ];
    try {
      for (const file of planted) {
        mkdirSync(dirname(join(REPO_ROOT, file)), { recursive: true });
        writeFileSync(join(REPO_ROOT, file), '{}');
      }
      // Staging is cached per source directory within a process: without a fresh look the planted files go unseen.
      AssetStaging.clearAssetHashCache();
      const { stack: planting } = synthGatewayStack();
      const { directory } = stagedImageContext(planting.node.root as App, planting.artifactId);
      const files = filesUnder(directory);
      expect(files).toContain('app/src/server.ts');
      expect(files.filter((f) => f.includes(local))).toEqual([]);
    } finally {
      rmSync(join(REPO_ROOT, 'common', local), { recursive: true, force: true });
      rmSync(join(REPO_ROOT, `app/.env.${local}`), { force: true });
    }
  });

  it('configures the container with the stream, the tables, the spool, the field key and the body budget of its memory', () => {
    expect(environment(template)).toEqual({
      PORT: '3000',
      LOG_LEVEL: 'info',
      AWS_REGION: 'eu-west-1',
      KINESIS_STREAM_NAME: ref(stack.operations.stream.streamName),
      STATUS_TABLE_NAME: ref(stack.status.table.tableName),
      IDEMPOTENCY_TABLE_NAME: ref(stack.idempotency.table.tableName),
      STATUS_RETENTION_DAYS: '7',
      SPOOL_DIR,
      SPOOL_SHARED: 'true',
      SENSITIVE_FIELDS: '',
      FIELD_ENCRYPTION_KEY_ARN: ref(stack.fieldKey.key.keyArn),
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      GATEWAY_BODY_BUDGET_BYTES: String(bodyBudgetBytesFor(TASK_MEMORY_MIB)),
    });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '1024', Memory: String(TASK_MEMORY_MIB) });
  });

  it('passes the sensitive fields comma-separated', () => {
    const { template: withFields } = synthGatewayStack({ sensitiveFields: ['patientName', 'phone'] });
    expect(environment(withFields).SENSITIVE_FIELDS).toBe('patientName,phone');
  });

  it('logs to a group kept one month', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 30,
      LogGroupName: Match.absent(),
    });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          LogConfiguration: Match.objectLike({
            LogDriver: 'awslogs',
            Options: Match.objectLike({ 'awslogs-group': ref(gateway.logGroup.logGroupName) }),
          }),
        }),
      ],
    });
  });

  it('scales between 2 and 10 tasks on CPU and on requests per target', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 10 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 60,
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
        TargetValue: 60000,
      }),
    });
  });

  it('lets the task role only put records, describe the stream, generate data keys and use the status and idempotency tables (and the spool\'s file system, below)', () => {
    const disk = synthGatewayStack({ spoolVolume: 'ephemeral' });
    const statements = roleStatements(disk.template, logicalId(disk.template, 'AWS::IAM::Role', 'GatewayTaskRole'));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: ref(stack.operations.stream.streamArn),
      },
      {
        Effect: 'Allow',
        Action: 'kms:GenerateDataKey',
        Resource: [ref(stack.fieldKey.key.keyArn), ref(stack.operations.key.keyArn)],
      },
      {
        Effect: 'Allow',
        // No Scan, no batch reads, no update or delete of a status, nothing on the resources table.
        Action: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        Resource: ref(stack.status.table.tableArn),
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: ref(stack.idempotency.table.tableArn),
      },
    ]);
  });

  describe('without a certificate', () => {
    it('listens on plain HTTP port 80', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTP', Port: 80 });
    });

    it('warns at synth time', () => {
      Annotations.fromStack(stack).hasWarning('/ResourceGateway/Gateway', Match.stringLikeRegexp('plain HTTP'));
    });
  });

  describe('with a certificate', () => {
    const https = synthGatewayStack({ certificateArn: CERTIFICATE_ARN });

    it('listens on HTTPS port 443 with the certificate and a modern TLS policy', () => {
      https.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Protocol: 'HTTPS',
        Port: 443,
        Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      });
    });

    it('redirects HTTP to HTTPS', () => {
      https.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443' }) })],
      });
    });

    it('does not warn', () => {
      Annotations.fromStack(https.stack).hasNoWarning('/ResourceGateway/Gateway', Match.stringLikeRegexp('plain HTTP'));
    });
  });

  describe('in secret mode (no JWKS URL)', () => {
    it('injects a generated Secrets Manager secret as JWT_SECRET, never as plain environment', () => {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      });
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [
          Match.objectLike({
            Secrets: [{ Name: 'JWT_SECRET', ValueFrom: ref(gateway.jwtSecret!.secretArn) }],
          }),
        ],
      });
      expect(environment(template)).not.toHaveProperty('JWT_SECRET');
    });

    it('lets only the execution role read the secret', () => {
      const execution = roleStatements(template, logicalId(template, 'AWS::IAM::Role', 'GatewayTaskDefinitionExecutionRole'));
      expect(execution).toContainEqual({
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: ref(gateway.jwtSecret!.secretArn),
      });
    });
  });

  describe('in JWKS mode', () => {
    const jwks = synthGatewayStack({
      jwtJwksUrl: 'https://issuer.example/.well-known/jwks.json',
      jwtIssuer: 'https://issuer.example/',
      jwtAudience: 'resource-gateway',
    });

    it('creates no secret and passes the JWKS URL, issuer and audience', () => {
      jwks.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
      jwks.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [Match.objectLike({ Secrets: Match.absent() })],
      });
      expect(environment(jwks.template)).toMatchObject({
        JWT_JWKS_URL: 'https://issuer.example/.well-known/jwks.json',
        JWT_ISSUER: 'https://issuer.example/',
        JWT_AUDIENCE: 'resource-gateway',
      });
    });
  });

  describe('in JWKS mode without an audience or an issuer', () => {
    const JWKS_URL = 'https://issuer.example/.well-known/jwks.json';

    it.each([
      ['neither', {}],
      ['no audience', { jwtIssuer: 'https://issuer.example/' }],
      ['no issuer', { jwtAudience: 'resource-gateway' }],
    ])('fails the synth with %s, naming both settings', (_, auth) => {
      expect(() => synthGatewayStack({ jwtJwksUrl: JWKS_URL, ...auth })).toThrow(GatewayAuthError);
      expect(() => synthGatewayStack({ jwtJwksUrl: JWKS_URL, ...auth })).toThrow(/needs jwtIssuer and jwtAudience/);
    });

    it('accepts any audience only when jwtAllowAnyAudience says so, and still checks the issuer', () => {
      const anyAudience = synthGatewayStack({ jwtJwksUrl: JWKS_URL, jwtIssuer: 'https://issuer.example/', jwtAllowAnyAudience: true });
      expect(environment(anyAudience.template)).toMatchObject({ JWT_JWKS_URL: JWKS_URL, JWT_ISSUER: 'https://issuer.example/' });
      expect(environment(anyAudience.template)).not.toHaveProperty('JWT_AUDIENCE');
      expect(() => synthGatewayStack({ jwtJwksUrl: JWKS_URL, jwtAllowAnyAudience: true })).toThrow(/missing jwtIssuer/);
    });
  });

  describe('start-up order', () => {
    const efsDefault = serviceDependencies(template);
    const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const idsOf = (t: Template, type: string, where: (p: Record<string, unknown>) => boolean = () => true) =>
      Object.entries(t.toJSON().Resources as typeof resources).filter(([, r]) => r.Type === type && where(r.Properties)).map(([id]) => id);

    it('starts the service only after the spool\'s mount targets and its NFS ingress rule exist', () => {
      const mountTargets = idsOf(template, 'AWS::EFS::MountTarget');
      const nfs = idsOf(template, 'AWS::EC2::SecurityGroupIngress', (p) => p.FromPort === 2049);
      expect(mountTargets).toHaveLength(2);
      expect(nfs).toHaveLength(1);
      expect(efsDefault).toEqual(expect.arrayContaining([...mountTargets, ...nfs]));
    });

    it('starts the service only after every endpoint and the private subnets\' route tables are in place', () => {
      const endpoints = idsOf(template, 'AWS::EC2::VPCEndpoint');
      const associations = idsOf(template, 'AWS::EC2::SubnetRouteTableAssociation', (p) => JSON.stringify(p).includes('Private'));
      expect(endpoints).toHaveLength(8);
      expect(associations).toHaveLength(2);
      expect(efsDefault).toEqual(expect.arrayContaining([...endpoints, ...associations]));
    });

    it.each(['ephemeral', 'efs'] as const)('with a spool on %s and NAT egress, starts the service only after the routes to each zone\'s NAT gateway', (spoolVolume) => {
      const nat = synthGatewayStack({ spoolVolume, egress: 'natPerZone' }).template;
      const natRoutes = idsOf(nat, 'AWS::EC2::Route', (p) => p.NatGatewayId !== undefined);
      expect(natRoutes).toHaveLength(2);
      expect(serviceDependencies(nat)).toEqual(expect.arrayContaining(natRoutes));
    });

    it('with an ephemeral spool and endpoint egress, still waits for every endpoint', () => {
      const disk = synthGatewayStack({ spoolVolume: 'ephemeral' }).template;
      const endpoints = idsOf(disk, 'AWS::EC2::VPCEndpoint');
      expect(endpoints).toHaveLength(8);
      expect(serviceDependencies(disk)).toEqual(expect.arrayContaining(endpoints));
    });
  });

  describe('spool volume', () => {
    const disk = synthGatewayStack({ spoolVolume: 'ephemeral' });
    it('is a shared file system by default, so a spooled operation survives its task', () => {
      template.resourceCountIs('AWS::EFS::FileSystem', 1);
    });

    it('with ephemeral, is the task disk: no file system, no volume', () => {
      disk.template.resourceCountIs('AWS::EFS::FileSystem', 0);
      disk.template.hasResourceProperties('AWS::ECS::TaskDefinition', { Volumes: Match.absent() });
    });

    const efs = synthGatewayStack({ spoolVolume: 'efs' });
    const efsRef = (token: string) => efs.stack.resolve(token);

    it('with efs, mounts an encrypted, retained file system at SPOOL_DIR through an access point for the node user', () => {
      efs.template.hasResource('AWS::EFS::FileSystem', { Properties: { Encrypted: true }, DeletionPolicy: 'Retain' });
      efs.template.hasResourceProperties('AWS::EFS::AccessPoint', {
        PosixUser: { Uid: '1000', Gid: '1000' },
        RootDirectory: { Path: '/spool', CreationInfo: { OwnerUid: '1000', OwnerGid: '1000', Permissions: '750' } },
      });
      efs.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Volumes: [
          {
            Name: 'spool',
            EFSVolumeConfiguration: Match.objectLike({
              FilesystemId: efsRef(efs.stack.gateway.spoolFileSystem!.fileSystemId),
              TransitEncryption: 'ENABLED',
              AuthorizationConfig: Match.objectLike({ IAM: 'ENABLED' }),
            }),
          },
        ],
        ContainerDefinitions: [
          Match.objectLike({ MountPoints: [{ SourceVolume: 'spool', ContainerPath: SPOOL_DIR, ReadOnly: false }] }),
        ],
      });
    });

    it('with efs, tells the gateway the spool root is shared so each task spools in its own directory', () => {
      efs.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'SPOOL_SHARED', Value: 'true' }]) })],
      });
    });

    it('with ephemeral, the spool is not shared', () => {
      disk.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [Match.objectLike({ Environment: Match.not(Match.arrayWith([Match.objectLike({ Name: 'SPOOL_SHARED' })])) })],
      });
    });

    it('with efs, lets the task role mount and write the file system through a mount target only', () => {
      const statements = roleStatements(efs.template, logicalId(efs.template, 'AWS::IAM::Role', 'GatewayTaskRole'));
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
        Resource: efsRef(efs.stack.gateway.spoolFileSystem!.fileSystemArn),
        Condition: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
      });
    });

    it('with efs, opens NFS from the service to the file system', () => {
      efs.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp',
        FromPort: 2049,
        ToPort: 2049,
        SourceSecurityGroupId: Match.anyValue(),
      });
    });
  });

  describe('image', () => {
    const dockerfile = readFileSync(new URL('../../app/Dockerfile', import.meta.url), 'utf8');
    const dockerignore = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8').split('\n');

    it('is built in two Node 22 stages and runs the bundle as the non-root node user', () => {
      expect(dockerfile.match(/^FROM node:22-slim/gm)).toHaveLength(2);
      expect(dockerfile).toMatch(/^RUN npm run build$/m);
      expect(dockerfile).toMatch(/^COPY --from=build --chown=node:node \/src\/app\/dist \.\/app\/dist$/m);
      expect(dockerfile).toMatch(/^USER node$/m);
      expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
      expect(dockerfile).toMatch(/^CMD \["node", ("--[a-z-]+=\d+", )*"app\/dist\/server\.mjs"\]$/m);
    });

    it('admits into the build context exactly what the Dockerfile copies', () => {
      const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' ')).sort();
      const admitted = dockerignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1)).sort();
      expect(dockerignore).toContain('*');
      expect(admitted).toEqual(copied);
      expect(copied).toEqual(['app', 'common', 'contract', 'package-lock.json', 'package.json', 'tsconfig.json']);
    });
  });
});
