import { seriesKey } from '@qls/metrics-contracts';
import type { IngestPoint } from './ingest.request';

/** How far the alerting consumer group is behind on `metrics-raw`. */
export interface AlertingLag {
  /** Records produced but not yet committed by the group, summed over partitions. */
  readonly messages: number;
  /** The same as time, when the source can tell. */
  readonly seconds?: number;
}

/** Where the ingest reads the alerting group's lag from (Kafka offsets in production: {@link KafkaGroupLagSource}). */
export interface AlertingLagSource {
  lag(): Promise<AlertingLag>;
}

export const backpressurePolicies = ['throttle', 'sample'] as const;
export type BackpressurePolicyName = (typeof backpressurePolicies)[number];

export interface BackpressureSettings {
  /** What to do while the lag is above the threshold. */
  readonly policy: BackpressurePolicyName;
  /** Lag in records above which the policy applies (strictly above). */
  readonly lagThreshold: number;
  /** `sample`: the fraction of points kept, in (0, 1]. */
  readonly sampleRate: number;
  /** `throttle`: the Retry-After given to callers, in seconds. */
  readonly retryAfterSeconds: number;
}

/** What the ingest does with the next request. */
export type BackpressureDecision =
  | { readonly mode: 'accept' }
  | { readonly mode: 'throttle'; readonly retryAfterSeconds: number; readonly lagMessages: number }
  | { readonly mode: 'sample'; readonly rate: number; readonly lagMessages: number };

const accept: BackpressureDecision = { mode: 'accept' };

/**
 * The backpressure policy (chapter "Queues, Logs, and Streams", Part 6B): when
 * the alerting consumers fall behind by more than `lagThreshold` records, the
 * ingest either refuses points (`throttle`: 429 with Retry-After, the callers
 * buffer and retry) or keeps a fraction of them (`sample`: 202 saying how many
 * were dropped). An unknown lag (`undefined`: never read, or the last read
 * failed) never throttles: a broken lag reading must not stop ingestion.
 */
export function decideBackpressure(settings: BackpressureSettings, lag: AlertingLag | undefined): BackpressureDecision {
  if (lag === undefined || lag.messages <= settings.lagThreshold) return accept;
  if (settings.policy === 'throttle') {
    return { mode: 'throttle', retryAfterSeconds: settings.retryAfterSeconds, lagMessages: lag.messages };
  }
  return { mode: 'sample', rate: settings.sampleRate, lagMessages: lag.messages };
}

/**
 * Keeps the points whose hash (of series and timestamp) falls under `rate`:
 * about `rate` of every batch, decided by the point alone — the same point is
 * kept or dropped on every replica and on every retry of the batch (so a
 * retried request produces exactly what it produced before), and every series
 * keeps about `rate` of its points over time, rather than whole series
 * disappearing (which a stride over the batch would do to interleaved series).
 */
export function samplePoints<P extends IngestPoint>(points: readonly P[], rate: number): { kept: P[]; dropped: number } {
  if (rate >= 1) return { kept: [...points], dropped: 0 };
  const cutoff = rate * 0x1_0000_0000;
  const kept = points.filter((point) => fnv1a(`${seriesKey(point)}@${point.timestamp}`) < cutoff);
  return { kept, dropped: points.length - kept.length };
}

/** 32-bit FNV-1a, then a murmur3 finaliser so that nearby keys spread over the whole range. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
