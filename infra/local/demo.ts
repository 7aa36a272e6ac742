/**
 * `./dev demo [--rate <actions/s>] [--minutes <m>]`: realistic traffic through the whole product
 * `./dev up` runs, for a bounded time, then what happened and where to look (GitHub issue 14):
 *
 * - users create notifications on every channel and follow their status (notification-api →
 *   outbox-relay → SQS → notification-worker);
 * - three services report request latency and failures every second (metrics-ingest → Kafka);
 *   one route gets slow long enough for the rule http-latency-p99-high to fire, and then to
 *   resolve (demo-plan.ts, spikeTiming); the alerter pages user `on-call` through notification-api;
 * - authors of each fan-out tier a laptop can hold post, and readers follow, unfollow and read
 *   their feeds (feed-api → outbox → Kafka posts → feed-fanout → Redis | SQS tasks).
 *
 * Pure logic: demo-plan.ts; the API clients: demo-client.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  answers,
  ApiError,
  type Channel,
  createNotification,
  createPost,
  findTraces,
  follow,
  getDlqStatus,
  getFeed,
  getLag,
  getNotification,
  getUser,
  type JaegerTrace,
  type NotificationStatus,
  postMetrics,
  type PromSample,
  queryPrometheus,
  registerUser,
  unfollow,
} from './demo-client.ts';
import {
  ACTION_MIX,
  type Action,
  type AlertTransitionSeen,
  alertFingerprint,
  alertTransitions,
  authorWeights,
  CHANNEL_MIX,
  clock,
  count,
  counterIncrease,
  DIRECT_AUTHORS,
  type DemoOptions,
  type DemoService,
  type Endpoints,
  endpoints,
  fanId,
  type FanOutThresholds,
  fanOutThresholds,
  type FeedCast,
  feedCast,
  handleOf,
  InputError,
  journeyTrace,
  minimumSpikeDurationMs,
  parseArgs,
  pickOne,
  pickWeighted,
  progressLine,
  REQUIRED_APPS,
  servicePoints,
  SERVICES,
  servicesOf,
  type Spike,
  spikeAt,
  type SpikeRule,
  spikeRuleFrom,
  spikeSchedule,
  type SpikeTiming,
  spikeTiming,
  SPIKING_SERIES,
  TIER_DESCRIPTIONS,
  TIER_NAMES,
  tierOf,
  traceDurationMs,
  USAGE,
} from './demo-plan.ts';
import { localToken } from './token.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const TICK_MS = 100;
const METRICS_EVERY_MS = 1_000;
const STATUS_EVERY_MS = 2_000;
const OBSERVE_EVERY_MS = 5_000;
/** Beyond this many actions in flight the product is slower than --rate: the demo skips actions (and counts them) instead of piling them up. */
const MAX_IN_FLIGHT = 64;
/** notification-api allows each user 10 requests a second: the notifications (and their status polls) are spread over this many. */
const NOTIFYING_USERS = 40;
/** Status polls per round (every STATUS_EVERY_MS), oldest notifications first. */
const STATUS_POLLS_PER_ROUND = 40;
/** Requests at once while registering users and follows (a first run makes ~1,000 fan accounts). */
const SETUP_CONCURRENCY = 8;
/** After the traffic: how long the demo waits for requests in flight and for queued notifications to be sent. */
const DRAIN_MS = 20_000;
/** Prometheus scrapes the apps every 15 s (infra/compose/prometheus.yml): the summary's counters wait for a scrape after the traffic. */
const SCRAPE_WAIT_MS = 17_000;
/** Jaeger's search for a complete journey looks at traces at least this old (the apps export spans in batches, every 5 s). */
const TRACE_SETTLE_MS = 10_000;
const TERMINAL: readonly NotificationStatus[] = ['sent', 'dead_lettered'];

interface Actor {
  readonly id: string;
  readonly token: string;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, { signal }).catch(() => undefined);

/** Runs `fn` over `items`, `limit` at a time, and stops starting new ones once `signal` aborts. */
async function eachLimit<T>(items: readonly T[], limit: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!signal.aborted && next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function describe(error: unknown): string {
  if (error instanceof ApiError) return `${error.status}${error.code === undefined ? '' : ` ${error.code}`}`;
  if (error instanceof Error) {
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') return code;
    return error.name === 'TimeoutError' ? 'timed out' : error.message;
  }
  return String(error);
}

const isRateLimited = (error: unknown): boolean => error instanceof ApiError && error.status === 429;

/** Failed requests by what failed and how: the summary shows the most frequent. */
class Errors {
  total = 0;
  private readonly kinds = new Map<string, number>();

  add(request: string, error: unknown): void {
    this.total++;
    const kind = `${request}: ${describe(error)}`;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }

  top(n: number): [string, number][] {
    return [...this.kinds].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}

/** The progress line: rewritten in place on a terminal (twice a second), a line every 10 s otherwise (a log, CI). */
class ProgressPrinter {
  private readonly tty = process.stdout.isTTY === true;
  private shownWidth = 0;
  private lastLineAt = 0;

  /** Shows `line` if its turn has come, or anyway when `final`. */
  show(line: string, final = false): void {
    if (!final && Date.now() - this.lastLineAt < (this.tty ? 500 : 10_000)) return;
    this.lastLineAt = Date.now();
    if (!this.tty) {
      console.log(line);
      return;
    }
    const columns = (process.stdout.columns || 120) - 1;
    const text = line.length > columns ? `${line.slice(0, columns - 1)}…` : line;
    process.stdout.write(`\r${text.padEnd(Math.min(this.shownWidth, columns))}`);
    this.shownWidth = text.length;
  }

  /** Ends the line being rewritten, before anything else is printed. */
  end(): void {
    if (this.shownWidth > 0) process.stdout.write('\n');
    this.shownWidth = 0;
    this.lastLineAt = 0;
  }
}

// ---------------------------------------------------------------- notifications

const TEMPLATES: readonly { readonly name: string; readonly data: (random: () => number) => Record<string, unknown> }[] = [
  { name: 'order-shipped', data: (random) => ({ orderId: String(Math.floor(random() * 1_000_000)), carrier: 'demo-post' }) },
  { name: 'password-reset', data: () => ({ expiresInMinutes: 15 }) },
  { name: 'weekly-digest', data: (random) => ({ newPosts: Math.floor(random() * 40) }) },
];

/** Users creating notifications and following each one until it is sent or dead-lettered. */
class Notifications {
  readonly accepted: Record<Channel, number> = { push: 0, email: 0, sms: 0 };
  rateLimited = 0;
  /** Every accepted notification, oldest first, with its last known status. */
  private readonly known = new Map<string, { readonly owner: Actor; status: NotificationStatus }>();
  private sequence = 0;
  private readonly baseUrl: string;
  private readonly users: readonly Actor[];
  private readonly errors: Errors;
  private readonly runId: string;

  constructor(baseUrl: string, users: readonly Actor[], errors: Errors, runId: string) {
    this.baseUrl = baseUrl;
    this.users = users;
    this.errors = errors;
    this.runId = runId;
  }

  async create(random: () => number): Promise<void> {
    const user = pickOne(this.users, random);
    const channel = pickWeighted(CHANNEL_MIX, random);
    const template = pickOne(TEMPLATES, random);
    try {
      const request = { userId: user.id, channel, template: template.name, data: template.data(random) };
      // A key per request, as a client that may retry sends one.
      const answer = await createNotification(this.baseUrl, user.token, request, `${this.runId}-${++this.sequence}`);
      this.accepted[channel]++;
      this.known.set(answer.id, { owner: user, status: answer.status });
    } catch (error) {
      if (isRateLimited(error)) this.rateLimited++;
      else this.errors.add('notification-api POST /notifications', error);
    }
  }

  /** Asks for the status of up to `max` notifications not yet sent or dead-lettered, oldest first; returns how many are still open. */
  async refresh(max: number): Promise<number> {
    const open = [...this.known].filter(([, known]) => !TERMINAL.includes(known.status));
    await Promise.all(
      open.slice(0, max).map(async ([id, known]) => {
        try {
          known.status = (await getNotification(this.baseUrl, known.owner.token, id)).status;
        } catch (error) {
          // A status poll over the user's budget is simply asked again next round.
          if (!isRateLimited(error)) this.errors.add('notification-api GET /notifications/:id', error);
        }
      }),
    );
    return open.filter(([, known]) => !TERMINAL.includes(known.status)).length;
  }

  get total(): number {
    return this.known.size;
  }

  statuses(): Record<NotificationStatus, number> {
    const counts: Record<NotificationStatus, number> = { queued: 0, sending: 0, sent: 0, failed: 0, dead_lettered: 0 };
    for (const { status } of this.known.values()) counts[status]++;
    return counts;
  }

  /** A sent notification and its owner, to show how to look one up. */
  example(): { id: string; owner: string } | undefined {
    for (const [id, known] of this.known) if (known.status === 'sent') return { id, owner: known.owner.id };
    return undefined;
  }
}

// ---------------------------------------------------------------- metrics

/** The demo services reporting once a second, one of them slow during the spikes. */
class Metrics {
  points = 0;
  sampledOut = 0;
  throttled = 0;
  private readonly last = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly baseUrl: string;
  private readonly services: readonly { readonly service: DemoService; readonly token: string }[];
  private readonly rule: SpikeRule;
  private readonly errors: Errors;

  constructor(
    baseUrl: string,
    services: readonly { readonly service: DemoService; readonly token: string }[],
    rule: SpikeRule,
    errors: Errors,
  ) {
    this.baseUrl = baseUrl;
    this.services = services;
    this.rule = rule;
    this.errors = errors;
  }

  /**
   * One report per service covering the time since its last one (a service whose previous report
   * is still out skips a beat); `spiking` says which latency points are slow.
   */
  async report(now: number, spiking: (serviceId: string, route: string, timestamp: number) => boolean): Promise<void> {
    await Promise.all(
      this.services.map(async ({ service, token }) => {
        const from = this.last.get(service.serviceId) ?? now - METRICS_EVERY_MS;
        if (this.busy.has(service.serviceId) || now <= from) return;
        this.busy.add(service.serviceId);
        this.last.set(service.serviceId, now);
        const points = servicePoints(service, this.rule, from, now, spiking, Math.random);
        try {
          const answer = await postMetrics(this.baseUrl, token, points);
          this.points += answer.accepted;
          this.sampledOut += answer.sampledOut ?? 0;
        } catch (error) {
          if (isRateLimited(error)) this.throttled += points.length;
          else this.errors.add('metrics-ingest POST /metrics', error);
        } finally {
          this.busy.delete(service.serviceId);
        }
      }),
    );
  }
}

// ---------------------------------------------------------------- feeds

const POST_LINES = [
  'shipped a new build',
  'reading about consumer groups',
  'the queue drained overnight',
  'coffee, then the outbox',
  'p99 looks fine today',
  'writing up the incident',
  'new blog post on fan-out',
];

/** Authors posting, readers reading their feeds and following/unfollowing the direct authors. */
class Feeds {
  readonly posts = new Map<string, number>();
  reads = 0;
  pages = 0;
  items = 0;
  regenerating = 0;
  follows = 0;
  unfollows = 0;
  rateLimited = 0;
  private sequence = 0;
  /** Whom each reader follows among the direct authors (they follow the large audiences throughout). */
  private readonly following = new Map<string, Set<string>>();
  private readonly authorMix: (readonly [string, number])[];
  private readonly baseUrl: string;
  private readonly readers: readonly Actor[];
  private readonly authors: ReadonlyMap<string, Actor>;
  private readonly errors: Errors;

  constructor(baseUrl: string, cast: FeedCast, readers: readonly Actor[], authors: readonly Actor[], errors: Errors) {
    this.baseUrl = baseUrl;
    this.readers = readers;
    this.authors = new Map(authors.map((author) => [author.id, author]));
    this.errors = errors;
    this.authorMix = authorWeights(cast.authors);
    for (const reader of readers) this.following.set(reader.id, new Set(DIRECT_AUTHORS));
  }

  async post(random: () => number): Promise<void> {
    const author = this.authors.get(pickWeighted(this.authorMix, random));
    if (author === undefined) return;
    try {
      await createPost(this.baseUrl, author.token, `${pickOne(POST_LINES, random)} (#${++this.sequence} by ${author.id})`);
      this.posts.set(author.id, (this.posts.get(author.id) ?? 0) + 1);
    } catch (error) {
      this.failed('feed-api POST /posts', error);
    }
  }

  /** A reader opens the home feed, and sometimes scrolls to the next page. */
  async read(random: () => number): Promise<void> {
    const reader = pickOne(this.readers, random);
    try {
      let page = await getFeed(this.baseUrl, reader.token, { limit: 20 });
      this.reads++;
      for (;;) {
        this.pages++;
        this.items += page.items.length;
        if (page.regenerating) this.regenerating++;
        if (page.nextCursor === null || random() >= 0.3) break;
        page = await getFeed(this.baseUrl, reader.token, { limit: 20, cursor: page.nextCursor });
      }
    } catch (error) {
      this.failed('feed-api GET /feed', error);
    }
  }

  /** A reader unfollows a direct author, or follows one again. */
  async churn(random: () => number): Promise<void> {
    const reader = pickOne(this.readers, random);
    const authorId = pickOne(DIRECT_AUTHORS, random);
    const followed = this.following.get(reader.id) ?? new Set<string>();
    try {
      if (followed.has(authorId)) {
        await unfollow(this.baseUrl, reader.token, reader.id, authorId);
        followed.delete(authorId);
        this.unfollows++;
      } else {
        await follow(this.baseUrl, reader.token, reader.id, authorId);
        followed.add(authorId);
        this.follows++;
      }
    } catch (error) {
      this.failed('feed-api PUT|DELETE /users/:id/following/:followeeId', error);
    }
  }

  get totalPosts(): number {
    return [...this.posts.values()].reduce((sum, n) => sum + n, 0);
  }

  private failed(request: string, error: unknown): void {
    if (isRateLimited(error)) this.rateLimited++;
    else this.errors.add(request, error);
  }
}

/**
 * Registers the cast and its follows (all idempotent: a second run finds them, 200s), fans only
 * for an author below its planned follower count. Returns the actors and each author's actual
 * follower count, which decides its tier.
 */
async function setUpFeeds(
  baseUrl: string,
  cast: FeedCast,
  mint: (id: string) => Promise<string>,
  signal: AbortSignal,
  progress: ProgressPrinter,
): Promise<{ readers: Actor[]; authors: Actor[]; followers: Map<string, number> }> {
  const actor = async (id: string): Promise<Actor> => ({ id, token: await mint(id) });
  const readers = await Promise.all(cast.readers.map(actor));
  const authors = await Promise.all(cast.authors.map((author) => actor(author.id)));
  await eachLimit(
    [...readers, ...authors],
    SETUP_CONCURRENCY,
    signal,
    async (user) => void (await registerUser(baseUrl, user.token, handleOf(user.id))),
  );
  const pairs = readers.flatMap((reader) => authors.map((author) => [reader, author] as const));
  await eachLimit(
    pairs,
    SETUP_CONCURRENCY,
    signal,
    async ([reader, author]) => void (await follow(baseUrl, reader.token, reader.id, author.id)),
  );

  const registered = new Set<number>();
  for (const planned of cast.authors.filter((author) => author.fans > 0)) {
    const author = authors.find((candidate) => candidate.id === planned.id) as Actor;
    if ((await getUser(baseUrl, author.token, author.id)).followerCount >= planned.followers) continue;
    let done = 0;
    const fans = Array.from({ length: planned.fans }, (_, i) => i);
    await eachLimit(fans, SETUP_CONCURRENCY, signal, async (i) => {
      const fan = await actor(fanId(i));
      if (!registered.has(i)) await registerUser(baseUrl, fan.token, handleOf(fan.id));
      registered.add(i);
      await follow(baseUrl, fan.token, fan.id, author.id);
      done++;
      progress.show(`  ${author.id}: ${count(done)}/${count(planned.fans)} fan accounts follow`, done === planned.fans);
    });
    progress.end();
  }
  const followers = new Map<string, number>();
  for (const author of authors) followers.set(author.id, (await getUser(baseUrl, author.token, author.id)).followerCount);
  return { readers, authors, followers };
}

// ---------------------------------------------------------------- what Jaeger and Prometheus see

/** Polls Jaeger for the spike alert's transitions and for one complete notification journey. */
class Observer {
  transitions: AlertTransitionSeen[] = [];
  journey: JaegerTrace | undefined;
  problem: string | undefined;
  private readonly jaegerUrl: string;
  private readonly since: number;
  private readonly fingerprint: string;

  constructor(jaegerUrl: string, since: number, fingerprint: string) {
    this.jaegerUrl = jaegerUrl;
    this.since = since;
    this.fingerprint = fingerprint;
  }

  async poll(): Promise<void> {
    try {
      const alertTraces = await findTraces(this.jaegerUrl, {
        service: 'metrics-alerter',
        tags: { 'alert.fingerprint': this.fingerprint },
        start: this.since,
        limit: 50,
      });
      this.transitions = alertTransitions(alertTraces, this.fingerprint);
      const settled = Date.now() - TRACE_SETTLE_MS;
      if (this.journey === undefined && settled > this.since) {
        const creates = {
          service: 'notification-api',
          tags: { 'http.request.method': 'POST' },
          start: this.since,
          end: settled,
          limit: 20,
        };
        this.journey = journeyTrace(await findTraces(this.jaegerUrl, creates));
      }
      this.problem = undefined;
    } catch (error) {
      this.problem = describe(error);
    }
  }
}

/** Counters the summary reports as increases over the run (Prometheus scrapes the apps every 15 s). */
const promQueries = (rule: SpikeRule) =>
  ({
    tiers: 'sum by (tier) (feed_fanout_events_total{type="PostCreated"})',
    tasks: 'sum(feed_fanout_tasks_queued_total)',
    alerts: `sum by (status) (alerter_alerts_total{rule="${rule.name}"})`,
  }) as const;
type PromSnapshot = Record<keyof ReturnType<typeof promQueries>, PromSample[]>;

async function promSnapshot(prometheusUrl: string, rule: SpikeRule): Promise<PromSnapshot | string> {
  try {
    const queries = Object.entries(promQueries(rule));
    const results = await Promise.all(queries.map(([, expression]) => queryPrometheus(prometheusUrl, expression)));
    return Object.fromEntries(queries.map(([name], i) => [name, results[i]])) as PromSnapshot;
  } catch (error) {
    return describe(error);
  }
}

// ---------------------------------------------------------------- the run

/** What the run is made of: the options, the product's addresses, and what the demo read from the repository. */
interface DemoPlan {
  readonly options: DemoOptions;
  readonly urls: Endpoints;
  readonly rule: SpikeRule;
  readonly timing: SpikeTiming;
  readonly thresholds: FanOutThresholds;
  readonly feedCast: FeedCast;
}

/** Everyone the demo plays, with their tokens, registered and following. */
interface Cast {
  readonly notifications: Notifications;
  readonly metrics: Metrics;
  readonly feeds: Feeds;
  /** Each author's follower count once set up: what decides its tier. */
  readonly followers: ReadonlyMap<string, number>;
}

async function setUpCast(plan: DemoPlan, errors: Errors, progress: ProgressPrinter, signal: AbortSignal): Promise<Cast> {
  const { urls, feedCast, thresholds } = plan;
  // Tokens outlive the traffic and the drain after it.
  const lifetime = `${Math.ceil(plan.options.minutes) + 15}m`;
  const mint = (audience: string) => (id: string) => localToken(audience, id, undefined, lifetime);
  const users = await Promise.all(
    Array.from({ length: NOTIFYING_USERS }, async (_, i) => {
      const id = `demo-user-${String(i + 1).padStart(2, '0')}`;
      return { id, token: await mint('notification-api')(id) };
    }),
  );
  const services = await Promise.all(
    SERVICES.map(async (service) => ({ service, token: await mint('metrics-ingest')(service.serviceId) })),
  );

  const authors = feedCast.authors.map((author) => author.id).join(', ');
  console.log(`feeds: ${feedCast.readers.length} readers; authors ${authors} (registering them; a first run also makes fan accounts)`);
  const feedUsers = await setUpFeeds(urls.apps['feed-api'], feedCast, mint('feed-api'), signal, progress);
  for (const author of feedCast.authors) {
    const followers = feedUsers.followers.get(author.id) ?? 0;
    console.log(
      `  ${author.id.padEnd(14)} ${count(followers).padStart(6)} followers → ${TIER_DESCRIPTIONS[tierOf(followers, thresholds)]}`,
    );
  }
  for (const missing of feedCast.missing) console.log(`  no ${TIER_NAMES[missing.tier]} author: ${missing.reason} (see the summary)`);
  return {
    notifications: new Notifications(urls.apps['notification-api'], users, errors, `demo-${Date.now().toString(36)}`),
    metrics: new Metrics(urls.apps['metrics-ingest'], services, plan.rule, errors),
    feeds: new Feeds(urls.apps['feed-api'], feedCast, feedUsers.readers, feedUsers.authors, errors),
    followers: feedUsers.followers,
  };
}

/** The traffic, its drain and its summary. */
class Demo {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly durationMs: number;
  private readonly spikes: Spike[];
  /** The spiking series' alert fingerprint: how the demo finds its alert's spans. */
  private readonly fingerprint: string;
  private skipped = 0;
  private startedAt = 0;
  private endedAt = 0;
  private observer: Observer | undefined;
  private promBefore: PromSnapshot | string = 'not read';
  private readonly plan: DemoPlan;
  private readonly cast: Cast;
  private readonly errors: Errors;
  private readonly progress: ProgressPrinter;
  private readonly setupMs: number;

  constructor(plan: DemoPlan, cast: Cast, errors: Errors, progress: ProgressPrinter, setupMs: number) {
    this.plan = plan;
    this.cast = cast;
    this.errors = errors;
    this.progress = progress;
    this.setupMs = setupMs;
    this.durationMs = Math.round(plan.options.minutes * 60_000);
    this.spikes = spikeSchedule(this.durationMs, plan.timing);
    this.fingerprint = alertFingerprint(plan.rule.name, {
      serviceId: SPIKING_SERIES.serviceId,
      name: plan.rule.metric,
      labels: { ...plan.rule.match, route: SPIKING_SERIES.route },
    });
  }

  /** Drives the traffic until the duration is over or `signal` aborts. */
  async traffic(signal: AbortSignal): Promise<void> {
    const { urls, rule, timing, options } = this.plan;
    if (await answers(urls.jaeger)) this.observer = new Observer(urls.jaeger, Date.now(), this.fingerprint);
    this.promBefore = await promSnapshot(urls.prometheus, rule);
    const minimum = minimumSpikeDurationMs(timing);
    const spikes =
      this.spikes.length === 0
        ? `no spike: an alert needs ${clock(minimum)} of traffic to fire and resolve (--minutes ${Math.ceil(minimum / 6_000) / 10} or more)`
        : `${SPIKING_SERIES.serviceId} ${SPIKING_SERIES.route} slows down at ${this.spikes.map((spike) => clock(spike.startMs)).join(', ')} ` +
          `for ${timing.spikeMs / 1_000} s: ${rule.name} should fire within ${timing.fireWithinMs / 1_000} s of its start and resolve within ${timing.resolveWithinMs / 1_000} s of its end`;
    console.log(`metrics: ${SERVICES.map((service) => service.serviceId).join(', ')} report every second; ${spikes}`);
    console.log(`traffic: ${options.rate} actions/s for ${clock(this.durationMs)} (Ctrl-C stops early)`);

    this.startedAt = Date.now();
    let credit = 0;
    let last = this.startedAt;
    const next = { metrics: this.startedAt, status: this.startedAt + STATUS_EVERY_MS, observe: this.startedAt + OBSERVE_EVERY_MS };
    const running = { metrics: false, status: false, observe: false };
    // One of each background task at a time: a slow round is not stacked on.
    const every = (task: keyof typeof next, period: number, now: number, fn: () => Promise<unknown>): void => {
      if (now < next[task] || running[task]) return;
      next[task] = now + period;
      running[task] = true;
      this.track(fn().finally(() => (running[task] = false)));
    };
    while (!signal.aborted) {
      const now = Date.now();
      if (now - this.startedAt >= this.durationMs) break;
      credit += ((now - last) / 1_000) * options.rate;
      last = now;
      for (; credit >= 1; credit--) {
        if (this.inFlight.size >= MAX_IN_FLIGHT) this.skipped++;
        else this.track(this.act(pickWeighted(ACTION_MIX, Math.random)));
      }
      every('metrics', METRICS_EVERY_MS, now, () => this.cast.metrics.report(now, this.spiking));
      every('status', STATUS_EVERY_MS, now, () => this.cast.notifications.refresh(STATUS_POLLS_PER_ROUND));
      const observer = this.observer;
      if (observer) every('observe', OBSERVE_EVERY_MS, now, () => observer.poll());
      this.progress.show(this.progressLine(now));
      await sleep(TICK_MS, signal);
    }
    this.endedAt = Date.now();
    this.progress.show(this.progressLine(this.endedAt), true);
    this.progress.end();
  }

  /** Lets requests in flight finish and queued notifications be sent, then reads what the observability saw. */
  async drain(): Promise<void> {
    const deadline = Date.now() + DRAIN_MS;
    console.log("waiting for requests in flight, notifications still queued and Prometheus's next scrape…");
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(DRAIN_MS)]);
    while (Date.now() < deadline && (await this.cast.notifications.refresh(200)) > 0) await sleep(1_000);
    // A scrape after the end, so that Prometheus's counters hold the whole run (and the fan-out has caught up).
    if (typeof this.promBefore === 'object') await sleep(this.endedAt + SCRAPE_WAIT_MS - Date.now());
    if (this.observer) {
      await this.observer.poll();
      // The journey's last spans may still be in an app's export batch.
      if (this.observer.journey === undefined && !this.observer.problem) {
        await sleep(TRACE_SETTLE_MS);
        await this.observer.poll();
      }
    }
  }

  /** Whether a latency point is one of the spike's: the slow route, during a spike. */
  private readonly spiking = (serviceId: string, route: string, timestamp: number): boolean =>
    serviceId === SPIKING_SERIES.serviceId &&
    route === SPIKING_SERIES.route &&
    spikeAt(this.spikes, timestamp - this.startedAt) !== undefined;

  private track(task: Promise<unknown>): void {
    const tracked: Promise<void> = task.then(
      () => undefined,
      (error: unknown) => this.errors.add('demo', error),
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private act(action: Action): Promise<void> {
    switch (action) {
      case 'notify':
        return this.cast.notifications.create(Math.random);
      case 'read':
        return this.cast.feeds.read(Math.random);
      case 'post':
        return this.cast.feeds.post(Math.random);
      case 'follow':
        return this.cast.feeds.churn(Math.random);
    }
  }

  private progressLine(now: number): string {
    const { notifications, metrics, feeds } = this.cast;
    const statuses = notifications.statuses();
    return progressLine({
      elapsedMs: now - this.startedAt,
      durationMs: this.durationMs,
      accepted: notifications.total,
      sent: statuses.sent,
      deadLettered: statuses.dead_lettered,
      points: metrics.points,
      alert: this.alertState(now - this.startedAt),
      posts: feeds.totalPosts,
      reads: feeds.reads,
      follows: feeds.follows + feeds.unfollows,
      errors: this.errors.total,
    });
  }

  private alertState(offsetMs: number): string {
    const last = this.observer?.transitions.at(-1);
    const alert = last === undefined ? undefined : `alert ${last.status}`;
    if (spikeAt(this.spikes, offsetMs)) return `SPIKE ${SPIKING_SERIES.serviceId} ${SPIKING_SERIES.route}${alert ? `, ${alert}` : ''}`;
    return alert ?? (this.spikes.length === 0 ? 'no spike' : 'normal');
  }

  // ---------------------------------------------------------------- the summary

  async summary(interrupted: boolean): Promise<string> {
    const promAfter = await promSnapshot(this.plan.urls.prometheus, this.plan.rule);
    const report = new Report(this.plan.urls, this.promBefore, promAfter);
    const ops = await localToken('qls-ops', 'demo', 'ops:read');
    const elapsed = (this.endedAt || Date.now()) - this.startedAt;
    const stopped = interrupted ? ' (stopped by Ctrl-C)' : '';
    report.lines.push(
      '',
      `Summary: ${clock(elapsed)} of traffic${stopped} at ${this.plan.options.rate} actions/s, after ${clock(this.setupMs)} of setup`,
    );
    await this.notificationsSummary(report, ops);
    await this.metricsSummary(report, elapsed);
    this.feedsSummary(report);
    await this.runSummary(report, ops);
    return report.lines.join('\n');
  }

  private async notificationsSummary(r: Report, ops: string): Promise<void> {
    const { urls } = this.plan;
    const n = this.cast.notifications;
    const statuses = n.statuses();
    r.section('Notifications: notification-api → Postgres + outbox → outbox-relay → SQS → notification-worker → providers');
    const channels = `push ${count(n.accepted.push)}, email ${count(n.accepted.email)}, sms ${count(n.accepted.sms)}`;
    r.add('accepted', `${count(n.total)} (${channels}); ${count(n.rateLimited)} refused over the per-user rate limit`);
    r.add(
      'now',
      `sent ${count(statuses.sent)}, failed and to be retried ${count(statuses.failed)}, dead-lettered ${count(statuses.dead_lettered)}, ` +
        `still queued or sending ${count(statuses.queued + statuses.sending)}`,
    );
    try {
      const dlq = await getDlqStatus(urls.apps['notification-dlq-monitor'], ops);
      const oldest = dlq.depth > 0 ? `, the oldest ${dlq.oldestAgeSeconds} s old` : '';
      r.add('DLQ', `${dlq.queue} holds ${count(dlq.depth)}${oldest} (notification-dlq-monitor)`);
    } catch (error) {
      r.add('DLQ', `notification-dlq-monitor did not answer: ${describe(error)}`);
    }
    const journey = this.observer?.journey;
    if (journey) {
      r.add(
        'a journey',
        `trace ${journey.traceID}: ${servicesOf(journey).join(' → ')}, ${journey.spans.length} spans in ${traceDurationMs(journey)} ms`,
      );
      r.add('', r.trace(journey.traceID));
    } else {
      r.add('a journey', `none found: ${this.jaegerProblem()}`);
    }
    const example = n.example();
    if (example) {
      const url = `${urls.apps['notification-api']}/notifications/${example.id}`;
      r.add('look', `curl -H "Authorization: Bearer $(./dev token notification-api ${example.owner})" ${url}`);
    }
    r.add(
      'faults',
      'the local providers send everything unless notification-worker has LOCAL_PROVIDER_FAULTS: set it in docker-compose.yml,',
    );
    r.add(
      '',
      `e.g. '{"sms":{"transientRate":0.2},"email":{"failFirstSendOf":0.3}}' (retries) or '{"push":{"permanent":true}}' (the DLQ fills),`,
    );
    r.add('', 'then ./dev up again (the apps restart with the new environment) and rerun the demo');
  }

  private async metricsSummary(r: Report, elapsed: number): Promise<void> {
    const { rule, timing } = this.plan;
    const m = this.cast.metrics;
    r.section(
      'Metrics: metrics-ingest → Kafka metrics-raw → metrics-storage | metrics-alerter → alerts → notifier → notification-api | metrics-dashboard',
    );
    const throttled = m.throttled > 0 ? `; ${count(m.throttled)} refused (429, backpressure)` : '';
    const sampled = m.sampledOut > 0 ? `; ${count(m.sampledOut)} sampled out` : '';
    r.add('points', `${count(m.points)} accepted from ${SERVICES.map((service) => service.serviceId).join(', ')}${throttled}${sampled}`);
    const sliding = rule.slideMs !== rule.sizeMs ? ` sliding by ${rule.slideMs / 1_000} s` : '';
    r.add(
      'rule',
      `${rule.name}: ${rule.aggregation} of ${rule.metric} ${rule.op} ${rule.threshold} over ${rule.sizeMs / 1_000} s windows${sliding}, ` +
        `for ${rule.forMs / 1_000} s (infra/alerting/rules.json)`,
    );
    if (this.spikes.length === 0)
      r.add('spike', `none: an alert needs ${clock(minimumSpikeDurationMs(timing))} of traffic to fire and resolve`);
    for (const spike of this.spikes.filter((candidate) => candidate.startMs < elapsed)) {
      r.add(
        'spike',
        `${SPIKING_SERIES.serviceId} ${SPIKING_SERIES.route} at ${1.5 * rule.threshold}–${2.5 * rule.threshold} ms ` +
          `from ${clock(spike.startMs)} to ${clock(Math.min(spike.endMs, elapsed))} (expected: firing within ${timing.fireWithinMs / 1_000} s ` +
          `of the start, resolved within ${timing.resolveWithinMs / 1_000} s of the end)`,
      );
    }
    await this.alertLines(r);
    const alerts = r.increase('alerts', 'status');
    r.add(
      'Prometheus',
      typeof alerts === 'string'
        ? alerts
        : `alerter_alerts_total{rule="${rule.name}"} during the run (all series): ${formatCounts(alerts)}`,
    );
    const series = `${this.plan.urls.apps['metrics-storage']}/series?serviceId=${SPIKING_SERIES.serviceId}&name=${rule.metric}`;
    r.add('look', `curl -H "Authorization: Bearer $(./dev token qls-ops you ops:read)" '${series}'`);
  }

  /** The spike alert's transitions as Jaeger saw them, and the page each one became. */
  private async alertLines(r: Report): Promise<void> {
    const transitions = this.observer?.transitions ?? [];
    if (transitions.length === 0) {
      r.add('alert', `no transition of fingerprint ${this.fingerprint} seen: ${this.jaegerProblem()}`);
      return;
    }
    const when = (t: AlertTransitionSeen): string => {
      const offset = t.atMs - this.startedAt;
      const spike = this.spikes.findLast((candidate) => candidate.startMs <= offset);
      if (spike === undefined) return clock(offset);
      const after =
        t.status === 'resolved'
          ? `${Math.round((offset - spike.endMs) / 1_000)} s after the spike ended`
          : `${Math.round((offset - spike.startMs) / 1_000)} s after it started`;
      return `${clock(offset)} (${after})`;
    };
    r.add(
      'alert',
      `${this.plan.rule.name}, fingerprint ${this.fingerprint}: ${transitions.map((t) => `${t.status} at ${when(t)}`).join(', ')}`,
    );
    const onCall = await localToken('notification-api', 'on-call');
    // pending is not paged (the notifier sends firing and resolved).
    for (const t of transitions.filter((candidate) => candidate.status !== 'pending')) {
      let page = 'its notification is not in the trace yet';
      if (t.notificationId !== undefined) {
        try {
          const view = await getNotification(this.plan.urls.apps['notification-api'], onCall, t.notificationId);
          page = `notification ${view.id} to on-call by ${view.channel}: ${view.status}`;
        } catch (error) {
          page = `notification ${t.notificationId}: ${describe(error)}`;
        }
      }
      r.add(t.status, `${page}; ${r.trace(t.traceId)}`);
    }
  }

  private feedsSummary(r: Report): void {
    const { thresholds, feedCast, urls } = this.plan;
    const f = this.cast.feeds;
    r.section('Feeds: feed-api → Postgres + outbox → Kafka posts → feed-fanout → Redis feeds | SQS fan-out-tasks → feed-fanout-worker');
    r.add(
      'thresholds',
      `FANOUT_DIRECT_BELOW ${count(thresholds.directBelow)}, FEED_CELEBRITY_THRESHOLD ${count(thresholds.celebrityAt)} (docker-compose.yml, which ./dev up runs)`,
    );
    for (const author of feedCast.authors) {
      const followers = this.cast.followers.get(author.id) ?? 0;
      const posts = count(f.posts.get(author.id) ?? 0).padStart(4);
      r.add(
        'author',
        `${author.id.padEnd(14)} ${count(followers).padStart(6)} followers, ${posts} posts → ${TIER_DESCRIPTIONS[tierOf(followers, thresholds)]}`,
      );
    }
    for (const missing of feedCast.missing) {
      r.add(TIER_NAMES[missing.tier], `none: ${missing.reason}.`);
      if (missing.tier === 'pull') {
        r.add('', 'The threshold is a setting: FEED_CELEBRITY_THRESHOLD (x-feed-env in docker-compose.yml, which feed-api, feed-fanout');
        r.add(
          '',
          `and feed-fanout-worker must agree on). Lower it there from ${count(thresholds.celebrityAt)} to e.g. 2000, ./dev up again, and`,
        );
        r.add(
          '',
          'the demo builds a real celebrity with 2,010 followers (2000 is the committed local value; k8s/overlays/local must match it).',
        );
      }
    }
    const regenerating = f.regenerating > 0 ? `, ${count(f.regenerating)} while regenerating` : '';
    const limited = f.rateLimited > 0 ? `; ${count(f.rateLimited)} refused over the rate limit` : '';
    r.add(
      'activity',
      `${count(f.totalPosts)} posts; ${count(f.reads)} feed reads (${count(f.pages)} pages, ${count(f.items)} items${regenerating}); ` +
        `${count(f.follows)} follows, ${count(f.unfollows)} unfollows${limited}`,
    );
    const tiers = r.increase('tiers', 'tier');
    const tasks = r.increase('tasks', '');
    r.add(
      'fan-out',
      typeof tiers === 'string'
        ? tiers
        : `posts by tier as feed-fanout counted them during the run (all authors): ${formatCounts(tiers)}; ` +
            `SQS tasks queued: ${typeof tasks === 'string' ? '?' : count(tasks[''] ?? 0)}`,
    );
    r.add(
      'look',
      `curl -H "Authorization: Bearer $(./dev token feed-api ${feedCast.readers[0] ?? ''})" '${urls.apps['feed-api']}/feed?limit=20'`,
    );
  }

  private async runSummary(r: Report, ops: string): Promise<void> {
    const { urls, options } = this.plan;
    r.section('');
    try {
      const groups = await getLag(urls.apps['stream-ops'], ops);
      r.add('consumers', `lag by group (stream-ops): ${groups.map((g) => `${g.group} ${g.status} ${count(g.totalLag)}`).join(', ')}`);
    } catch (error) {
      r.add('consumers', `stream-ops did not answer: ${describe(error)}`);
    }
    r.add('', `curl -H "Authorization: Bearer $(./dev token qls-ops you ops:read)" ${urls.apps['stream-ops']}/lag`);
    const kinds = this.errors.top(3).map(([kind, n]) => `${kind} ×${n}`);
    r.add('errors', this.errors.total === 0 ? 'none' : `${count(this.errors.total)}: ${kinds.join('; ')}`);
    if (this.skipped > 0) {
      r.add(
        'skipped',
        `${count(this.skipped)} actions: ${MAX_IN_FLIGHT} were in flight (the product answered slower than --rate ${options.rate})`,
      );
    }
    r.add('APIs', `Prometheus ${urls.prometheus}/api/v1/query?query=…, Jaeger ${urls.jaeger}/api/traces?service=…`);
  }

  private jaegerProblem(): string {
    if (this.observer === undefined)
      return `Jaeger not reachable at ${this.plan.urls.jaeger} (./dev up without --no-observability runs it)`;
    return this.observer.problem === undefined ? 'not in Jaeger' : `Jaeger: ${this.observer.problem}`;
  }
}

/** The summary's lines, and what they are made from. */
class Report {
  readonly lines: string[] = [];
  private readonly urls: Endpoints;
  private readonly before: PromSnapshot | string;
  private readonly after: PromSnapshot | string;

  constructor(urls: Endpoints, before: PromSnapshot | string, after: PromSnapshot | string) {
    this.urls = urls;
    this.before = before;
    this.after = after;
  }

  section(title: string): void {
    this.lines.push('', ...(title === '' ? [] : [title]));
  }

  add(label: string, text: string): void {
    this.lines.push(`  ${label.padEnd(11)}${text}`);
  }

  trace(traceId: string): string {
    return `${this.urls.jaeger}/api/traces/${traceId}`;
  }

  /** How much a Prometheus counter grew during the run, by `label`; or why it is not known. */
  increase(name: keyof PromSnapshot, label: string): Record<string, number> | string {
    if (typeof this.before === 'string') return `Prometheus at ${this.urls.prometheus}: ${this.before} at the start`;
    if (typeof this.after === 'string') return `Prometheus at ${this.urls.prometheus}: ${this.after}`;
    return counterIncrease(this.before[name], this.after[name], label);
  }
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  return entries.length === 0 ? 'nothing' : entries.map(([key, n]) => `${key} ${count(n)}`).join(', ');
}

// ---------------------------------------------------------------- main

async function main(argv: readonly string[]): Promise<number> {
  let options: DemoOptions | 'help';
  let urls: Endpoints;
  try {
    options = parseArgs(argv);
    urls = endpoints(process.env);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  // A fork that dropped a system (tools/drop-system.ts) has no demo of all three: it says so.
  const missing = ['notifications', 'metrics', 'feeds'].filter((system) => !existsSync(join(REPO_ROOT, 'apps', system)));
  if (missing.length > 0) {
    console.error(`the demo drives all three systems; this checkout has no apps/${missing.join(', apps/')}`);
    return 2;
  }
  const down = (
    await Promise.all(REQUIRED_APPS.map(async (app) => ((await answers(urls.apps[app])) ? [] : [`${app} (${urls.apps[app]})`])))
  ).flat();
  if (down.length > 0) {
    console.error(`the product is not reachable: ${down.join(', ')} did not answer. Run ./dev up first (./dev status shows what runs).`);
    return 1;
  }
  let plan: DemoPlan;
  try {
    const rule = spikeRuleFrom(readFileSync(join(REPO_ROOT, 'infra/alerting/rules.json'), 'utf8'));
    const thresholds = fanOutThresholds(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'));
    plan = { options, urls, rule, timing: spikeTiming(rule), thresholds, feedCast: feedCast(thresholds) };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    console.error(error.message);
    return 1;
  }

  const stop = new AbortController();
  process.on('SIGINT', () => {
    if (stop.signal.aborted) process.exit(130); // a second Ctrl-C: no summary
    stop.abort();
    process.stdout.write('\nstopping (Ctrl-C again to quit without the summary)\n');
  });
  const errors = new Errors();
  const progress = new ProgressPrinter();
  const began = Date.now();
  let cast: Cast;
  try {
    cast = await setUpCast(plan, errors, progress, stop.signal);
  } catch (error) {
    progress.end();
    console.error(`setting up failed: ${describe(error)}`);
    return 1;
  }
  const demo = new Demo(plan, cast, errors, progress, Date.now() - began);
  await demo.traffic(stop.signal);
  await demo.drain();
  console.log(await demo.summary(stop.signal.aborted));
  return stop.signal.aborted ? 130 : 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
