/**
 * Small typed clients for the product's public HTTP APIs, as `./dev demo` (demo.ts) drives them
 * and an integration test can: each function takes the API's base URL (an origin, e.g.
 * http://127.0.0.1:3001) and a bearer token (token.ts's `localToken` mints one), sends one
 * request and returns the parsed answer, or throws `ApiError` with the status and the API's
 * error code. No retries, no printing, no process state.
 *
 * The shapes are those of docs/api/*.json (each app's OpenAPI document, generated from the
 * schemas it validates with). At the end, the two observability query APIs the demo reads:
 * Jaeger's (traces) and Prometheus's (instant queries).
 */

/** Each request gives up after this long (the apps answer in milliseconds; a stuck one is an error). */
const REQUEST_TIMEOUT_MS = 10_000;

/** A non-2xx answer: the status, the API's error code (`{ "error": { "code", "message" } }`) and `Retry-After` when given. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(method: string, url: string, status: number, body: string, retryAfter: string | null) {
    const error = parseErrorBody(body);
    super(`${method} ${url}: ${status}${error ? ` ${error.code}: ${error.message}` : ''}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = error?.code;
    this.retryAfterSeconds = retryAfter === null || retryAfter === '' || Number.isNaN(Number(retryAfter)) ? undefined : Number(retryAfter);
  }
}

function parseErrorBody(body: string): { code: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    return typeof code === 'string' ? { code, message: typeof message === 'string' ? message : '' } : undefined;
  } catch {
    return undefined;
  }
}

interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

async function send<T>(
  method: string,
  baseUrl: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const url = new URL(path, baseUrl).toString();
  const response = await fetch(url, {
    method,
    headers: {
      accept: 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new ApiError(method, url, response.status, text, response.headers.get('retry-after'));
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

const segment = encodeURIComponent;

/** Whether anything answers HTTP at `baseUrl` (any status counts: only a refused or timed-out connection is false). */
export async function answers(baseUrl: string, timeoutMs = 3_000): Promise<boolean> {
  try {
    const response = await fetch(baseUrl, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- notification-api (docs/notification-api.md)

export type Channel = 'push' | 'email' | 'sms';
export type NotificationStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'dead_lettered';

export interface NotificationRequest {
  /** Must be the token's subject: a caller notifies itself only. */
  readonly userId: string;
  readonly channel: Channel;
  readonly template: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly notificationId?: string;
}

export interface NotificationAccepted {
  readonly id: string;
  readonly status: NotificationStatus;
  readonly statusUrl: string;
  /** 200 with `Idempotent-Replayed`: the key named an earlier request, nothing was written. */
  readonly replayed: boolean;
}

/** What the demo and the tests read of `GET /notifications/:id` (docs/notification-api.md has the rest). */
export interface NotificationView {
  readonly id: string;
  readonly status: NotificationStatus;
  readonly channel: Channel;
  /** Why the last provider attempt failed, when it did. */
  readonly lastError: string | null;
}

/** `POST /notifications`: 202 (accepted) or 200 (a repeat of `idempotencyKey`). */
export async function createNotification(
  baseUrl: string,
  token: string,
  request: NotificationRequest,
  idempotencyKey?: string,
): Promise<NotificationAccepted> {
  const headers: Record<string, string> = idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey };
  const answer = await send<Omit<NotificationAccepted, 'replayed'>>('POST', baseUrl, '/notifications', token, request, headers);
  return { ...answer.body, replayed: answer.status === 200 };
}

/** `GET /notifications/:id`: the caller's notification (another user's is a 404, as a missing one). */
export async function getNotification(baseUrl: string, token: string, id: string): Promise<NotificationView> {
  return (await send<NotificationView>('GET', baseUrl, `/notifications/${segment(id)}`, token)).body;
}

// ---------------------------------------------------------------- metrics-ingest

export interface MetricPoint {
  /** The token's subject: a service posts its own points only. */
  readonly serviceId: string;
  readonly name: string;
  readonly value: number;
  /** Event time, epoch milliseconds (an integer), within the storage retention and at most 5 minutes ahead of the API's clock. */
  readonly timestamp: number;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface MetricsAccepted {
  readonly accepted: number;
  /** Points dropped while the API samples under backpressure (`Sampling` header). */
  readonly sampledOut?: number;
}

/** `POST /metrics`: 202 once Kafka acknowledged the points; 429 with Retry-After while the alerting group lags. */
export async function postMetrics(baseUrl: string, token: string, points: readonly MetricPoint[]): Promise<MetricsAccepted> {
  return (await send<MetricsAccepted>('POST', baseUrl, '/metrics', token, { points })).body;
}

// ---------------------------------------------------------------- feed-api

export interface FeedUser {
  readonly id: string;
  readonly handle: string;
  readonly followerCount: number;
  readonly followingCount: number;
  readonly createdAt: string;
}

export interface FollowState {
  readonly followerId: string;
  readonly followeeId: string;
  readonly following: boolean;
  readonly followeeFollowerCount: number;
}

export interface Post {
  readonly id: string;
  readonly authorId: string;
  readonly authorHandle: string;
  readonly body: string;
  readonly createdAt: string;
}

export interface FeedPage {
  readonly items: readonly Post[];
  readonly nextCursor: string | null;
  /** The reader was inactive: the feed is being rebuilt and this page may be short. */
  readonly regenerating: boolean;
}

/** `POST /users`: registers the token's subject with `handle` (201), or finds it registered with it (200, `created: false`). */
export async function registerUser(baseUrl: string, token: string, handle: string): Promise<FeedUser & { readonly created: boolean }> {
  const answer = await send<FeedUser>('POST', baseUrl, '/users', token, { handle });
  return { ...answer.body, created: answer.status === 201 };
}

export async function getUser(baseUrl: string, token: string, id: string): Promise<FeedUser> {
  return (await send<FeedUser>('GET', baseUrl, `/users/${segment(id)}`, token)).body;
}

/** `PUT /users/:id/following/:followeeId`: `followerId` is the token's subject (one follows as oneself only). */
export async function follow(baseUrl: string, token: string, followerId: string, followeeId: string): Promise<FollowState> {
  return (await send<FollowState>('PUT', baseUrl, `/users/${segment(followerId)}/following/${segment(followeeId)}`, token)).body;
}

export async function unfollow(baseUrl: string, token: string, followerId: string, followeeId: string): Promise<FollowState> {
  return (await send<FollowState>('DELETE', baseUrl, `/users/${segment(followerId)}/following/${segment(followeeId)}`, token)).body;
}

/** `POST /posts` as the token's subject; `postId` (a UUID) makes a retry a repeat instead of a second post. */
export async function createPost(baseUrl: string, token: string, body: string, postId?: string): Promise<Post> {
  return (await send<Post>('POST', baseUrl, '/posts', token, postId === undefined ? { body } : { body, postId })).body;
}

/** `GET /feed`: the token subject's home feed, newest first, one page. */
export async function getFeed(
  baseUrl: string,
  token: string,
  page: { readonly limit?: number; readonly cursor?: string } = {},
): Promise<FeedPage> {
  const query = new URLSearchParams();
  if (page.limit !== undefined) query.set('limit', String(page.limit));
  if (page.cursor !== undefined) query.set('cursor', page.cursor);
  const text = query.toString();
  return (await send<FeedPage>('GET', baseUrl, text === '' ? '/feed' : `/feed?${text}`, token)).body;
}

// ---------------------------------------------------------------- operator endpoints (audience qls-ops, scope ops:read)

export interface DlqStatus {
  readonly queue: string;
  readonly sourceQueue: string;
  /** Visible + in flight + delayed. */
  readonly depth: number;
  readonly oldestAgeSeconds: number;
  /** depth > 0: every dead letter needs a person. */
  readonly alert: boolean;
}

/** notification-dlq-monitor's `GET /dlq`. */
export async function getDlqStatus(baseUrl: string, operatorToken: string): Promise<DlqStatus> {
  return (await send<DlqStatus>('GET', baseUrl, '/dlq', operatorToken)).body;
}

/** One consumer group's lag on one topic, as stream-ops evaluates it (Burrow-style status); the fields the demo reads. */
export interface GroupLag {
  readonly group: string;
  readonly topic: string;
  /** OK, WARN, STALL, STOP, REWIND… */
  readonly status: string;
  readonly totalLag: number;
  readonly maxTimeLagSeconds: number | null;
}

/** stream-ops' `GET /lag`: every monitored group. */
export async function getLag(baseUrl: string, operatorToken: string): Promise<GroupLag[]> {
  return (await send<{ groups: GroupLag[] }>('GET', baseUrl, '/lag', operatorToken)).body.groups;
}

// ---------------------------------------------------------------- Jaeger's query API (GET /api/traces)

export interface JaegerTag {
  readonly key: string;
  readonly value: unknown;
}

export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references?: readonly { readonly refType: string; readonly spanID: string }[];
  /** Microseconds since the epoch. */
  readonly startTime: number;
  readonly duration: number;
  readonly processID: string;
  readonly tags: readonly JaegerTag[];
}

export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, { readonly serviceName: string }>>;
}

export interface TraceSearch {
  readonly service: string;
  readonly operation?: string;
  /** Span attributes the trace must have (on one span), e.g. `{ 'alert.status': 'firing' }`. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Epoch milliseconds. */
  readonly start: number;
  readonly end?: number;
  readonly limit: number;
}

/** Traces with a span of `service` in [start, end], most recent first (Jaeger's own order). */
export async function findTraces(jaegerUrl: string, search: TraceSearch): Promise<JaegerTrace[]> {
  const query = new URLSearchParams({
    service: search.service,
    start: String(search.start * 1_000),
    end: String((search.end ?? Date.now()) * 1_000),
    limit: String(search.limit),
  });
  if (search.operation !== undefined) query.set('operation', search.operation);
  if (search.tags !== undefined) query.set('tags', JSON.stringify(search.tags));
  return (await send<{ data: JaegerTrace[] | null }>('GET', jaegerUrl, `/api/traces?${query.toString()}`, undefined)).body.data ?? [];
}

// ---------------------------------------------------------------- Prometheus's HTTP API (GET /api/v1/query)

export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** An instant query whose result is a vector: one sample per series, now. */
export async function queryPrometheus(prometheusUrl: string, expression: string): Promise<PromSample[]> {
  const path = `/api/v1/query?${new URLSearchParams({ query: expression }).toString()}`;
  const { body } = await send<{ data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } }>(
    'GET',
    prometheusUrl,
    path,
    undefined,
  );
  if (body.data.resultType !== 'vector') throw new Error(`${expression}: expected a vector, got a ${body.data.resultType}`);
  return body.data.result.map((sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }));
}
