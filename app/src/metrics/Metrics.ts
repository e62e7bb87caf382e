/** CloudWatch units used by the gateway's metrics. */
export type MetricUnit = 'Count' | 'Milliseconds';

export type Dimensions = Record<string, string>;

export interface MetricsOptions {
  namespace: string;
  /** Dimensions on every metric; the service's name, as Powertools sets it in the consumer. */
  defaultDimensions: Dimensions;
  /** Where EMF documents go (one JSON line each). @default process.stdout */
  sink?: (line: string) => void;
  /** Samples kept per distribution and interval; EMF takes at most 100 values per metric. @default 100 */
  maxSamples?: number;
  /** @default Math.random */
  random?: () => number;
}

interface Series {
  dimensions: Dimensions;
  counters: Map<string, { unit: MetricUnit; sum: number }>;
  distributions: Map<string, { unit: MetricUnit; seen: number; samples: number[] }>;
}

/**
 * Gateway metrics in CloudWatch embedded metric format, aggregated in memory and written on `flush()` (the
 * server flushes every 10 s): a counter is one summed value per interval; a distribution is a uniform sample
 * of at most 100 values per interval (reservoir sampling), enough for percentiles at any request rate without
 * a log line per request. Dimensions stay bounded: service, operation, status class, never a tenant.
 */
export class Metrics {
  #series = new Map<string, Series>();
  readonly #o: MetricsOptions;
  readonly #maxSamples: number;
  readonly #random: () => number;
  readonly #sink: (line: string) => void;

  constructor(o: MetricsOptions) {
    this.#o = o;
    this.#maxSamples = o.maxSamples ?? 100;
    this.#random = o.random ?? Math.random;
    this.#sink = o.sink ?? ((line) => process.stdout.write(`${line}\n`));
  }

  #seriesFor(dimensions: Dimensions): Series {
    let key = '';
    for (const k in dimensions) key += `${k}\u0000${dimensions[k]}\u0000`;
    let s = this.#series.get(key);
    if (!s) {
      s = { dimensions, counters: new Map(), distributions: new Map() };
      this.#series.set(key, s);
    }
    return s;
  }

  /** Adds `value` to a counter. */
  count(name: string, value = 1, dimensions: Dimensions = {}): void {
    const s = this.#seriesFor(dimensions);
    const c = s.counters.get(name);
    if (c) c.sum += value;
    else s.counters.set(name, { unit: 'Count', sum: value });
  }

  /** Records one observation of a distribution (latency, batch size). */
  observe(name: string, value: number, unit: MetricUnit, dimensions: Dimensions = {}): void {
    const s = this.#seriesFor(dimensions);
    let d = s.distributions.get(name);
    if (!d) {
      d = { unit, seen: 0, samples: [] };
      s.distributions.set(name, d);
    }
    d.seen++;
    if (d.samples.length < this.#maxSamples) d.samples.push(value);
    else {
      const j = Math.floor(this.#random() * d.seen);
      if (j < this.#maxSamples) d.samples[j] = value;
    }
  }

  /** Writes one EMF document per dimension set and starts a new interval. */
  flush(now = Date.now()): void {
    const series = this.#series;
    this.#series = new Map();
    for (const s of series.values()) {
      const dims = { ...this.#o.defaultDimensions, ...s.dimensions };
      const doc: Record<string, unknown> = {
        _aws: {
          Timestamp: now,
          CloudWatchMetrics: [
            {
              Namespace: this.#o.namespace,
              Dimensions: [Object.keys(dims)],
              Metrics: [
                ...[...s.counters].map(([Name, c]) => ({ Name, Unit: c.unit })),
                ...[...s.distributions].map(([Name, d]) => ({ Name, Unit: d.unit })),
              ],
            },
          ],
        },
        ...dims,
      };
      for (const [name, c] of s.counters) doc[name] = c.sum;
      for (const [name, d] of s.distributions) doc[name] = d.samples.length === 1 ? d.samples[0] : d.samples;
      this.#sink(JSON.stringify(doc));
    }
  }
}

export { GATEWAY_METRICS } from '../../../common/metricNames';
