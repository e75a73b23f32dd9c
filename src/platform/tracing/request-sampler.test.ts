import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { requestSampler } from './start-tracing.js';

const parent = (flags: number) => trace.setSpanContext(ROOT_CONTEXT, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: flags, isRemote: true });
const sampledParent = parent(TraceFlags.SAMPLED);
const unsampledParent = parent(TraceFlags.NONE);

describe('the sampling decision for a request, taken before any span exists', () => {
  it('tosses a coin against the ratio for a new trace', () => {
    expect(requestSampler('parentbased_traceidratio', 0.25, () => 0.2)(ROOT_CONTEXT)).toBe(true);
    expect(requestSampler('parentbased_traceidratio', 0.25, () => 0.25)(ROOT_CONTEXT)).toBe(false);
  });

  it('follows the parent\'s flag for the parent-based samplers, whatever the root rule', () => {
    expect(requestSampler('parentbased_traceidratio', 0, () => 0.5)(sampledParent)).toBe(true);
    expect(requestSampler('parentbased_traceidratio', 1, () => 0)(unsampledParent)).toBe(false);
    expect(requestSampler('parentbased_always_off', 1)(sampledParent)).toBe(true);
    expect(requestSampler('parentbased_always_on', 1)(unsampledParent)).toBe(false);
    expect(requestSampler('parentbased_always_on', 1)(ROOT_CONTEXT)).toBe(true);
  });

  it('ignores the parent for the samplers that are not parent-based', () => {
    expect(requestSampler('always_off', 1)(sampledParent)).toBe(false);
    expect(requestSampler('always_on', 0)(unsampledParent)).toBe(true);
  });

  it('leaves plain traceidratio to the SDK, which decides every span of a trace by its id alike', () => {
    expect(requestSampler('traceidratio', 0.5, () => 0)(ROOT_CONTEXT)).toBeUndefined();
    expect(requestSampler('traceidratio', 0.5, () => 0.9)(sampledParent)).toBeUndefined();
  });
});
