import { type BackpressureSettings, decideBackpressure, fnv1a, samplePoints } from './backpressure';
import type { IngestPoint } from './ingest.request';

const throttle: BackpressureSettings = { policy: 'throttle', lagThreshold: 1_000, sampleRate: 0.25, retryAfterSeconds: 7 };
const sample: BackpressureSettings = { ...throttle, policy: 'sample' };

const points = (count: number, series = 1, from = 1_700_000_000_000): IngestPoint[] =>
  Array.from({ length: count }, (_, i) => ({
    serviceId: 'checkout',
    name: 'latency_ms',
    value: i,
    timestamp: from + Math.floor(i / series) * 1_000,
    labels: { pod: `pod-${i % series}` },
  }));

describe('decideBackpressure', () => {
  it('accepts while the lag is at or under the threshold', () => {
    expect(decideBackpressure(throttle, { messages: 0 })).toEqual({ mode: 'accept' });
    expect(decideBackpressure(throttle, { messages: 1_000 })).toEqual({ mode: 'accept' });
  });

  it('throttles above the threshold with the configured Retry-After', () => {
    expect(decideBackpressure(throttle, { messages: 1_001 })).toEqual({ mode: 'throttle', retryAfterSeconds: 7, lagMessages: 1_001 });
  });

  it('samples above the threshold at the configured rate when the policy is sample', () => {
    expect(decideBackpressure(sample, { messages: 50_000, seconds: 30 })).toEqual({ mode: 'sample', rate: 0.25, lagMessages: 50_000 });
  });

  it('fails open: an unknown lag (never read, or the read failed) applies no backpressure', () => {
    expect(decideBackpressure(throttle, undefined)).toEqual({ mode: 'accept' });
    expect(decideBackpressure(sample, undefined)).toEqual({ mode: 'accept' });
  });
});

describe('samplePoints', () => {
  it('keeps about the rate of a batch and says how many it dropped', () => {
    const batch = points(10_000, 20);
    const { kept, dropped } = samplePoints(batch, 0.25);

    expect(kept.length + dropped).toBe(10_000);
    expect(kept.length / 10_000).toBeGreaterThan(0.23);
    expect(kept.length / 10_000).toBeLessThan(0.27);
  });

  it('decides by the point alone: the same point is kept on every call, whatever batch it travels in', () => {
    const batch = points(2_000, 10);
    const first = samplePoints(batch, 0.3).kept;
    const again = samplePoints([...batch].reverse(), 0.3).kept;
    const inHalves = [...samplePoints(batch.slice(0, 1_000), 0.3).kept, ...samplePoints(batch.slice(1_000), 0.3).kept];

    expect(new Set(again)).toEqual(new Set(first));
    expect(inHalves).toEqual(first);
  });

  it('keeps about the rate of every series, even when series alternate point by point', () => {
    const batch = points(8_000, 2); // pod-0, pod-1, pod-0, pod-1...
    const { kept } = samplePoints(batch, 0.5);
    for (const pod of ['pod-0', 'pod-1']) {
      const share = kept.filter((p) => p.labels['pod'] === pod).length / 4_000;
      expect({ pod, near: Math.abs(share - 0.5) < 0.04 }).toEqual({ pod, near: true });
    }
  });

  it('keeps everything at rate 1', () => {
    expect(samplePoints(points(100), 1)).toEqual({ kept: points(100), dropped: 0 });
  });
});

describe('fnv1a', () => {
  it('spreads similar keys over the whole 32-bit range', () => {
    const hashes = Array.from({ length: 4_000 }, (_, i) => fnv1a(`checkout|latency_ms@${1_700_000_000_000 + i}`));
    const quarters = [0, 0, 0, 0];
    for (const hash of hashes) quarters[Math.floor(hash / 0x4000_0000)]++;
    for (const count of quarters) expect(Math.abs(count - 1_000)).toBeLessThan(120);
    expect(Math.max(...hashes)).toBeLessThan(2 ** 32);
  });
});
