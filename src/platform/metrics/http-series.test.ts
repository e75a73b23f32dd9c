import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HttpRequestSeries } from './http-series.js';

describe('HTTP request series', () => {
  it('keeps one series per method, route and status, with cumulative buckets', async () => {
    const registry = new Registry();
    const series = new HttpRequestSeries(registry, [0.1, 1]);
    series.observe('GET', '/v1/items/:id', 200, 0.05);
    series.observe('GET', '/v1/items/:id', 200, 0.5);
    series.observe('HEAD', '/v1/items/:id', 200, 0.01);
    series.observe('GET', '/v1/items/:id', 404, 2);
    series.observe('GET', '/health', 200, 0.001);

    const text = await registry.metrics();
    expect(text).toContain('http_requests_total{method="GET",route="/v1/items/:id",status="200"} 2');
    expect(text).toContain('http_requests_total{method="HEAD",route="/v1/items/:id",status="200"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/v1/items/:id",status="404"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/health",status="200"} 1');
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.1",method="GET",route="/v1/items/:id",status="200"} 1');
    expect(text).toContain('http_request_duration_seconds_bucket{le="1",method="GET",route="/v1/items/:id",status="200"} 2');
    expect(text).toContain('http_request_duration_seconds_bucket{le="1",method="GET",route="/v1/items/:id",status="404"} 0');
    expect(text).toContain('http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/items/:id",status="404"} 1');
    expect(text).toContain('http_request_duration_seconds_sum{method="GET",route="/v1/items/:id",status="200"} 0.55');

    registry.resetMetrics();
    series.observe('GET', '/health', 200, 0.001);
    const after = await registry.metrics();
    expect(after).toContain('http_requests_total{method="GET",route="/health",status="200"} 1');
    expect(after).not.toContain('/v1/items/:id');
  });
});
