import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface StreamMonitoringProps {
  readonly stream: kinesis.IStream;
  readonly consumerFunction: lambda.IFunction;
  /** The consumer's on-failure destination. */
  readonly onFailureQueue: sqs.IQueue;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  readonly gatewayService: ecs.FargateService;
  /**
   * An address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Namespace of the embedded-format metrics of the gateway and the consumer.
   * @default 'ResourceGateway'
   */
  readonly metricsNamespace?: string;
}

/** The alarms of {@link StreamMonitoring}, by what they watch. */
export interface StreamAlarms {
  readonly writeThrottled: cloudwatch.Alarm;
  readonly readThrottled: cloudwatch.Alarm;
  readonly iteratorAge: cloudwatch.Alarm;
  readonly consumerErrors: cloudwatch.Alarm;
  readonly failedBatches: cloudwatch.Alarm;
  readonly gateway5xx: cloudwatch.Alarm;
  readonly loadBalancer5xx: cloudwatch.Alarm;
  readonly noHealthyTargets: cloudwatch.Alarm;
  readonly unhealthyTargets: cloudwatch.Alarm;
  readonly spoolNotEmpty: cloudwatch.Alarm;
}

/**
 * Alarms on the stream, the consumer and the gateway, all notifying one encrypted SNS topic, and a dashboard
 * of the path of an operation: gateway, stream, consumer, on-failure queue.
 */
export class StreamMonitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: StreamAlarms;
  public readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard's address in the CloudWatch console. */
  public readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: StreamMonitoringProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? 'ResourceGateway';
    const custom = (service: 'gateway' | 'consumer', metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { service }, statistic, period: Duration.minutes(1) });

    // The AWS-managed SNS key cannot be used by CloudWatch alarms, so the topic gets its own key.
    const topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the alarm topic',
      enableKeyRotation: true,
    });
    topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    this.topic = new sns.Topic(this, 'AlarmTopic', { masterKey: topicKey, enforceSSL: true });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const stream = props.stream;
    const fn = props.consumerFunction;
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);

    const spoolDepth = custom('gateway', 'SpoolDepth', 'Maximum');
    this.alarms = {
      // The gateway retries throttled records; five throttled minutes in a row mean the stream needs capacity.
      writeThrottled: this.alarm('WriteThrottled', {
        metric: stream.metric('WriteProvisionedThroughputExceeded', { statistic: 'Sum', period: minute }),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      // Lambda's poller backs off on throttling; five minutes of it means too many readers per shard.
      readThrottled: this.alarm('ReadThrottled', {
        metric: stream.metric('ReadProvisionedThroughputExceeded', { statistic: 'Sum', period: minute }),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      // Clients poll status: five minutes behind is a stuck or undersized consumer, long before 24 h retention.
      // Lambda's poller reads every shard about once a second even when the stream is idle, so no data means
      // no reader at all (a disabled or broken event source mapping): that is an alarm too.
      iteratorAge: this.alarm('IteratorAge', {
        metric: stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: minute }),
        threshold: Duration.minutes(5).toMilliseconds(),
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      // The handler reports per-record failures itself, so any invocation error is a crash or a timeout,
      // which retries the whole batch and holds up its shard.
      consumerErrors: this.alarm('ConsumerErrors', {
        metric: fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      // Each message is a batch that was never applied; its records leave the stream when retention ends.
      failedBatches: this.alarm('FailedBatches', {
        metric: props.onFailureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      // The gateway answers 5xx only when it cannot make a 202 durable (stream and spool both failing),
      // so a handful in five minutes is an outage, not noise.
      gateway5xx: this.alarm('Gateway5xx', {
        metric: props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
          statistic: 'Sum',
          period: fiveMinutes,
        }),
        threshold: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      // With no task able to answer, the load balancer answers 502/503/504 itself: those are not target 5xx.
      loadBalancer5xx: this.alarm('LoadBalancer5xx', {
        metric: props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: fiveMinutes }),
        threshold: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      // Deregistered targets are not counted unhealthy: no healthy target (or no data at all) is the outage.
      noHealthyTargets: this.alarm('NoHealthyTargets', {
        metric: props.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: minute }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      // A starting task fails a check or two; unhealthy for five minutes straight is not a start-up.
      unhealthyTargets: this.alarm('UnhealthyTargets', {
        metric: props.targetGroup.metrics.unhealthyHostCount({ statistic: 'Maximum', period: minute }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 5,
      }),
      // The replayer empties the spool within seconds of Kinesis recovering; fifteen minutes non-empty means
      // a lasting outage or a stuck replayer, and acknowledged operations are waiting on one task's disk.
      // Every task reports its depth every 10 s (0 without a spool): silence means no task reports, and the
      // spool (on EFS) may still hold acknowledged operations.
      spoolNotEmpty: this.alarm('SpoolNotEmpty', {
        metric: spoolDepth,
        threshold: 0,
        evaluationPeriods: 15,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const width = 8;
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width, height: 6 });
    const alb = props.loadBalancer.metrics;
    const service = props.gatewayService;
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Gateway', width: 24, height: 1 }),
      graph('Gateway requests', [alb.requestCount({ statistic: 'Sum' })]),
      graph('Gateway latency p50 / p99', [
        alb.targetResponseTime({ statistic: 'p50', label: 'p50' }),
        alb.targetResponseTime({ statistic: 'p99', label: 'p99' }),
      ]),
      graph('Gateway 4xx / 5xx', [
        alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, { statistic: 'Sum' }),
        alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum' }),
        alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum' }),
      ]),
      graph('Gateway CPU and memory', [
        service.metricCpuUtilization({ statistic: 'Average' }),
        service.metricMemoryUtilization({ statistic: 'Average' }),
      ]),
      graph('Records per PutRecords', [custom('gateway', 'RecordsPerPutRecords', 'Average')], [
        custom('gateway', 'PutRecordsLatency', 'p99'),
      ]),
      graph('Spool', [spoolDepth], [custom('gateway', 'SpoolOldestAgeMs', 'Maximum')]),
      // Per-operation lines come from the gateway's EMF metrics; SEARCH draws one line per dimension value,
      // which stays bounded (operations x status classes).
      graph('Gateway requests by operation and status class', [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${namespace},service,Operation,StatusClass} service="gateway" MetricName="Requests"', 'Sum', 60)`,
          label: '',
          period: Duration.minutes(1),
        }),
      ]),
      graph('Gateway latency p99 by operation', [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${namespace},service,Operation} service="gateway" MetricName="RequestLatency"', 'p99', 60)`,
          label: '',
          period: Duration.minutes(1),
        }),
      ]),
      graph('PutRecords retries and status-write failures', [
        custom('gateway', 'PutRecordsRetries', 'Sum'),
        custom('gateway', 'StatusWriteFailures', 'Sum'),
      ]),
    );
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Stream', width: 24, height: 1 }),
      graph('Stream incoming records and bytes', [stream.metric('IncomingRecords', { statistic: 'Sum' })], [
        stream.metric('IncomingBytes', { statistic: 'Sum' }),
      ]),
      graph('Stream put success and latency', [stream.metricPutRecordsSuccess({ statistic: 'Average' })], [
        stream.metricPutRecordsLatency({ statistic: 'p99' }),
      ]),
      graph('Stream throttling', [
        stream.metric('WriteProvisionedThroughputExceeded', { statistic: 'Sum' }),
        stream.metric('ReadProvisionedThroughputExceeded', { statistic: 'Sum' }),
      ]),
      graph('Stream iterator age', [stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum' })]),
    );
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Consumer', width: 24, height: 1 }),
      graph('Consumer invocations and errors', [
        fn.metricInvocations({ statistic: 'Sum' }),
        fn.metricErrors({ statistic: 'Sum' }),
      ]),
      graph('Consumer duration', [fn.metricDuration({ statistic: 'p50' }), fn.metricDuration({ statistic: 'p99' })]),
      graph('Consumer iterator age', [fn.metric('IteratorAge', { statistic: 'Maximum' })], [
        custom('consumer', 'EndToEndAgeMs', 'p99'),
      ]),
      graph('Consumer records', [
        custom('consumer', 'RecordsProcessed', 'Sum'),
        custom('consumer', 'RecordsFailed', 'Sum'),
        custom('consumer', 'DuplicatesSkipped', 'Sum'),
      ]),
      graph('On-failure queue depth', [props.onFailureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })]),
    );

    const region = Stack.of(this).region;
    this.dashboardUrl = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  private alarm(
    id: string,
    props: Pick<cloudwatch.AlarmProps, 'metric' | 'threshold' | 'evaluationPeriods' | 'comparisonOperator' | 'treatMissingData'>,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No data is no traffic, not trouble, unless an alarm says otherwise.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.topic));
    return alarm;
  }
}
