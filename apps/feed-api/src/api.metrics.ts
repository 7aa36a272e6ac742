import type { FeedApiMetrics, FeedApiOperation } from '@qls/feed-api';
import type { FailedRequest } from '@qls/http-api';

const routes: readonly [method: string, path: RegExp, operation: FeedApiOperation][] = [
  ['POST', /^\/users\/?$/, 'create_user'],
  ['GET', /^\/users\/[^/]+\/?$/, 'get_user'],
  ['GET', /^\/users\/[^/]+\/stats\/?$/, 'stats'],
  ['PUT', /^\/users\/[^/]+\/following\/[^/]+\/?$/, 'follow'],
  ['DELETE', /^\/users\/[^/]+\/following\/[^/]+\/?$/, 'unfollow'],
  ['POST', /^\/posts\/?$/, 'create_post'],
  ['GET', /^\/posts\/[^/]+\/?$/, 'get_post'],
  ['DELETE', /^\/posts\/[^/]+\/?$/, 'delete_post'],
  ['GET', /^\/feed\/?$/, 'read_feed'],
  ['GET', /^\/search\/?$/, 'search'],
];

/** Which operation a request is, from its method and path; undefined for other routes (health, metrics, unknown). */
export function operationOf(method: string | undefined, url: string | undefined): FeedApiOperation | undefined {
  const path = (url ?? '').split('?')[0] ?? '';
  return routes.find(([m, pattern]) => m === method && pattern.test(path))?.[2];
}

/** Counts an error answer under its operation, with the error code as the outcome. */
export function countFailedRequest(metrics: FeedApiMetrics, request: FailedRequest): void {
  const operation = operationOf(request.method, request.url);
  if (operation !== undefined) metrics.requests.inc({ operation, outcome: request.outcome });
}
