import { isManagementRequest } from './management-port';

describe('isManagementRequest', () => {
  it("is the Prometheus scrape and the probes, not metrics-ingest's POST /metrics nor look-alike paths", () => {
    expect(
      [
        ['GET', '/metrics'],
        ['HEAD', '/metrics/'],
        ['GET', '/health/live'],
        ['GET', '/health/ready'],
        ['GET', '/health'],
        ['POST', '/metrics'],
        ['GET', '/metrics-raw'],
        ['GET', '/healthz'],
        ['GET', '/outbox/stats'],
      ].map(([method, path]) => isManagementRequest(method, path ?? '')),
    ).toEqual([true, true, true, true, true, false, false, false, false]);
  });
});
