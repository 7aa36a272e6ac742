/**
 * The pure part of `./dev demo` (demo.ts): its options and the product's addresses, the metrics
 * spike that makes an alert rule fire and then resolve, the feed cast with the fan-out tier of
 * each author, and what the demo reads back from Jaeger. No I/O and no import.meta, so jest
 * (ts-jest, CommonJS) loads it: demo.spec.ts.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import type { Channel, JaegerSpan, JaegerTrace, MetricPoint, PromSample } from './demo-client.ts';

export class InputError extends Error {}

// ---------------------------------------------------------------- options

export interface DemoOptions {
  /** User actions per second: notifications, posts, feed reads, follows (ACTION_MIX). The services' metrics come on top. */
  readonly rate: number;
  /** How long the traffic runs (setting up the feed graph and the summary come on top). */
  readonly minutes: number;
}

/** Light enough for a 2-core laptop that also runs every server and app; long enough for one alert to fire and resolve. */
export const DEFAULT_OPTIONS: DemoOptions = { rate: 20, minutes: 3 };
const MAX_RATE = 500;
const MAX_MINUTES = 120;

export const USAGE = `usage: ./dev demo [--rate <actions/s>] [--minutes <m>]
  --rate      user actions per second across the product (default ${DEFAULT_OPTIONS.rate}, at most ${MAX_RATE}):
              40 % notifications, 30 % feed reads, 20 % posts, 10 % follows/unfollows;
              the demo services' metrics come on top (one request per service per second)
  --minutes   how long the traffic runs (default ${DEFAULT_OPTIONS.minutes}, at most ${MAX_MINUTES}; fractions allowed);
              an alert needs about 2.2 minutes to fire and resolve
Runs against the product started by ./dev up (ports: docker-compose.yml's + QLS_APP_PORT_OFFSET,
JAEGER_QUERY_PORT, PROMETHEUS_PORT). Ctrl-C stops early and still prints the summary.`;

/** `--rate 20 --minutes 3` (or `--rate=20`); 'help' for -h/--help. */
export function parseArgs(argv: readonly string[]): DemoOptions | 'help' {
  const options = { ...DEFAULT_OPTIONS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return 'help';
    const match = /^--(rate|minutes)(?:=(.*))?$/.exec(arg);
    if (!match) throw new InputError(`unknown argument "${arg}"`);
    const name = match[1] as 'rate' | 'minutes';
    const text = match[2] ?? argv[++i];
    const value = Number(text);
    const max = name === 'rate' ? MAX_RATE : MAX_MINUTES;
    if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) {
      throw new InputError(`--${name} expects a number in (0, ${max}], got ${text === undefined ? 'nothing' : `"${text}"`}`);
    }
    options[name] = value;
  }
  return options;
}

// ---------------------------------------------------------------- where the product is

/** docker-compose.yml's host ports of the apps the demo calls or points to; `./dev up` adds QLS_APP_PORT_OFFSET. */
export const APP_PORTS = {
  'notification-api': 3001,
  'notification-dlq-monitor': 3002,
  'metrics-ingest': 3003,
  'metrics-storage': 3004,
  'stream-ops': 3005,
  'metrics-dashboard': 3006,
  'feed-api': 3007,
} as const;
export type AppName = keyof typeof APP_PORTS;

/** The demo cannot run without these; the others only feed the summary. */
export const REQUIRED_APPS: readonly AppName[] = ['notification-api', 'metrics-ingest', 'feed-api'];

export interface Endpoints {
  readonly apps: Readonly<Record<AppName, string>>;
  readonly jaeger: string;
  readonly prometheus: string;
}

/** Base URLs from the environment `./dev` loads (infra/env/local.env, .env): the same variables `./dev up` reads. */
export function endpoints(env: Readonly<Record<string, string | undefined>>): Endpoints {
  const offset = integerVar(env, 'QLS_APP_PORT_OFFSET', 0, 0, 50_000);
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const apps = Object.fromEntries(Object.entries(APP_PORTS).map(([name, port]) => [name, url(port + offset)])) as Record<AppName, string>;
  return {
    apps,
    jaeger: url(integerVar(env, 'JAEGER_QUERY_PORT', 16_686, 1, 65_535)),
    prometheus: url(integerVar(env, 'PROMETHEUS_PORT', 9_090, 1, 65_535)),
  };
}

function integerVar(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, min: number, max: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new InputError(`${name} must be an integer in [${min}, ${max}], got "${text}"`);
  return value;
}

// ---------------------------------------------------------------- the alert rule and the spike

/** The rule the demo makes fire: p99 latency, which one slow route of one service pushes over its threshold. */
const SPIKE_RULE_NAME = 'http-latency-p99-high';

/** What the demo needs of a threshold rule of infra/alerting/rules.json (libs/metrics/windowing/README.md). */
export interface SpikeRule {
  readonly name: string;
  readonly metric: string;
  readonly match: Readonly<Record<string, string>>;
  readonly sizeMs: number;
  /** = sizeMs for a tumbling window. */
  readonly slideMs: number;
  readonly forMs: number;
  readonly aggregation: string;
  readonly op: string;
  readonly threshold: number;
}

/**
 * The timing below holds when a window with a few spike points among hundreds breaches: a high
 * percentile (p90 needs 10 % of the window, 6 s of a 60 s one) or the max. avg, min or p50 would
 * need most of the window to be slow.
 */
const SPIKEABLE_AGGREGATIONS = ['max', 'p90', 'p95', 'p99'];

/** The rule named `name` of a rules file (the alerter checks the file at boot; this checks what the demo relies on). */
export function spikeRuleFrom(rulesJson: string, name = SPIKE_RULE_NAME): SpikeRule {
  const rules = (JSON.parse(rulesJson) as { rules?: Record<string, unknown>[] }).rules ?? [];
  const rule = rules.find((candidate) => candidate['name'] === name);
  if (rule === undefined) throw new InputError(`the alert rules have no rule "${name}", which the demo's spike is made for`);
  const window = rule['window'] as { sizeMs: number; slideMs?: number } | undefined;
  const aggregation = String(rule['aggregation']);
  if (
    rule['kind'] !== 'threshold' ||
    window === undefined ||
    !['>', '>='].includes(String(rule['op'])) ||
    !SPIKEABLE_AGGREGATIONS.includes(aggregation)
  ) {
    throw new InputError(`rule "${name}": the demo spikes threshold rules "> x" on ${SPIKEABLE_AGGREGATIONS.join(', ')}`);
  }
  return {
    name,
    metric: String(rule['metric']),
    match: (rule['match'] as Record<string, string> | undefined) ?? {},
    sizeMs: window.sizeMs,
    slideMs: window.slideMs ?? window.sizeMs,
    forMs: Number(rule['forMs'] ?? 0),
    aggregation,
    op: String(rule['op']),
    threshold: Number(rule['threshold']),
  };
}

/** The spike's timing allowances, in milliseconds. */
const SPIKE_MS = {
  /**
   * metrics-alerter's defaults (apps/metrics/alerter/src/config.ts; docker-compose.yml sets
   * neither): a window is final, and only then evaluated, once the watermark (the largest event
   * time seen − the out-of-orderness) is past its end + the allowed lateness.
   */
  alerterOutOfOrderness: 2_000,
  alerterAllowedLateness: 5_000,
  /** On top: the point's way through Kafka, the alerter's batch and its checkpoint (alerts are committed with it, every 200 ms). */
  pipeline: 5_000,
  /** A spike lasts this much longer than the bare minimum, so the last window it must reach holds enough of its points. */
  margin: 20_000,
  /** Between an alert's resolution and the next spike: a visible stretch of normal traffic. */
  quiet: 30_000,
  /** Normal traffic before the first spike. */
  warmup: 20_000,
} as const;

export interface SpikeTiming {
  /** How long the spiking series stays above the threshold. */
  readonly spikeMs: number;
  /** From the spike's start to the rule's `firing` transition, at most. */
  readonly fireWithinMs: number;
  /** From the spike's end to `resolved`, at most, while points keep coming (the watermark moves with event time). */
  readonly resolveWithinMs: number;
  /** From one spike's start to the next one's. */
  readonly periodMs: number;
}

/**
 * How long a spike must last, and when the alert follows, in event time (the points carry the
 * wall clock of when they are sent: the ingest API takes epoch ms within [now − 30 days,
 * now + 5 min], and event time = wall time keeps the watermark moving at the demo's pace).
 *
 * Windows are [start, start + size) with start a multiple of the slide; with a percentile or max
 * rule a window breaches as soon as it holds a few spike points. For a spike over [s0, s1):
 * - the first breaching window ends at E1 ≤ s0 + slide: the series goes pending, activeAt = E1;
 * - it fires on the breaching window ending at E1 + for, which starts at E1 + for − size: it holds
 *   spike points if s1 > E1 + for − size, so the spike must last max(0, for − size) + slide, plus
 *   a margin; firing then comes by s0 + slide + for;
 * - the first window starting at or after s1 holds no spike point: it ends by s1 + slide + size
 *   and resolves the alert.
 * Each is emitted once the window is final (SPIKE_MS.alerter*) and committed (SPIKE_MS.pipeline).
 * For http-latency-p99-high (60 s windows sliding by 10 s, for 60 s): a 30 s spike, firing within
 * 82 s of its start, resolved within 82 s of its end.
 */
export function spikeTiming(rule: SpikeRule): SpikeTiming {
  const closing = SPIKE_MS.alerterOutOfOrderness + SPIKE_MS.alerterAllowedLateness + SPIKE_MS.pipeline;
  const spikeMs = Math.max(0, rule.forMs - rule.sizeMs) + rule.slideMs + SPIKE_MS.margin;
  const resolveWithinMs = rule.slideMs + rule.sizeMs + closing;
  return {
    spikeMs,
    fireWithinMs: rule.slideMs + rule.forMs + closing,
    resolveWithinMs,
    periodMs: spikeMs + resolveWithinMs + SPIKE_MS.quiet,
  };
}

/** A spike, as offsets from the start of the traffic. */
export interface Spike {
  readonly startMs: number;
  readonly endMs: number;
}

/** Spikes every period after the warm-up, each only if its alert can fire and resolve before the traffic ends. */
export function spikeSchedule(durationMs: number, timing: SpikeTiming): Spike[] {
  const spikes: Spike[] = [];
  for (let start = SPIKE_MS.warmup; start + timing.spikeMs + timing.resolveWithinMs <= durationMs; start += timing.periodMs) {
    spikes.push({ startMs: start, endMs: start + timing.spikeMs });
  }
  return spikes;
}

/** The shortest traffic that holds one spike with its alert's firing and resolution. */
export function minimumSpikeDurationMs(timing: SpikeTiming): number {
  return SPIKE_MS.warmup + timing.spikeMs + timing.resolveWithinMs;
}

export function spikeAt(spikes: readonly Spike[], offsetMs: number): Spike | undefined {
  return spikes.find((spike) => spike.startMs <= offsetMs && offsetMs < spike.endMs);
}

// ---------------------------------------------------------------- the services and their points

export interface DemoService {
  readonly serviceId: string;
  readonly routes: readonly string[];
}

/** Services reporting request latency per route and failed requests; `demo-` keeps their series apart from anyone else's. */
export const SERVICES: readonly DemoService[] = [
  { serviceId: 'demo-checkout', routes: ['/cart', '/pay'] },
  { serviceId: 'demo-search', routes: ['/query', '/suggest'] },
  { serviceId: 'demo-profile', routes: ['/me'] },
];
/** The series that spikes: its payment provider gets slow. */
export const SPIKING_SERIES = { serviceId: 'demo-checkout', route: '/pay' } as const;
/** Per latency series: a 60 s window holds 300 points, so p99 breaches once 4 of them are slow. */
const POINTS_PER_SECOND = 5;
/** Failed requests per service per report (a count); http-errors-high fires above 50 a minute, which the demo stays well under. */
const FAILED_METRIC = 'http_requests_failed';

/**
 * The latency of one request: normally 20 ms plus an exponential tail (mean 60 ms), kept under
 * 80 % of the threshold so no quiet window breaches; while spiking, 1.5–2.5 × the threshold.
 */
export function latencyMs(random: () => number, threshold: number, spiking: boolean): number {
  if (spiking) return Math.round(threshold * (1.5 + random()));
  return Math.round(Math.min(threshold * 0.8, 20 - 60 * Math.log(1 - random())));
}

/**
 * One report of `service` for the time since its previous one, (fromMs, toMs]: POINTS_PER_SECOND
 * latency points per route spread over it (distinct timestamps: the alerter keeps one point per
 * series and timestamp) and the failed requests at toMs.
 */
export function servicePoints(
  service: DemoService,
  rule: SpikeRule,
  fromMs: number,
  toMs: number,
  spiking: (serviceId: string, route: string, timestamp: number) => boolean,
  random: () => number,
): MetricPoint[] {
  const span = toMs - fromMs;
  const perRoute = Math.max(1, Math.min(span, Math.round((span * POINTS_PER_SECOND) / 1_000)));
  const points: MetricPoint[] = [];
  let slow = false;
  for (const route of service.routes) {
    for (let k = 1; k <= perRoute; k++) {
      const timestamp = fromMs + Math.round((k * span) / perRoute);
      const spike = spiking(service.serviceId, route, timestamp);
      slow ||= spike;
      const value = latencyMs(random, rule.threshold, spike);
      points.push({ serviceId: service.serviceId, name: rule.metric, value, timestamp, labels: { ...rule.match, route } });
    }
  }
  // About one failure in 20 reports normally, one in 2 while a route is slow (time-outs): < 50 a minute either way.
  const failed = random() < (slow ? 0.5 : 0.05) ? 1 : 0;
  points.push({ serviceId: service.serviceId, name: FAILED_METRIC, value: failed, timestamp: toMs, labels: {} });
  return points;
}

/**
 * The alerter's fingerprint of a series' alerts (libs/metrics/windowing alerts.ts, README "Alert
 * transitions"): the first 16 hex digits of sha256 of [rule, seriesKey], the series key being
 * service|metric|name=value… with the label names sorted. The demo finds its alert's spans by it.
 */
export function alertFingerprint(rule: string, point: Pick<MetricPoint, 'serviceId' | 'name' | 'labels'>): string {
  const labels = point.labels ?? {};
  const seriesKey = [
    `${point.serviceId}|${point.name}`,
    ...Object.keys(labels)
      .sort()
      .map((name) => `${name}=${labels[name]}`),
  ].join('|');
  return createHash('sha256')
    .update(JSON.stringify([rule, seriesKey]))
    .digest('hex')
    .slice(0, 16);
}

// ---------------------------------------------------------------- users' actions

export type Action = 'notify' | 'read' | 'post' | 'follow';
export const ACTION_MIX: readonly (readonly [Action, number])[] = [
  ['notify', 0.4],
  ['read', 0.3],
  ['post', 0.2],
  ['follow', 0.1],
];
export const CHANNEL_MIX: readonly (readonly [Channel, number])[] = [
  ['push', 0.5],
  ['email', 0.3],
  ['sms', 0.2],
];

/** An entry with probability proportional to its weight. */
export function pickWeighted<T>(entries: readonly (readonly [T, number])[], random: () => number): T {
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let left = random() * total;
  for (const [value, weight] of entries) {
    left -= weight;
    if (left < 0) return value;
  }
  const last = entries.at(-1);
  if (last === undefined) throw new RangeError('nothing to pick from');
  return last[0];
}

export function pickOne<T>(values: readonly T[], random: () => number): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new RangeError('nothing to pick from');
  return value;
}

// ---------------------------------------------------------------- the feed cast and its fan-out tiers

/** The fan-out tiers (libs/feeds/distribution tiers.ts), named as feed_fanout_events_total's `tier` label. */
export type Tier = 'direct' | 'queued' | 'pull';

/** How the summary names a tier. */
export const TIER_NAMES: Readonly<Record<Tier, string>> = { direct: 'direct', queued: 'queued', pull: 'celebrity' };

export const TIER_DESCRIPTIONS: Readonly<Record<Tier, string>> = {
  direct: 'direct push: feed-fanout writes each follower feed in Redis',
  queued: 'SQS fan-out tasks: feed-fanout queues slices of followers, feed-fanout-worker writes them',
  pull: "celebrity: no fan-out, feed-api merges the author's recent posts at read time",
};

export interface FanOutThresholds {
  /** FANOUT_DIRECT_BELOW: authors with fewer followers are pushed directly. */
  readonly directBelow: number;
  /** FEED_CELEBRITY_THRESHOLD: from this many followers an author is merged at read time. */
  readonly celebrityAt: number;
}

/** The tier an author with `followers` followers is in: the fan-out's rule. */
export function tierOf(followers: number, thresholds: FanOutThresholds): Tier {
  if (followers >= thresholds.celebrityAt) return 'pull';
  return followers < thresholds.directBelow ? 'direct' : 'queued';
}

/**
 * The thresholds the product runs with: feed-fanout's environment in docker-compose.yml, which
 * `./dev up` runs verbatim (infra/local/app-plan.ts) and k8s/ is held to.
 */
export function fanOutThresholds(composeYaml: string): FanOutThresholds {
  const compose = parse(composeYaml, { merge: true }) as { services?: Record<string, { environment?: Record<string, unknown> }> };
  const env = compose.services?.['feed-fanout']?.environment ?? {};
  const read = (name: string): number => {
    const value = Number(env[name]);
    if (!Number.isInteger(value) || value < 0)
      throw new InputError(`docker-compose.yml: feed-fanout's ${name} is not a count (${String(env[name])})`);
    return value;
  };
  return { directBelow: read('FANOUT_DIRECT_BELOW'), celebrityAt: read('FEED_CELEBRITY_THRESHOLD') };
}

export interface CastAuthor {
  readonly id: string;
  /** Followers the demo gives the author: every reader, plus `fans` fan accounts. */
  readonly followers: number;
  readonly fans: number;
  /** The tier it is built for. */
  readonly tier: Tier;
}

export interface FeedCast {
  /** Follow every author, read their feeds, unfollow and follow again the direct authors. */
  readonly readers: readonly string[];
  /** Direct authors first. */
  readonly authors: readonly CastAuthor[];
  /** Accounts that only follow (fanId(0) … fanId(fans − 1)): what large audiences are made of. */
  readonly fans: number;
  /** Tiers no author is built for, and why. */
  readonly missing: readonly { readonly tier: Tier; readonly reason: string }[];
}

const READER_COUNT = 24;
export const DIRECT_AUTHORS = ['demo-ana', 'demo-ben', 'demo-cleo'];
const QUEUED_AUTHOR = 'demo-newsroom';
const CELEBRITY_AUTHOR = 'demo-star';
/**
 * Fan accounts the demo makes at most: each is a registration and a follow, about 2 × 1 ms of
 * feed-api's CPU and a follow event for the fan-out; 5,000 take under a minute on 2 cores the
 * first time (later runs find them).
 */
const FAN_BUDGET = 5_000;
/** Above a threshold by this much, so an author stays in its tier if a few follows go missing. */
const FOLLOWER_MARGIN = 10;

const readerId = (i: number): string => `demo-reader-${String(i + 1).padStart(2, '0')}`;
export const fanId = (i: number): string => `demo-fan-${String(i + 1).padStart(4, '0')}`;
/** feed-api handles are [A-Za-z0-9_]{1,30}. */
export const handleOf = (id: string): string => id.replace(/-/g, '_');

/**
 * Who the demo makes, for the thresholds the product runs with: direct authors followed by the
 * readers; an author just over FANOUT_DIRECT_BELOW (SQS tasks); a celebrity just over
 * FEED_CELEBRITY_THRESHOLD — each only when it takes at most `fanBudget` fan accounts, else the
 * tier is `missing` with the reason (never faked: the fan-out decides by the real follower count).
 */
export function feedCast(thresholds: FanOutThresholds, fanBudget = FAN_BUDGET): FeedCast {
  const readers = Array.from({ length: READER_COUNT }, (_, i) => readerId(i));
  const authors: CastAuthor[] = DIRECT_AUTHORS.map((id) => ({
    id,
    followers: READER_COUNT,
    fans: 0,
    tier: tierOf(READER_COUNT, thresholds),
  }));
  const missing: { tier: Tier; reason: string }[] = [];
  const withFans = (id: string, tier: Tier, followers: number, setting: string): void => {
    const fans = Math.max(0, followers - READER_COUNT);
    if (fans > fanBudget) {
      missing.push({
        tier,
        reason: `${setting}: it takes ${count(followers)} followers, and the demo makes at most ${count(fanBudget)} accounts`,
      });
    } else {
      authors.push({ id, followers: READER_COUNT + fans, fans, tier: tierOf(READER_COUNT + fans, thresholds) });
    }
  };
  if (thresholds.directBelow < thresholds.celebrityAt) {
    const followers = Math.min(thresholds.directBelow + FOLLOWER_MARGIN, thresholds.celebrityAt - 1);
    withFans(QUEUED_AUTHOR, 'queued', followers, `FANOUT_DIRECT_BELOW is ${count(thresholds.directBelow)}`);
  } else {
    missing.push({
      tier: 'queued',
      reason: 'FANOUT_DIRECT_BELOW ≥ FEED_CELEBRITY_THRESHOLD leaves no room between direct push and celebrities',
    });
  }
  withFans(
    CELEBRITY_AUTHOR,
    'pull',
    thresholds.celebrityAt + FOLLOWER_MARGIN,
    `FEED_CELEBRITY_THRESHOLD is ${count(thresholds.celebrityAt)}`,
  );
  if (!authors.some((author) => author.tier === 'direct')) {
    missing.push({
      tier: 'direct',
      reason: `FANOUT_DIRECT_BELOW is ${thresholds.directBelow}: ${READER_COUNT} followers are already too many`,
    });
  }
  return { readers, authors, fans: Math.max(0, ...authors.map((author) => author.fans)), missing };
}

/** Posts per author: the direct authors most, the large audiences less, as on a real network. */
export function authorWeights(authors: readonly CastAuthor[]): (readonly [string, number])[] {
  return authors.map((author) => [author.id, author.tier === 'direct' ? 1 : author.tier === 'queued' ? 0.5 : 0.25] as const);
}

// ---------------------------------------------------------------- what Jaeger and Prometheus tell

/** A notification's journey: the API (row + outbox), the relay (to SQS), the worker (the send). */
const JOURNEY_SERVICES = ['notification-api', 'outbox-relay', 'notification-worker'];

/** The services with spans in `trace`, in the order they first appear in time. */
export function servicesOf(trace: JaegerTrace): string[] {
  const spans = [...trace.spans].sort((a, b) => a.startTime - b.startTime);
  return [...new Set(spans.map((span) => trace.processes[span.processID]?.serviceName ?? '?'))];
}

/** The first trace with spans of every journey service (and no alert: a user's own notification). */
export function journeyTrace(traces: readonly JaegerTrace[]): JaegerTrace | undefined {
  return traces.find((trace) => {
    const services = servicesOf(trace);
    return JOURNEY_SERVICES.every((service) => services.includes(service)) && !services.includes('metrics-alerter');
  });
}

/** From the trace's first span's start to its last span's end. */
export function traceDurationMs(trace: JaegerTrace): number {
  const start = Math.min(...trace.spans.map((span) => span.startTime));
  const end = Math.max(...trace.spans.map((span) => span.startTime + span.duration));
  return Math.round((end - start) / 1_000);
}

function tagOf(span: JaegerSpan, key: string): unknown {
  return span.tags.find((tag) => tag.key === key)?.value;
}

export interface AlertTransitionSeen {
  readonly status: string;
  /** When the alerter emitted it (the span's start), epoch ms. */
  readonly atMs: number;
  readonly traceId: string;
  /** The notification the transition became (the notifier's call continues the alert's trace), when the worker's span is in. */
  readonly notificationId: string | undefined;
}

/**
 * The `alert <status>` spans of the alert `fingerprint` in `traces`, oldest first, each with the
 * notification sent for it: a notification-worker span below it in the trace.
 */
export function alertTransitions(traces: readonly JaegerTrace[], fingerprint: string): AlertTransitionSeen[] {
  const seen = new Map<string, AlertTransitionSeen>();
  for (const trace of traces) {
    const parents = new Map(trace.spans.map((span) => [span.spanID, span.references?.find((ref) => ref.refType === 'CHILD_OF')?.spanID]));
    const below = (span: JaegerSpan, ancestor: string): boolean => {
      for (let id = parents.get(span.spanID); id !== undefined; id = parents.get(id)) if (id === ancestor) return true;
      return false;
    };
    for (const span of trace.spans) {
      if (tagOf(span, 'alert.fingerprint') !== fingerprint || seen.has(span.spanID)) continue;
      const sent = trace.spans.find(
        (candidate) =>
          trace.processes[candidate.processID]?.serviceName === 'notification-worker' &&
          tagOf(candidate, 'notification.id') !== undefined &&
          below(candidate, span.spanID),
      );
      seen.set(span.spanID, {
        status: String(tagOf(span, 'alert.status')),
        atMs: Math.round(span.startTime / 1_000),
        traceId: trace.traceID,
        notificationId: sent === undefined ? undefined : String(tagOf(sent, 'notification.id')),
      });
    }
  }
  return [...seen.values()].sort((a, b) => a.atMs - b.atMs);
}

/** How much each series of a counter grew between two instant queries (by `label`); a missing series counts as 0. */
export function counterIncrease(before: readonly PromSample[], after: readonly PromSample[], label: string): Record<string, number> {
  const start = new Map(before.map((sample) => [sample.labels[label] ?? '', sample.value]));
  return Object.fromEntries(
    after.map((sample) => {
      const key = sample.labels[label] ?? '';
      // A restarted process starts its counters from 0 again: then what it counted since is all we know.
      const grown = sample.value - (start.get(key) ?? 0);
      return [key, Math.round(grown >= 0 ? grown : sample.value)];
    }),
  );
}

// ---------------------------------------------------------------- printing

/** 1234 → "1,234". */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** 83_000 → "1:23". */
export function clock(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1_000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

export interface ProgressView {
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly accepted: number;
  readonly sent: number;
  readonly deadLettered: number;
  readonly points: number;
  /** What the metrics are doing: `baseline`, `SPIKE …`, the alert's last transition. */
  readonly alert: string;
  readonly posts: number;
  readonly reads: number;
  readonly follows: number;
  readonly errors: number;
}

export function progressLine(v: ProgressView): string {
  return [
    `demo ${clock(v.elapsedMs)}/${clock(v.durationMs)}`,
    `notifications ${count(v.accepted)}, sent ${count(v.sent)}, DLQ ${count(v.deadLettered)}`,
    `points ${count(v.points)}, ${v.alert}`,
    `posts ${count(v.posts)}, reads ${count(v.reads)}, (un)follows ${count(v.follows)}`,
    `errors ${count(v.errors)}`,
  ].join(' | ');
}
