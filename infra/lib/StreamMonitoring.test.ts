import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CONSUMER_METRICS, DEFAULT_METRICS_NAMESPACE, GATEWAY_METRICS, METRICS_SERVICE } from '../../common/metricNames';
import { synthGatewayStack } from '../test/synth';

const NS = DEFAULT_METRICS_NAMESPACE;

describe('StreamMonitoring', () => {
  const { stack, template } = synthGatewayStack();
  const ref = (token: string) => stack.resolve(token);
  const monitoring = stack.monitoring;
  const topic = ref(monitoring.topic.topicArn);
  const streamDimension = [{ Name: 'StreamName', Value: ref(stack.operations.stream.streamName) }];

  it('notifies through a topic encrypted with a rotating key that CloudWatch may use', () => {
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
  });

  const topicStatements = () =>
    Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap((p) => p.Properties.PolicyDocument.Statement) as Array<
      Record<string, unknown>
    >;

  it('lets CloudWatch publish to the topic only for alarms of this account and region', () => {
    const allows = topicStatements().filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Sid: 'CloudWatchAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topic,
        Condition: {
          StringEquals: { 'aws:SourceAccount': '123456789012' },
          ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*' },
        },
      },
    ]);
  });

  it('refuses publishing over plain HTTP to anyone', () => {
    expect(topicStatements()).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
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
    ['consumerThrottles', 'AWS/Lambda', 'Throttles', 'Sum', 60, 0, 'GreaterThanThreshold', 5,
      [{ Name: 'FunctionName', Value: ref(stack.consumer.function.functionName) }]],
    ['recordsHeldBack', NS, CONSUMER_METRICS.heldBack, 'Sum', 60, 0, 'GreaterThanThreshold', 5, [{ Name: 'service', Value: METRICS_SERVICE.consumer }]],
    ['failedBatches', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 60, 1, 'GreaterThanOrEqualToThreshold', 1,
      [{ Name: 'QueueName', Value: ref(stack.consumer.onFailureQueue.queueName) }]],
    ['loadBalancer5xx', 'AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', 'Sum', 300, 5, 'GreaterThanOrEqualToThreshold', 1,
      [{ Name: 'LoadBalancer', Value: expect.anything() }]],
    ['noHealthyTargets', 'AWS/ApplicationELB', 'HealthyHostCount', 'Minimum', 60, 1, 'LessThanThreshold', 3, albDimensions, 'breaching'],
    ['unhealthyTargets', 'AWS/ApplicationELB', 'UnHealthyHostCount', 'Maximum', 60, 1, 'GreaterThanOrEqualToThreshold', 5, albDimensions],
    ['spoolNotEmpty', NS, GATEWAY_METRICS.spoolDepth, 'Maximum', 60, 0, 'GreaterThanThreshold', 15, [{ Name: 'service', Value: METRICS_SERVICE.gateway }], 'breaching'],
    ['spoolRecordsLost', NS, GATEWAY_METRICS.spoolRecordsLost, 'Sum', 60, 1, 'GreaterThanOrEqualToThreshold', 1, [{ Name: 'service', Value: METRICS_SERVICE.gateway }]],
  ] as const;

  it.each(alarms)(
    'alarms %s on %s %s (%s over %i s) against %d, notifying the topic when it fires and when it recovers',
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
        OKActions: [topic],
      });
      expect(properties.Dimensions).toHaveLength(dimensions.length);
    },
  );

  it('alarms when fewer gateway tasks run than desired for five minutes, from Container Insights', () => {
    const count = (metricName: string) => ({
      Namespace: 'ECS/ContainerInsights',
      MetricName: metricName,
      Dimensions: expect.arrayContaining([
        { Name: 'ClusterName', Value: ref(stack.gateway.cluster.clusterName) },
        { Name: 'ServiceName', Value: ref(stack.gateway.service.service.serviceName) },
      ]),
    });
    const properties = alarmProperties('tasksBelowDesired');
    expect(properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
    const queries = properties.Metrics as Array<{ Id: string; Expression?: string; MetricStat?: { Metric: unknown; Period: number } }>;
    expect(queries.find((q) => q.Expression)?.Expression).toBe('desired - running');
    expect(queries.find((q) => q.Id === 'desired')?.MetricStat).toMatchObject({ Metric: count('DesiredTaskCount'), Period: 60 });
    expect(queries.find((q) => q.Id === 'running')?.MetricStat).toMatchObject({ Metric: count('RunningTaskCount'), Period: 60 });
  });

  it('alarms gateway5xx on target 5xx less the GATEWAY_BUSY answers, at least 5 in five minutes', () => {
    const properties = alarmProperties('gateway5xx');
    expect(properties).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
    const queries = properties.Metrics as Array<{ Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: Record<string, unknown>; Period: number; Stat: string } }>;
    expect(queries.find((q) => q.Expression)?.Expression).toBe('FILL(target5xx, 0) - FILL(busy, 0)');
    expect(queries.find((q) => q.Id === 'target5xx')?.MetricStat).toEqual({
      Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: expect.arrayContaining(albDimensions) },
      Period: 300,
      Stat: 'Sum',
    });
    expect(queries.find((q) => q.Id === 'busy')?.MetricStat).toEqual({
      Metric: { Namespace: NS, MetricName: GATEWAY_METRICS.gatewayBusy, Dimensions: [{ Name: 'service', Value: METRICS_SERVICE.gateway }] },
      Period: 300,
      Stat: 'Sum',
    });
  });

  it('has exactly these fourteen alarms, every one notifying on alarm and on recovery', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 14);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [topic], OKActions: [topic] });
    }
  });

  it('reads custom metrics from the configured namespace', () => {
    synthGatewayStack({ metricsNamespace: 'Staging' }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Staging',
      MetricName: GATEWAY_METRICS.spoolDepth,
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
      ['Consumer throttles', ['AWS/Lambda/Throttles']],
      ['Consumer iterator age', ['AWS/Lambda/IteratorAge', `${NS}/${CONSUMER_METRICS.endToEndAge}`]],
      ['Consumer records', [CONSUMER_METRICS.processed, CONSUMER_METRICS.failed, CONSUMER_METRICS.duplicates].map((m) => `${NS}/${m}`)],
      ['Consumer records held back', [`${NS}/${CONSUMER_METRICS.heldBack}`]],
      ['Gateway requests', ['AWS/ApplicationELB/RequestCount']],
      ['Gateway latency p50 / p99', ['AWS/ApplicationELB/TargetResponseTime', 'AWS/ApplicationELB/TargetResponseTime']],
      [
        'Gateway 4xx / 5xx',
        [
          'AWS/ApplicationELB/HTTPCode_Target_4XX_Count',
          'AWS/ApplicationELB/HTTPCode_Target_5XX_Count',
          'AWS/ApplicationELB/HTTPCode_ELB_5XX_Count',
          `${NS}/${GATEWAY_METRICS.gatewayBusy}`,
        ],
      ],
      ['Gateway CPU and memory', ['AWS/ECS/CPUUtilization', 'AWS/ECS/MemoryUtilization']],
      ['Records per PutRecords', [GATEWAY_METRICS.recordsPerPutRecords, GATEWAY_METRICS.putRecordsLatency].map((m) => `${NS}/${m}`)],
      ['Spool', [GATEWAY_METRICS.spoolDepth, GATEWAY_METRICS.spoolOldestAgeMs].map((m) => `${NS}/${m}`)],
      ['Spool records lost', [`${NS}/${GATEWAY_METRICS.spoolRecordsLost}`]],
      ['On-failure queue depth', ['AWS/SQS/ApproximateNumberOfMessagesVisible']],
    ])('has a "%s" graph of %j', (title, metrics) => {
      expect(byTitle(title).type).toBe('metric');
      expect(metricsOf(title)).toEqual(metrics);
    });

    it('has a "PutRecords retries and status-write failures" graph of the gateway metrics', () => {
      expect(metricsOf('PutRecords retries and status-write failures')).toEqual(
        [GATEWAY_METRICS.putRecordsRetries, GATEWAY_METRICS.statusWriteFailures].map((m) => `${NS}/${m}`),
      );
    });

    it('has a "Gateway tasks below desired" graph of the alarm\'s expression', () => {
      const [line] = byTitle('Gateway tasks below desired').properties.metrics ?? [];
      expect((line?.[0] as { expression: string }).expression).toBe('desired - running');
    });

    it.each([
      [
        'Gateway requests by operation and status class',
        `SEARCH('{${NS},service,Operation,StatusClass} service="${METRICS_SERVICE.gateway}" MetricName="${GATEWAY_METRICS.requests}"', 'Sum', 60)`,
      ],
      [
        'Gateway latency p99 by operation',
        `SEARCH('{${NS},service,Operation} service="${METRICS_SERVICE.gateway}" MetricName="${GATEWAY_METRICS.requestLatency}"', 'p99', 60)`,
      ],
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
      expect(alarmWidget?.properties.alarms).toHaveLength(14);
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
