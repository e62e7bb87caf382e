import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, DependencyGroup, type IDependable } from 'constructs';

/**
 * How the gateway's tasks reach AWS APIs from their private subnets, with no single zone in the path:
 * - `'endpoints'`: an interface endpoint in every zone for each API the tasks call, and no NAT gateway unless
 *   the tasks must reach the internet (a JWKS URL): then one per zone for that traffic only;
 * - `'natPerZone'`: one NAT gateway per zone carries everything but DynamoDB and S3.
 */
export type Egress = 'endpoints' | 'natPerZone';

/** Every egress mode, for validating a setting. */
export const EGRESS_MODES: readonly Egress[] = ['endpoints', 'natPerZone'];

/**
 * The interface endpoints of `'endpoints'` egress: what the gateway calls (Kinesis, KMS) and what Fargate
 * needs to start a task (image pulls from ECR, the log driver, the JWT secret).
 */
export const INTERFACE_ENDPOINTS = {
  KinesisStreams: ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
} as const;

export interface GatewayNetworkProps {
  /** @default 'endpoints' */
  readonly egress?: Egress;
  /**
   * The tasks call something outside AWS (a JWKS URL), so the private subnets need a route to the internet
   * whatever the egress mode: a NAT gateway per zone.
   * @default false
   */
  readonly internetAccess?: boolean;
  /** @default 2 */
  readonly maxAzs?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * The gateway's VPC: public subnets for the load balancer, private subnets for the tasks, flow logs, free
 * gateway endpoints for DynamoDB and S3 (image layers), and the egress the {@link Egress} mode chooses.
 */
export class GatewayNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly egress: Egress;
  /** NAT gateways: one per zone, or none. */
  public readonly natGateways: number;
  /** The interface endpoints, by name, in `'endpoints'` mode. */
  public readonly interfaceEndpoints: Readonly<Record<string, ec2.InterfaceVpcEndpoint>>;
  /**
   * Everything a task's traffic needs before it starts: the private subnets' routes and every endpoint.
   * A service that depends on it never starts tasks that cannot pull their image or reach the stream.
   */
  public readonly egressReady: IDependable;

  constructor(scope: Construct, id: string, props: GatewayNetworkProps = {}) {
    super(scope, id);
    this.egress = props.egress ?? 'endpoints';
    const maxAzs = props.maxAzs ?? 2;
    this.natGateways = this.egress === 'natPerZone' || props.internetAccess ? maxAzs : 0;
    this.vpc = this.#buildVpc(maxAzs, props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH);
    const gatewayEndpoints = this.#buildGatewayEndpoints();
    this.interfaceEndpoints = this.egress === 'endpoints' ? this.#buildInterfaceEndpoints() : {};

    const ready = new DependencyGroup();
    // A private subnet's connectivity is its default route to its zone's NAT gateway (none when isolated).
    for (const subnet of [...this.vpc.privateSubnets, ...this.vpc.isolatedSubnets]) ready.add(subnet.internetConnectivityEstablished);
    ready.add(...gatewayEndpoints, ...Object.values(this.interfaceEndpoints));
    this.egressReady = ready;
  }

  /** Lets a peer (the gateway service) reach every interface endpoint on HTTPS. */
  allowEndpointsFrom(peer: ec2.IConnectable): void {
    for (const endpoint of Object.values(this.interfaceEndpoints)) endpoint.connections.allowDefaultPortFrom(peer);
  }

  #buildVpc(maxAzs: number, flowLogRetention: logs.RetentionDays): ec2.Vpc {
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: flowLogRetention });
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs,
      natGateways: this.natGateways,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
        // Without a NAT gateway the tasks have no route out of AWS at all: nothing they hold can leave but to AWS APIs.
        { name: 'Private', subnetType: this.natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED },
      ],
      flowLogs: { All: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
    });
  }

  /** Gateway endpoints cost nothing and live in every zone's route table. */
  #buildGatewayEndpoints(): ec2.GatewayVpcEndpoint[] {
    return [
      this.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB }),
      // ECR serves image layers from S3.
      this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 }),
    ];
  }

  /** One endpoint per API, with a network interface in each zone's private subnet and private DNS. */
  #buildInterfaceEndpoints(): Record<string, ec2.InterfaceVpcEndpoint> {
    const subnets = { subnetType: this.natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED };
    return Object.fromEntries(
      Object.entries(INTERFACE_ENDPOINTS).map(([name, service]) => [
        name,
        // Closed until allowEndpointsFrom: only the tasks may reach them, not the whole VPC.
        this.vpc.addInterfaceEndpoint(name, { service, subnets, privateDnsEnabled: true, open: false }),
      ]),
    );
  }
}
