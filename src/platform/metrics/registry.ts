import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HttpRequestSeries } from './http-series.js';

export interface HttpMetrics {
  requests: HttpRequestSeries;
  shed: Counter;
}

export interface Metrics {
  registry: Registry;
  http: HttpMetrics;
  /**
   * A counter for hot paths: `count('a', 'b')` adds one to a plain number, and the totals
   * reach prom-client only at scrape time (its label hashing on every increment costs more
   * than the work being counted). Series in `known` are exported at 0 before their first
   * count, so `rate()` and `increase()` see the first one.
   */
  tally(name: string, help: string, labelNames: readonly string[], known?: readonly (readonly string[])[]): (...labelValues: string[]) => void;
  /** Registers a gauge whose value is read at scrape time. */
  gauge(name: string, help: string, labelNames: readonly string[], collect: (set: (labels: Record<string, string>, value: number) => void) => void | Promise<void>): void;
  /** Registers a counter whose running total is kept elsewhere and read at scrape time. */
  counter(name: string, help: string, labelNames: readonly string[], collect: (set: (labels: Record<string, string>, total: number) => void) => void): void;
  /** A histogram of seconds; the returned function starts a timer and gives back the one that observes it. */
  timer(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): (labels: Record<string, string>) => () => void;
}

// Buckets resolve the SLO thresholds (0.1 s, 0.5 s, 1 s, 3 s) exactly, so P95 < 1 s and P99 < 3 s
// can be read off without interpolation across a threshold.
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10];

/** One registry per process; nothing global, so tests can build several side by side. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const http: HttpMetrics = {
    requests: new HttpRequestSeries(registry, HTTP_DURATION_BUCKETS),
    shed: new Counter({ name: 'http_requests_shed_total', help: 'Requests refused with 503 by load shedding.', registers: [registry] }),
  };
  const counter: Metrics['counter'] = (name, help, labelNames, collect) => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        collect((labels, total) => this.inc(labels, total));
      },
    });
  };
  return {
    registry,
    http,
    tally(name, help, labelNames, known = []) {
      const totals = new Map<string, { labels: Record<string, string>; value: number }>();
      const seriesOf = (values: readonly string[]) => {
        const key = values.join('\u0000');
        let total = totals.get(key);
        if (!total) totals.set(key, (total = { labels: Object.fromEntries(labelNames.map((label, i) => [label, values[i] ?? ''])), value: 0 }));
        return total;
      };
      for (const values of known) seriesOf(values);
      counter(name, help, labelNames, (set) => {
        for (const { labels, value } of totals.values()) set(labels, value);
      });
      return (...values) => {
        seriesOf(values).value++;
      };
    },
    gauge(name, help, labelNames, collect) {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          await collect((labels, value) => this.set(labels, value));
        },
      });
    },
    counter,
    timer(name, help, labelNames, buckets) {
      const histogram = new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [registry] });
      return (labels) => {
        const end = histogram.startTimer(labels);
        // prom-client's end() takes labels: an argument a caller passes on (a failed
        // statement's error, whose fields are not labels) must never reach it.
        return () => void end();
      };
    },
  };
}
