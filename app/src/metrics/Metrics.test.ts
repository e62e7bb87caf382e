import { describe, expect, it } from 'vitest';
import { DEFAULT_METRICS_NAMESPACE, GATEWAY_METRICS, METRICS_SERVICE } from '../../../common/metricNames';
import { Metrics } from './Metrics';

function capture() {
  const lines: string[] = [];
  const m = new Metrics({ namespace: DEFAULT_METRICS_NAMESPACE, defaultDimensions: { service: METRICS_SERVICE.gateway }, sink: (l) => lines.push(l), random: () => 0.99 });
  return { m, docs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } }) };
}

/** Checks a document against the EMF specification's required shape. */
function expectValidEmf(doc: ReturnType<ReturnType<typeof capture>['docs']>[number]) {
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toMatch(/^[^:].{0,255}$/);
    expect(directive.Dimensions.every((set) => set.length <= 30 && set.every((d) => typeof doc[d] === 'string'))).toBe(true);
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const metric of directive.Metrics) {
      const v = doc[metric.Name];
      const values = Array.isArray(v) ? v : [v];
      expect(values.length).toBeLessThanOrEqual(100);
      expect(values.every((x) => typeof x === 'number')).toBe(true);
    }
  }
}

describe('Metrics', () => {
  it('writes valid EMF with counters summed per dimension set', () => {
    const { m, docs } = capture();
    m.count(GATEWAY_METRICS.requests, 1, { Operation: 'create', StatusClass: '2xx' });
    m.count(GATEWAY_METRICS.requests, 1, { Operation: 'create', StatusClass: '2xx' });
    m.count(GATEWAY_METRICS.requests, 1, { Operation: 'list', StatusClass: '4xx' });
    m.flush(1_700_000_000_000);
    const [a, b] = docs();
    expect(a).toMatchObject({ service: METRICS_SERVICE.gateway, Operation: 'create', StatusClass: '2xx', [GATEWAY_METRICS.requests]: 2 });
    expect(a!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'Operation', 'StatusClass']]);
    expect(b).toMatchObject({ Operation: 'list', StatusClass: '4xx', [GATEWAY_METRICS.requests]: 1 });
    docs().forEach(expectValidEmf);
  });

  it('keeps at most 100 samples of a distribution', () => {
    const { m, docs } = capture();
    for (let i = 0; i < 1000; i++) m.observe(GATEWAY_METRICS.requestLatency, i, 'Milliseconds');
    m.flush();
    const [doc] = docs();
    expect(doc![GATEWAY_METRICS.requestLatency]).toHaveLength(100);
    expectValidEmf(doc!);
  });

  it('starts a new interval after a flush', () => {
    const { m, docs } = capture();
    m.count(GATEWAY_METRICS.requests);
    m.flush();
    m.flush();
    expect(docs()).toHaveLength(1);
  });
});
