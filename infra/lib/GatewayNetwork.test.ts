import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { testStack } from '../test/synth';
import { GatewayNetwork, type GatewayNetworkProps } from './GatewayNetwork';

function synthNetwork(props: GatewayNetworkProps = {}): { network: GatewayNetwork; template: Template } {
  const stack = testStack();
  const network = new GatewayNetwork(stack, 'Network', props);
  return { network, template: Template.fromStack(stack) };
}

const INTERFACE_SERVICES = ['ecr.api', 'ecr.dkr', 'kinesis-streams', 'kms', 'logs', 'secretsmanager'].map((s) => `com.amazonaws.eu-west-1.${s}`);

describe('GatewayNetwork', () => {
  describe('with endpoint egress (the default)', () => {
    const { network, template } = synthNetwork();
    const ref = (token: string) => network.vpc.stack.resolve(token);
    const privateSubnets = network.vpc.isolatedSubnets.map((s) => ref(s.subnetId));

    it('has an interface endpoint with private DNS in both zones for Kinesis, KMS, ECR api and dkr, CloudWatch Logs and Secrets Manager', () => {
      const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));
      expect(endpoints.map((e) => e.Properties.ServiceName).sort()).toEqual(INTERFACE_SERVICES);
      expect(privateSubnets).toHaveLength(2);
      for (const endpoint of endpoints) {
        expect(endpoint.Properties).toMatchObject({ PrivateDnsEnabled: true, SubnetIds: privateSubnets });
      }
    });

    it('lets nothing reach the interface endpoints until a peer is allowed, and then that peer on HTTPS only', () => {
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      for (const sg of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
        expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
      }
      const stack = testStack();
      const allowed = new GatewayNetwork(stack, 'Network');
      allowed.allowEndpointsFrom(new ec2.SecurityGroup(stack, 'Peer', { vpc: allowed.vpc }));
      const rules = Object.values(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroupIngress'));
      expect(rules).toHaveLength(INTERFACE_SERVICES.length);
      for (const rule of rules) {
        expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: expect.anything() });
      }
    });

    it('has gateway endpoints for DynamoDB and for S3, where ECR keeps image layers', () => {
      for (const service of ['dynamodb', 's3']) {
        template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
          ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
          VpcEndpointType: 'Gateway',
        });
      }
    });

    it('has no NAT gateway and no route out of the private subnets', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      expect(network.vpc.privateSubnets).toEqual([]);
      template.resourcePropertiesCountIs('AWS::EC2::Route', { NatGatewayId: Match.anyValue() }, 0);
    });

    it('keeps flow logs of all traffic for a month', () => {
      template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });
  });

  describe('with endpoint egress and internet access (a JWKS URL)', () => {
    const { template } = synthNetwork({ internetAccess: true });

    it('adds a NAT gateway in each zone for the internet, keeping the endpoints for AWS', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 2);
      template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, INTERFACE_SERVICES.length);
    });
  });

  describe('with NAT egress', () => {
    const { network, template } = synthNetwork({ egress: 'natPerZone' });

    it('routes each zone\'s private subnet to a NAT gateway of its own zone', () => {
      template.resourceCountIs('AWS::EC2::NatGateway', 2);
      const routes = Object.values(template.findResources('AWS::EC2::Route', { Properties: { NatGatewayId: Match.anyValue() } }));
      expect(routes).toHaveLength(2);
      expect(new Set(routes.map((r) => JSON.stringify(r.Properties.NatGatewayId))).size).toBe(2);
      expect(network.vpc.privateSubnets).toHaveLength(2);
    });

    it('has no interface endpoint, and still the free gateway endpoints', () => {
      template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, 0);
      template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' }, 2);
    });
  });
});
