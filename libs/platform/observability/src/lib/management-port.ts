import type { INestApplication } from '@nestjs/common';
import { type IncomingMessage, type RequestListener, type ServerResponse, createServer } from 'node:http';

/** `GET /metrics` (the Prometheus scrape; `POST /metrics` is metrics-ingest's API) and `/health/*`. */
export function isManagementRequest(method: string | undefined, path: string): boolean {
  return ((method === 'GET' || method === 'HEAD') && /^\/metrics\/?$/.test(path)) || /^\/health(\/|$)/.test(path);
}

/**
 * Splits an app across two ports: `/metrics` and `/health/*` are answered on
 * `managementPort` only, everything else on the app's own port only (the
 * other port answers 404 `NOT_FOUND`). Call before `app.listen`; it listens on
 * `managementPort` at `host` once the app is initialised, and closes with the
 * app's server. The same Express instance serves both ports, so readiness and
 * the metrics registry are the app's own.
 */
export async function listenWithManagementPort(app: INestApplication, port: number, managementPort: number, host: string): Promise<void> {
  if (managementPort === port) throw new Error(`MANAGEMENT_PORT (${managementPort}) must differ from HTTP_PORT`);
  app.use((request: IncomingMessage, response: ServerResponse, next: () => void) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const onManagementPort = request.socket.localPort === managementPort;
    if (isManagementRequest(request.method, path) === onManagementPort) return next();
    response.statusCode = 404;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    const where = onManagementPort ? 'the management port' : 'the API port';
    response.end(
      JSON.stringify({ error: { code: 'NOT_FOUND', message: `${request.method} ${path.slice(0, 100)} is not served on ${where}` } }),
    );
  });
  await app.listen(port, host);
  const management = createServer(app.getHttpAdapter().getInstance() as RequestListener);
  await new Promise<void>((resolve, reject) => {
    management.once('error', reject);
    management.listen(managementPort, host, () => resolve());
  });
  (app.getHttpServer() as { once(event: 'close', listener: () => void): void }).once('close', () => management.close());
}
