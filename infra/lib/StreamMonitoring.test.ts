import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthGatewayStack } from '../test/synth';

describe('StreamMonitoring', () => {
  const { stack, template } = synthGatewayStack();
  const ref = (token: string) => stack.resolve(token);
  const monitoring = stack.monitoring;
  const topic = ref(monitoring.topic.topicArn);
  const streamDimension = [{ Name: 'StreamName', Value: ref(stack.operations.stream.streamName) }];

  it('notifies through a topic encrypted with a rotating key that CloudWatch may use, refusing plain HTTP', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: ref(monitoring.topic.masterKey!.keyArn) });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
          },
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      },
    });
  });

  it('subscribes no e-mail address unless one is given', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    synthGatewayStack({ alarmEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  const alarmProperties = (name: keyof typeof monitoring.alarms) =>
    template.toJSON().Resources[stack.getLogicalId(monitoring.alarms[name].node.defaultChild as never)].Properties;
  const albDimensions = [
    // Target group metrics name the load balancer through the listener's ARN.
    { Name: 'LoadBalancer', Value: expect.objectContaining({ 'Fn::Join': expect.anything() }) },
    { Name: 'TargetGroup', Value: ref(stack.gateway.service.targetGroup.targetGroupFullName) },
  ];

  // [alarm, namespace, metric, statistic, period (s), threshold, comparison, evaluation periods, dimensions, missing data]
  const alarms = [
    ['writeThrottled', 'AWS/Kinesis', 'WriteProvisionedThroughputExceeded', 'Sum', 60, 0, 'GreaterThanThreshold', 5, streamDimension],
    ['readThrottled', 'AWS/Kinesis', 'ReadProvisionedThroughputExceeded', 'Sum', 60, 0, 'GreaterThanThreshold', 5, streamDimension],
    ['iteratorAge', 'AWS/Kinesis', 'GetRecords.IteratorAgeMilliseconds', 'Maximum', 60, 300_000, 'GreaterThanThreshold', 5, streamDimension, 'breaching'],
    ['consumerErrors', 'AWS/Lambda', 'Errors', 'Sum', 300, 1, 'GreaterThanOrEqualToThreshold', 1,
      [{ Name: 'FunctionName', Value: ref(stack.consumer.function.functionName) }]],
    ['failedBatches', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 60, 1, 'GreaterThanOrEqualToThreshold', 1,
      [{ Name: 'QueueName', Value: ref(stack.consumer.onFailureQueue.queueName) }]],
    ['gateway5xx', 'AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', 'Sum', 300, 5, 'GreaterThanOrEqualToThreshold', 1, albDimensions],
    ['loadBalancer5xx', 'AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', 'Sum', 300, 5, 'GreaterThanOrEqualToThreshold', 1,
      [{ Name: 'LoadBalancer', Value: expect.anything() }]],
    ['noHealthyTargets', 'AWS/ApplicationELB', 'HealthyHostCount', 'Minimum', 60, 1, 'LessThanThreshold', 3, albDimensions, 'breaching'],
    ['unhealthyTargets', 'AWS/ApplicationELB', 'UnHealthyHostCount', 'Maximum', 60, 1, 'GreaterThanOrEqualToThreshold', 5, albDimensions],
    ['spoolNotEmpty', 'ResourceGateway', 'SpoolDepth', 'Maximum', 60, 0, 'GreaterThanThreshold', 15, [{ Name: 'service', Value: 'gateway' }], 'breaching'],
  ] as const;

  it.each(alarms)(
    'alarms %s on %s %s (%s over %i s) against %d, notifying the topic',
    (name, namespace, metricName, statistic, period, threshold, comparison, evaluationPeriods, dimensions, missing: string = 'notBreaching') => {
      const properties = alarmProperties(name);
      expect(properties).toEqual({
        Namespace: namespace,
        MetricName: metricName,
        Dimensions: expect.arrayContaining([...dimensions]),
        Statistic: statistic,
        Period: period,
        Threshold: threshold,
        ComparisonOperator: comparison,
        EvaluationPeriods: evaluationPeriods,
        TreatMissingData: missing,
        AlarmActions: [topic],
      });
      expect(properties.Dimensions).toHaveLength(dimensions.length);
    },
  );

  it('has exactly these ten alarms', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
  });

  it('reads custom metrics from the configured namespace', () => {
    synthGatewayStack({ metricsNamespace: 'Staging' }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Staging',
      MetricName: 'SpoolDepth',
    });
  });

  describe('dashboard', () => {
    const body = dashboardBody(template.toJSON().Resources[stack.getLogicalId(monitoring.dashboard.node.defaultChild as never)]);
    const widgets = body.widgets as Array<{ type: string; properties: { title?: string; metrics?: unknown[][] } }>;
    const byTitle = (title: string) => {
      const widget = widgets.find((w) => w.properties.title === title);
      if (!widget) throw new Error(`no widget titled ${title}; titles: ${widgets.map((w) => w.properties.title).join(', ')}`);
      return widget;
    };
    // A metric line is [namespace, name, dim, value, ..., options]; this keeps "namespace/name".
    const metricsOf = (title: string) => (byTitle(title).properties.metrics ?? []).map((m) => `${m[0]}/${m[1]}`);

    it.each([
      ['Stream incoming records and bytes', ['AWS/Kinesis/IncomingRecords', 'AWS/Kinesis/IncomingBytes']],
      ['Stream put success and latency', ['AWS/Kinesis/PutRecords.Success', 'AWS/Kinesis/PutRecords.Latency']],
      ['Stream throttling', ['AWS/Kinesis/WriteProvisionedThroughputExceeded', 'AWS/Kinesis/ReadProvisionedThroughputExceeded']],
      ['Stream iterator age', ['AWS/Kinesis/GetRecords.IteratorAgeMilliseconds']],
      ['Consumer invocations and errors', ['AWS/Lambda/Invocations', 'AWS/Lambda/Errors']],
      ['Consumer duration', ['AWS/Lambda/Duration', 'AWS/Lambda/Duration']],
      ['Consumer iterator age', ['AWS/Lambda/IteratorAge', 'ResourceGateway/EndToEndAgeMs']],
      ['Consumer records', ['ResourceGateway/RecordsProcessed', 'ResourceGateway/RecordsFailed', 'ResourceGateway/DuplicatesSkipped']],
      ['Gateway requests', ['AWS/ApplicationELB/RequestCount']],
      ['Gateway latency p50 / p99', ['AWS/ApplicationELB/TargetResponseTime', 'AWS/ApplicationELB/TargetResponseTime']],
      [
        'Gateway 4xx / 5xx',
        ['AWS/ApplicationELB/HTTPCode_Target_4XX_Count', 'AWS/ApplicationELB/HTTPCode_Target_5XX_Count', 'AWS/ApplicationELB/HTTPCode_ELB_5XX_Count'],
      ],
      ['Gateway CPU and memory', ['AWS/ECS/CPUUtilization', 'AWS/ECS/MemoryUtilization']],
      ['Records per PutRecords', ['ResourceGateway/RecordsPerPutRecords', 'ResourceGateway/PutRecordsLatency']],
      ['Spool', ['ResourceGateway/SpoolDepth', 'ResourceGateway/SpoolOldestAgeMs']],
      ['On-failure queue depth', ['AWS/SQS/ApproximateNumberOfMessagesVisible']],
    ])('has a "%s" graph of %j', (title, metrics) => {
      expect(byTitle(title).type).toBe('metric');
      expect(metricsOf(title)).toEqual(metrics);
    });

    it('has a "PutRecords retries and status-write failures" graph of the gateway metrics', () => {
      expect(metricsOf('PutRecords retries and status-write failures')).toEqual(['ResourceGateway/PutRecordsRetries', 'ResourceGateway/StatusWriteFailures']);
    });

    it.each([
      ['Gateway requests by operation and status class', "SEARCH('{ResourceGateway,service,Operation,StatusClass} service=\"gateway\" MetricName=\"Requests\"', 'Sum', 60)"],
      ['Gateway latency p99 by operation', "SEARCH('{ResourceGateway,service,Operation} service=\"gateway\" MetricName=\"RequestLatency\"', 'p99', 60)"],
    ])('draws "%s" from the per-operation metrics with a search', (title, expression) => {
      const [line] = byTitle(title).properties.metrics ?? [];
      expect((line?.[0] as { expression: string }).expression).toBe(expression);
    });

    it('shows latency at p50 and p99', () => {
      const stats = (byTitle('Gateway latency p50 / p99').properties.metrics ?? []).map((m) => (m.at(-1) as { stat: string }).stat);
      expect(stats).toEqual(['p50', 'p99']);
    });

    it('shows the state of every alarm', () => {
      const alarmWidget = widgets.find((w) => w.type === 'alarm') as { properties: { alarms: unknown[] } } | undefined;
      expect(alarmWidget?.properties.alarms).toHaveLength(10);
    });
  });

  it('links the dashboard in the stack outputs', () => {
    template.hasOutput('DashboardUrl', {
      Value: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([ref(monitoring.dashboard.dashboardName)])] }),
    });
  });
});

/** Parses a dashboard's body, with every CloudFormation token replaced by a placeholder string. */
function dashboardBody(resource: { Properties: { DashboardBody: unknown } }): Record<string, unknown> {
  const body = resource.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text) as Record<string, unknown>;
}
