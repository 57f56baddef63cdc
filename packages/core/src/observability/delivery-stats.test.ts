import { describe, expect, it } from 'vitest';
import { DASHBOARD_LATENCY_BUCKETS, histogramPercentile } from './delivery-stats.js';

describe('histogramPercentile', () => {
  const empty = () => new Array<number>(DASHBOARD_LATENCY_BUCKETS.length + 1).fill(0);

  it('is null for an empty histogram', () => {
    expect(histogramPercentile(empty(), 0.5)).toBeNull();
  });

  it('interpolates inside the bucket the rank falls in', () => {
    const h = empty();
    h[3] = 100; // (0.05 s, 0.1 s]
    expect(histogramPercentile(h, 0.5)).toBeCloseTo(0.075, 5);
    expect(histogramPercentile(h, 0.99)).toBeCloseTo(0.0995, 5);
  });

  it('finds the tail in a higher bucket', () => {
    const h = empty();
    h[0] = 98; // <= 10 ms
    h[6] = 2; // (0.5 s, 1 s]
    expect(histogramPercentile(h, 0.5)).toBeLessThanOrEqual(0.01);
    expect(histogramPercentile(h, 0.99)).toBeGreaterThan(0.5);
  });
});
