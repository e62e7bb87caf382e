/**
 * The CDK app: the only place that reads CDK context and the environment. Settings and their defaults are
 * listed in the README's Deploy section.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GatewayStack } from '../lib/GatewayStack';
import { parseSettings } from './settings';

const app = new App();
const settings = parseSettings((key) => app.node.tryGetContext(key));

new GatewayStack(app, 'ResourceGateway', {
  ...settings,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'Resource gateway: authorizing HTTP gateway -> Kinesis -> consumer, with monitoring',
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
