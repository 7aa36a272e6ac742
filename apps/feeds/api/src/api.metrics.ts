import type { FeedApiMetrics, FeedApiOperation } from '@qls/feed-service';
import { type FailedRequest, type OperationRoute, countFailedOperation, operationByRoute } from '@qls/http-api';

const routes: readonly OperationRoute<FeedApiOperation>[] = [
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
  return operationByRoute(routes, method, url);
}

/** Counts an error answer under its operation, with the error code as the outcome. */
export function countFailedRequest(metrics: FeedApiMetrics, request: FailedRequest): void {
  countFailedOperation(routes, metrics.requests, request);
}
