import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
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
import { CONSUMER_METRICS, DEFAULT_METRICS_NAMESPACE, GATEWAY_METRICS, METRICS_SERVICE } from '../../common/metricNames';

export interface StreamMonitoringProps {
  readonly stream: kinesis.IStream;
  readonly consumerFunction: lambda.IFunction;
  /** The consumer's on-failure destination. */
  readonly onFailureQueue: sqs.IQueue;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  readonly gatewayService: ecs.FargateService;
  /** The gateway's cluster, with Container Insights on (its task counts are alarmed on). */
  readonly gatewayCluster: ecs.ICluster;
  /**
   * The enhanced fan-out consumer the event source reads through, if any: its reads are `SubscribeToShard`
   * pushes, which report how far behind they are under their own metric, not `GetRecords`.
   * @default - the event source polls with GetRecords
   */
  readonly streamConsumer?: kinesis.IStreamConsumer;
  /**
   * An address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Namespace of the embedded-format metrics of the gateway and the consumer.
   * @default DEFAULT_METRICS_NAMESPACE
   */
  readonly metricsNamespace?: string;
}

/** The alarms of {@link StreamMonitoring}, by what they watch. */
export interface StreamAlarms {
  readonly writeThrottled: cloudwatch.Alarm;
  readonly readThrottled: cloudwatch.Alarm;
  readonly iteratorAge: cloudwatch.Alarm;
  readonly consumerErrors: cloudwatch.Alarm;
  readonly consumerThrottles: cloudwatch.Alarm;
  readonly recordsHeldBack: cloudwatch.Alarm;
  readonly failedBatches: cloudwatch.Alarm;
  readonly gateway5xx: cloudwatch.Alarm;
  readonly loadBalancer5xx: cloudwatch.Alarm;
  readonly noHealthyTargets: cloudwatch.Alarm;
  readonly unhealthyTargets: cloudwatch.Alarm;
  readonly tasksBelowDesired: cloudwatch.Alarm;
  readonly spoolNotEmpty: cloudwatch.Alarm;
  readonly spoolRecordsLost: cloudwatch.Alarm;
}

type AlarmSettings = Pick<cloudwatch.AlarmProps, 'metric' | 'threshold' | 'evaluationPeriods' | 'comparisonOperator' | 'treatMissingData'>;
type Service = (typeof METRICS_SERVICE)[keyof typeof METRICS_SERVICE];

const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms on the stream, the consumer and the gateway, each notifying one encrypted SNS topic when it fires and
 * when it recovers, and a dashboard of the path of an operation: gateway, stream, consumer, on-failure queue.
 */
export class StreamMonitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: StreamAlarms;
  public readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard's address in the CloudWatch console. */
  public readonly dashboardUrl: string;
  readonly #namespace: string;

  constructor(scope: Construct, id: string, props: StreamMonitoringProps) {
    super(scope, id);
    this.#namespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    this.topic = this.#buildAlarmTopic(props.alarmEmail);
    this.alarms = {
      ...this.#buildStreamAlarms(props.stream, props.streamConsumer),
      ...this.#buildConsumerAlarms(props.consumerFunction, props.onFailureQueue),
      ...this.#buildGatewayAlarms(props),
    };
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(...this.#gatewayWidgets(props));
    this.dashboard.addWidgets(...this.#streamWidgets(props.stream));
    this.dashboard.addWidgets(...this.#consumerWidgets(props.consumerFunction, props.onFailureQueue));
    const region = Stack.of(this).region;
    this.dashboardUrl = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  /** One of the gateway's or the consumer's own metrics (EMF), per minute. */
  metric(service: Service, metricName: string, statistic: string): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: this.#namespace, metricName, dimensionsMap: { service }, statistic, period: MINUTE });
  }

  /**
   * The topic's policy replaces SNS's default one, so it must allow CloudWatch to publish: only this account's
   * alarms, only over TLS. The AWS-managed SNS key cannot be used by CloudWatch alarms, so the topic has its own.
   */
  #buildAlarmTopic(alarmEmail: string | undefined): sns.Topic {
    const topicKey = new kms.Key(this, 'TopicKey', { description: 'Encrypts the alarm topic', enableKeyRotation: true });
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    topicKey.grant(cloudwatchService, 'kms:Decrypt', 'kms:GenerateDataKey');
    const topic = new sns.Topic(this, 'AlarmTopic', { masterKey: topicKey, enforceSSL: true });
    const stack = Stack.of(this);
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatchService],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );
    if (alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
    return topic;
  }

  #buildStreamAlarms(stream: kinesis.IStream, streamConsumer?: kinesis.IStreamConsumer) {
    return {
      // The gateway retries throttled records; five throttled minutes in a row mean the stream needs capacity.
      writeThrottled: this.#alarm('WriteThrottled', {
        metric: stream.metric('WriteProvisionedThroughputExceeded', { statistic: 'Sum', period: MINUTE }),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      // Lambda's poller backs off on throttling; five minutes of it means too many readers per shard.
      readThrottled: this.#alarm('ReadThrottled', {
        metric: stream.metric('ReadProvisionedThroughputExceeded', { statistic: 'Sum', period: MINUTE }),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      // Clients poll status: five minutes behind is a stuck or undersized consumer, long before 24 h retention.
      // Lambda's poller reads every shard about once a second even when the stream is idle (a fan-out
      // subscription gets an event every few seconds), so no data means no reader at all (a disabled or broken
      // event source mapping): that is an alarm too.
      iteratorAge: this.#alarm('IteratorAge', {
        metric: readerLag(stream, streamConsumer),
        threshold: Duration.minutes(5).toMilliseconds(),
        evaluationPeriods: 5,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    };
  }

  #buildConsumerAlarms(fn: lambda.IFunction, onFailureQueue: sqs.IQueue) {
    return {
      // The handler reports per-record failures itself, so any invocation error is a crash or a timeout,
      // which retries the whole batch and holds up its shard.
      consumerErrors: this.#alarm('ConsumerErrors', {
        metric: fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
      // A throttled batch is retried, its shard waiting meanwhile; five minutes of it is exhausted concurrency.
      consumerThrottles: this.#alarm('ConsumerThrottles', {
        metric: fn.metricThrottles({ statistic: 'Sum', period: MINUTE }),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      // The handler never throws: a DynamoDB or KMS outage shows only as records held back for a retry. A
      // minute of it is a blip the retries absorb; five minutes is an outage the operator must see.
      recordsHeldBack: this.#alarm('RecordsHeldBack', {
        metric: this.metric(METRICS_SERVICE.consumer, CONSUMER_METRICS.heldBack, 'Sum'),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      // Each message is a batch that was never applied; its records leave the stream when retention ends.
      failedBatches: this.#alarm('FailedBatches', {
        metric: onFailureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: MINUTE }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
    };
  }

  #buildGatewayAlarms(props: StreamMonitoringProps) {
    const targets = props.targetGroup.metrics;
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    return {
      // Target 5xx less the 503 GATEWAY_BUSY answers: shedding load to bound memory is the gateway working, and
      // any client can cause it. What remains (a dependency outage its retries did not absorb, a bug) is the
      // service at fault, so a handful in five minutes is an outage, not noise.
      gateway5xx: this.#alarm('Gateway5xx', {
        metric: this.#gateway5xxLessBusy(targets),
        threshold: 5,
        comparisonOperator: atLeast,
        evaluationPeriods: 1,
      }),
      // With no task able to answer, the load balancer answers 502/503/504 itself: those are not target 5xx.
      loadBalancer5xx: this.#alarm('LoadBalancer5xx', {
        metric: props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: FIVE_MINUTES }),
        threshold: 5,
        comparisonOperator: atLeast,
        evaluationPeriods: 1,
      }),
      // Deregistered targets are not counted unhealthy: no healthy target (or no data at all) is the outage.
      noHealthyTargets: this.#alarm('NoHealthyTargets', {
        metric: targets.healthyHostCount({ statistic: 'Minimum', period: MINUTE }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      // A starting task fails a check or two; unhealthy for five minutes straight is not a start-up.
      unhealthyTargets: this.#alarm('UnhealthyTargets', {
        metric: targets.unhealthyHostCount({ statistic: 'Maximum', period: MINUTE }),
        threshold: 1,
        comparisonOperator: atLeast,
        evaluationPeriods: 5,
      }),
      // A replaced task runs again within a minute or two; five minutes short means tasks cannot start
      // (image pull, secret, mount) or crash in a loop, while the rest carry the load.
      tasksBelowDesired: this.#alarm('TasksBelowDesired', {
        metric: this.#tasksMissing(props.gatewayCluster, props.gatewayService),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      ...this.#buildSpoolAlarms(),
    };
  }

  /** The target group's 5xx answers less the gateway's `GatewayBusy` count, per five minutes. */
  #gateway5xxLessBusy(targets: elbv2.IApplicationTargetGroupMetrics): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'FILL(target5xx, 0) - FILL(busy, 0)',
      usingMetrics: {
        target5xx: targets.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum' }),
        busy: this.metric(METRICS_SERVICE.gateway, GATEWAY_METRICS.gatewayBusy, 'Sum'),
      },
      label: 'Target 5xx less GATEWAY_BUSY',
      period: FIVE_MINUTES,
    });
  }

  #buildSpoolAlarms() {
    return {
      // The replayer empties the spool within seconds of Kinesis recovering; fifteen minutes non-empty means
      // a lasting outage or a stuck replayer, and acknowledged operations are waiting on one task's disk.
      // Every task reports its depth every 10 s (0 without a spool): silence means no task reports, and the
      // spool (on EFS) may still hold acknowledged operations.
      spoolNotEmpty: this.#alarm('SpoolNotEmpty', {
        metric: this.metric(METRICS_SERVICE.gateway, GATEWAY_METRICS.spoolDepth, 'Maximum'),
        threshold: 0,
        evaluationPeriods: 15,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      // Each one is an acknowledged operation that will never reach the stream: any is worth a look.
      spoolRecordsLost: this.#alarm('SpoolRecordsLost', {
        metric: this.metric(METRICS_SERVICE.gateway, GATEWAY_METRICS.spoolRecordsLost, 'Sum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      }),
    };
  }

  /** Desired minus running tasks of the gateway service, from Container Insights. */
  #tasksMissing(cluster: ecs.ICluster, service: ecs.FargateService): cloudwatch.MathExpression {
    const count = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName,
        dimensionsMap: { ClusterName: cluster.clusterName, ServiceName: service.serviceName },
        statistic: 'Minimum',
        period: MINUTE,
      });
    return new cloudwatch.MathExpression({
      expression: 'desired - running',
      usingMetrics: { desired: count('DesiredTaskCount'), running: count('RunningTaskCount') },
      label: 'Tasks below desired',
      period: MINUTE,
    });
  }

  /** An alarm that notifies the topic when it fires and when it recovers. */
  #alarm(id: string, settings: AlarmSettings): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No data is no traffic, not trouble, unless an alarm says otherwise.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...settings,
    });
    const notify = new cwActions.SnsAction(this.topic);
    alarm.addAlarmAction(notify);
    alarm.addOkAction(notify);
    return alarm;
  }

  #graph(title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []): cloudwatch.GraphWidget {
    return new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
  }

  /** A SEARCH over one gateway metric's per-operation dimensions: one line per value, bounded by the dimension sets. */
  #search(dimensions: string, metricName: string, statistic: string): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${this.#namespace},${dimensions}} service="${METRICS_SERVICE.gateway}" MetricName="${metricName}"', '${statistic}', 60)`,
      label: '',
      period: MINUTE,
    });
  }

  #gatewayWidgets(props: StreamMonitoringProps): cloudwatch.IWidget[] {
    const alb = props.loadBalancer.metrics;
    const service = props.gatewayService;
    const gateway = (name: string, statistic: string) => this.metric(METRICS_SERVICE.gateway, name, statistic);
    return [
      new cloudwatch.TextWidget({ markdown: '## Gateway', width: 24, height: 1 }),
      this.#graph('Gateway requests', [alb.requestCount({ statistic: 'Sum' })]),
      this.#graph('Gateway latency p50 / p99', [
        alb.targetResponseTime({ statistic: 'p50', label: 'p50' }),
        alb.targetResponseTime({ statistic: 'p99', label: 'p99' }),
      ]),
      this.#graph('Gateway 4xx / 5xx', [
        alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, { statistic: 'Sum' }),
        alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum' }),
        alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum' }),
        gateway(GATEWAY_METRICS.gatewayBusy, 'Sum'),
      ]),
      this.#graph('Gateway CPU and memory', [
        service.metricCpuUtilization({ statistic: 'Average' }),
        service.metricMemoryUtilization({ statistic: 'Average' }),
      ]),
      this.#graph('Gateway tasks below desired', [this.alarms.tasksBelowDesired.metric]),
      this.#graph('Records per PutRecords', [gateway(GATEWAY_METRICS.recordsPerPutRecords, 'Average')], [
        gateway(GATEWAY_METRICS.putRecordsLatency, 'p99'),
      ]),
      this.#graph('Spool', [gateway(GATEWAY_METRICS.spoolDepth, 'Maximum')], [gateway(GATEWAY_METRICS.spoolOldestAgeMs, 'Maximum')]),
      this.#graph('Spool records lost', [gateway(GATEWAY_METRICS.spoolRecordsLost, 'Sum')]),
      this.#graph('Gateway requests by operation and status class', [
        this.#search('service,Operation,StatusClass', GATEWAY_METRICS.requests, 'Sum'),
      ]),
      this.#graph('Gateway latency p99 by operation', [this.#search('service,Operation', GATEWAY_METRICS.requestLatency, 'p99')]),
      this.#graph('PutRecords retries and status-write failures', [
        gateway(GATEWAY_METRICS.putRecordsRetries, 'Sum'),
        gateway(GATEWAY_METRICS.statusWriteFailures, 'Sum'),
      ]),
    ];
  }

  #streamWidgets(stream: kinesis.IStream): cloudwatch.IWidget[] {
    return [
      new cloudwatch.TextWidget({ markdown: '## Stream', width: 24, height: 1 }),
      this.#graph('Stream incoming records and bytes', [stream.metric('IncomingRecords', { statistic: 'Sum' })], [
        stream.metric('IncomingBytes', { statistic: 'Sum' }),
      ]),
      this.#graph('Stream put success and latency', [stream.metricPutRecordsSuccess({ statistic: 'Average' })], [
        stream.metricPutRecordsLatency({ statistic: 'p99' }),
      ]),
      this.#graph('Stream throttling', [
        stream.metric('WriteProvisionedThroughputExceeded', { statistic: 'Sum' }),
        stream.metric('ReadProvisionedThroughputExceeded', { statistic: 'Sum' }),
      ]),
      this.#graph('Stream iterator age', [stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum' })]),
    ];
  }

  #consumerWidgets(fn: lambda.IFunction, onFailureQueue: sqs.IQueue): cloudwatch.IWidget[] {
    const consumer = (name: string, statistic: string) => this.metric(METRICS_SERVICE.consumer, name, statistic);
    return [
      new cloudwatch.TextWidget({ markdown: '## Consumer', width: 24, height: 1 }),
      this.#graph('Consumer invocations and errors', [fn.metricInvocations({ statistic: 'Sum' }), fn.metricErrors({ statistic: 'Sum' })]),
      this.#graph('Consumer throttles', [fn.metricThrottles({ statistic: 'Sum' })]),
      this.#graph('Consumer duration', [fn.metricDuration({ statistic: 'p50' }), fn.metricDuration({ statistic: 'p99' })]),
      this.#graph('Consumer iterator age', [fn.metric('IteratorAge', { statistic: 'Maximum' })], [
        consumer(CONSUMER_METRICS.endToEndAge, 'p99'),
      ]),
      this.#graph('Consumer records', [
        consumer(CONSUMER_METRICS.processed, 'Sum'),
        consumer(CONSUMER_METRICS.failed, 'Sum'),
        consumer(CONSUMER_METRICS.duplicates, 'Sum'),
      ]),
      this.#graph('Consumer records held back', [consumer(CONSUMER_METRICS.heldBack, 'Sum')]),
      this.#graph('On-failure queue depth', [onFailureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })]),
    ];
  }
}

/** How far the consumer's reads are behind the tip of the stream: GetRecords' iterator age, or the fan-out subscription's lag. */
function readerLag(stream: kinesis.IStream, streamConsumer?: kinesis.IStreamConsumer): cloudwatch.IMetric {
  if (!streamConsumer) return stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: MINUTE });
  return new cloudwatch.Metric({
    namespace: 'AWS/Kinesis',
    metricName: 'SubscribeToShardEvent.MillisBehindLatest',
    dimensionsMap: { StreamName: stream.streamName, ConsumerName: streamConsumer.streamConsumerName },
    statistic: 'Maximum',
    period: MINUTE,
  });
}
