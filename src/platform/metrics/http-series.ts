import type { Registry } from 'prom-client';

interface ScrapedValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  method: string;
  status: number;
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; cumulated at scrape time. */
  buckets: Float64Array;
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, recorded per request for the
 * price of a Map lookup and a few additions. prom-client's own Histogram hashes the label
 * object on every observe, about 20× slower on the request path; prom-client still owns the
 * registry and the text format, these are plain metric objects it scrapes.
 */
export class HttpRequestSeries {
  readonly #byRoute = new Map<string, Series[]>();
  /** Every series, in creation order, for scrapes. */
  readonly #series: Series[] = [];
  readonly #bounds: readonly number[];

  constructor(registry: Registry, bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#register(registry, 'http_requests_total', 'HTTP requests answered, by method, route pattern and status.', 'counter', () => this.#counterValues());
    this.#register(registry, 'http_request_duration_seconds', 'HTTP request duration in seconds, by method, route pattern and status.', 'histogram', () => this.#histogramValues());
  }

  #register(registry: Registry, name: string, help: string, type: string, values: () => ScrapedValue[]): void {
    // The shape prom-client's Registry reads from any metric: get() at scrape time.
    const metric = { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }), reset: () => this.#reset() };
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    // Routes are interned strings with cached hashes; a route sees a handful of
    // (method, status) pairs, so a scan beats building and hashing a composite key.
    let forRoute = this.#byRoute.get(route);
    if (forRoute === undefined) {
      forRoute = [];
      this.#byRoute.set(route, forRoute);
    }
    let series: Series | undefined;
    for (let i = 0; i < forRoute.length; i++) {
      const candidate = forRoute[i]!;
      if (candidate.status === status && candidate.method === method) {
        series = candidate;
        break;
      }
    }
    if (series === undefined) {
      series = { method, status, labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: new Float64Array(this.#bounds.length) };
      forRoute.push(series);
      this.#series.push(series);
    }
    series.count += 1;
    series.sum += seconds;
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        series.buckets[i] = (series.buckets[i] as number) + 1;
        break;
      }
    }
  }

  #reset(): void {
    this.#byRoute.clear();
    this.#series.length = 0;
  }

  #counterValues(): ScrapedValue[] {
    return this.#series.map((s) => ({ labels: s.labels, value: s.count }));
  }

  #histogramValues(): ScrapedValue[] {
    const values: ScrapedValue[] = [];
    for (const s of this.#series) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.buckets[i] as number;
        values.push({ metricName: 'http_request_duration_seconds_bucket', labels: { le, ...s.labels }, value: cumulative });
      });
      values.push({ metricName: 'http_request_duration_seconds_bucket', labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: 'http_request_duration_seconds_sum', labels: s.labels, value: s.sum });
      values.push({ metricName: 'http_request_duration_seconds_count', labels: s.labels, value: s.count });
    }
    return values;
  }
}
