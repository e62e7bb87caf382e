import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEFAULT_METRICS_NAMESPACE, METRICS_SERVICE } from '../../common/metricNames';
import { CONSUMER_SETTINGS, timeoutSecondsFor } from '../../consumer-stub/src/eventSourceSettings';
import { logicalId, roleStatements, synthGatewayStack, testApp } from '../test/synth';


describe('ConsumerStub', () => {
  const { stack, template } = synthGatewayStack();
  const ref = (token: string) => stack.resolve(token);
  const consumer = stack.consumer;

  it('reads the stream from the oldest record, reporting per-record failures and bisecting failing batches', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: ref(stack.operations.stream.streamArn),
      FunctionName: ref(consumer.function.functionName),
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
    });
  });

  it('takes batch size, batching window and parallelization factor from the consumer\'s event source settings', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: CONSUMER_SETTINGS.batchSize,
      MaximumBatchingWindowInSeconds: CONSUMER_SETTINGS.maxBatchingWindowSeconds,
      ParallelizationFactor: CONSUMER_SETTINGS.parallelizationFactor,
    });
  });

  it('sizes the function from the settings: their memory, and the timeout a full batch needs', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: CONSUMER_SETTINGS.memoryMb,
      Timeout: timeoutSecondsFor(CONSUMER_SETTINGS.batchSize),
    });
    synthGatewayStack({ consumerBatchSize: 1000 }).template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: timeoutSecondsFor(1000),
    });
  });

  it('retries a failing batch until its records are half the stream retention old, then reports them to its queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRetryAttempts: 10000,
      MaximumRecordAgeInSeconds: 12 * 3600,
      DestinationConfig: { OnFailure: { Destination: ref(consumer.onFailureQueue.queueArn) } },
    });
  });

  it('takes batch size, parallelization factor and retention from the settings', () => {
    const tuned = synthGatewayStack({ consumerBatchSize: 250, consumerParallelizationFactor: 4, retentionHours: 72 });
    tuned.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 250,
      ParallelizationFactor: 4,
      MaximumRecordAgeInSeconds: Duration.hours(36).toSeconds(),
    });
  });

  it('caps the maximum record age at the 7 days Lambda allows', () => {
    const longRetention = synthGatewayStack({ retentionHours: 24 * 30 });
    longRetention.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      MaximumRecordAgeInSeconds: Duration.days(7).toSeconds(),
    });
  });

  it('runs the handler on Node.js 22 on arm64 with the tables, retention and Powertools settings', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: { LogGroup: ref(consumer.logGroup.logGroupName) },
      Environment: {
        Variables: Match.objectLike({
          RESOURCES_TABLE_NAME: ref(stack.resources.table.tableName),
          STATUS_TABLE_NAME: ref(stack.status.table.tableName),
          STATUS_RETENTION_DAYS: '7',
          FIELD_ENCRYPTION_KEY_ARN: ref(stack.fieldKey.key.keyArn),
          POWERTOOLS_SERVICE_NAME: METRICS_SERVICE.consumer,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          POWERTOOLS_METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
        }),
      },
    });
  });

  it('sends failed batches to a queue encrypted with SQS-managed keys that refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(consumer.onFailureQueue.queueUrl)],
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ],
      },
    });
  });

  it('lets the consumer only read the stream, decrypt, use the two tables, send to its queue and write its logs', () => {
    const statements = roleStatements(template, logicalId(template, 'AWS::IAM::Role', 'ConsumerRole'));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: ref(consumer.logGroup.logGroupArn),
      },
      {
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: ref(consumer.onFailureQueue.queueArn),
      },
      {
        Effect: 'Allow',
        // Lambda's Kinesis poller describes the stream and lists its shards; CDK's grantRead adds the
        // enhanced fan-out reads (SubscribeToShard, DescribeStreamConsumer) and ListStreams.
        Action: [
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamConsumer',
          'kinesis:DescribeStreamSummary',
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:ListShards',
          'kinesis:ListStreams',
          'kinesis:SubscribeToShard',
        ],
        Resource: ref(stack.operations.stream.streamArn),
      },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: [ref(stack.fieldKey.key.keyArn), ref(stack.operations.key.keyArn)],
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: ref(stack.status.table.tableArn),
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        Resource: ref(stack.resources.table.tableArn),
      },
    ]);
  });

  describe('with consumerFanOut', () => {
    const fanOut = synthGatewayStack({ consumerFanOut: true });
    const fanOutRef = (token: string) => fanOut.stack.resolve(token);
    const streamConsumer = fanOut.stack.consumer.streamConsumer!;

    it('registers an enhanced fan-out consumer on the stream and puts the event source on it', () => {
      fanOut.template.hasResourceProperties('AWS::Kinesis::StreamConsumer', {
        StreamARN: fanOutRef(fanOut.stack.operations.stream.streamArn),
        ConsumerName: Match.stringLikeRegexp('Consumer'),
      });
      fanOut.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: fanOutRef(streamConsumer.streamConsumerArn),
        StartingPosition: 'TRIM_HORIZON',
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    });

    it('lets the function subscribe to shards through that consumer only', () => {
      const statements = roleStatements(fanOut.template, logicalId(fanOut.template, 'AWS::IAM::Role', 'ConsumerRole'));
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'],
        Resource: fanOutRef(streamConsumer.streamConsumerArn),
      });
    });

    it('alarms on how far the subscription is behind, since a fan-out reader makes no GetRecords calls', () => {
      fanOut.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Kinesis',
        MetricName: 'SubscribeToShardEvent.MillisBehindLatest',
        Dimensions: Match.arrayWith([
          { Name: 'ConsumerName', Value: fanOutRef(streamConsumer.streamConsumerName) },
          { Name: 'StreamName', Value: fanOutRef(fanOut.stack.operations.stream.streamName) },
        ]),
        TreatMissingData: 'breaching',
      });
      const polled = Object.values(fanOut.template.findResources('AWS::CloudWatch::Alarm')).filter(
        (a) => a.Properties.MetricName === 'GetRecords.IteratorAgeMilliseconds',
      );
      expect(polled).toEqual([]);
    });

    it('has no fan-out consumer by default', () => {
      template.resourceCountIs('AWS::Kinesis::StreamConsumer', 0);
    });
  });

  it('refuses a batch size whose worst case would not fit in the 15-minute function timeout', () => {
    expect(() => synthGatewayStack({ consumerBatchSize: 10_000 })).toThrow(/batchSize must be an integer from 1 to/);
  });

  it('bundles the AWS SDK of package-lock.json (the one the tests ran against) into the function instead of using the runtime\'s', () => {
    const app = testApp({ bundling: true });
    const { stack: bundled, template: t } = synthGatewayStack({}, app);
    const fn = t.toJSON().Resources[bundled.getLogicalId(bundled.consumer.function.node.defaultChild as never)];
    const manifest = JSON.parse(readFileSync(join(app.synth().directory, `${bundled.artifactId}.assets.json`), 'utf8'));
    const assetDir = join(app.outdir, manifest.files[String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')].source.path);
    const bundle = readFileSync(join(assetDir, 'index.js'), 'utf8');
    // The one left is the SDK's optional CRT signer, which it probes for inside a try and does without.
    const required = new Set(bundle.match(/require\("@(aws-sdk|smithy)\/[^"]+"\)/g) ?? []);
    expect([...required]).toEqual(['require("@aws-sdk/signature-v4-crt")']);
    // The clients themselves are inside: DynamoDB's and KMS's JSON protocol targets.
    expect(bundle).toContain('DynamoDB_20120810');
    expect(bundle).toContain('TrentService');
  }, 120_000);

  it('attaches no managed policy to the consumer role', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });
});
