import { type ComposeApp, interpolate, parseReplicas, PlanError, planProcesses } from './app-plan';

const app = (name: string, environment: Record<string, string>, extra: Partial<ComposeApp> = {}): ComposeApp => ({
  name,
  environment,
  binds: [],
  stopGraceMs: 30_000,
  ...extra,
});
const targets = {
  env: {
    KAFKA_BROKERS: '127.0.0.1:9092',
    DATABASE_URL: 'postgres://qls:pw@127.0.0.1:5432/qls',
    DATABASE_URL_API: 'postgres://qls_api:pw-api@127.0.0.1:5432/qls',
  },
  otlpEndpoint: undefined,
  portOffset: 0,
  replicas: {},
  composeServices: ['kafka', 'postgres', 'memcached', 'api', 'worker', 'alerter'],
};

describe('interpolate (compose rules)', () => {
  it('fills ${VAR}, $VAR and defaults; $$ is a literal dollar', () => {
    const vars = { A: 'a', EMPTY: '' };
    expect(interpolate('${A}-$A-$$A', vars, 'x')).toBe('a-a-$A');
    expect(interpolate('${EMPTY:-d}|${EMPTY-d}|${NONE-d}', vars, 'x')).toBe('d||d');
  });

  it('refuses a required variable that is unset or empty, naming it and where it is used', () => {
    expect(() => interpolate('${EMPTY:?set it in .env}', { EMPTY: '' }, 'api.environment.KEY')).toThrow(
      'api.environment.KEY: EMPTY is not set (set it in .env)',
    );
    expect(interpolate('${EMPTY?set it}', { EMPTY: '' }, 'x')).toBe('');
  });
});

describe('planProcesses', () => {
  it("re-points servers, the app's own database role and the OTLP endpoint; leaves other values alone", () => {
    const [api] = planProcesses(
      [
        app('api', {
          KAFKA_BROKERS: 'kafka:9092',
          DATABASE_URL: 'postgres://qls_api:other@postgres:5432/qls',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
          LAG_GROUPS: 'storage:metrics-raw',
        }),
      ],
      targets,
      '/repo',
    );
    expect(api?.env).toEqual({
      KAFKA_BROKERS: '127.0.0.1:9092',
      DATABASE_URL: 'postgres://qls_api:pw-api@127.0.0.1:5432/qls',
      LAG_GROUPS: 'storage:metrics-raw',
      HOST: '127.0.0.1',
    });
  });

  it('keeps a host that is no compose service (an app a fork dropped): it is on neither network', () => {
    const [alerter] = planProcesses([app('alerter', { NOTIFICATION_API_URL: 'http://notification-api:3000' })], targets, '/repo');
    expect(alerter?.env['NOTIFICATION_API_URL']).toBe('http://notification-api:3000');
  });

  it('refuses a value naming a compose service no rule knows, or a role with no local URL', () => {
    expect(() => planProcesses([app('api', { CACHE: 'memcached:11211' })], targets, '/repo')).toThrow(PlanError);
    expect(() => planProcesses([app('api', { CACHE: 'memcached:11211' })], targets, '/repo')).toThrow(/memcached/);
    expect(() => planProcesses([app('api', { DATABASE_URL: 'postgres://qls_nobody:x@postgres:5432/qls' })], targets, '/repo')).toThrow(
      /role qls_nobody/,
    );
  });

  it('runs replicas of an unpublished app on ports of their own, a published app once', () => {
    const apps = [app('api', {}, { hostPort: 3001 }), app('worker', { HTTP_PORT: '3000', MANAGEMENT_PORT: '9464' })];
    const plan = planProcesses(apps, { ...targets, portOffset: 20_000, replicas: { worker: 2 } }, '/repo');
    expect(plan.map((p) => [p.name, p.httpPort, p.managementPort, p.env['HTTP_PORT']])).toEqual([
      ['api', 23001, 29400, undefined],
      ['worker-1', 23100, 29401, '23100'],
      ['worker-2', 23101, 29402, '23101'],
    ]);
    expect(() => planProcesses(apps, { ...targets, replicas: { api: 2 } }, '/repo')).toThrow(/publishes port 3001/);
    expect(() => planProcesses(apps, { ...targets, replicas: { nope: 2 } }, '/repo')).toThrow(/nope/);
  });

  it('reads a file mounted into the container from the repository', () => {
    const alerter = app(
      'alerter',
      { RULES: '/etc/alerting/rules.json' },
      { binds: [['./infra/alerting/rules.json', '/etc/alerting/rules.json']] },
    );
    expect(planProcesses([alerter], targets, '/repo')[0]?.env['RULES']).toBe('/repo/infra/alerting/rules.json');
  });
});

describe('parseReplicas', () => {
  it('reads app=count pairs and refuses anything else', () => {
    expect(parseReplicas(' a=2, b-c=1 ')).toEqual({ a: 2, 'b-c': 1 });
    expect(parseReplicas(undefined)).toEqual({});
    for (const bad of ['a', 'a=0', 'a=17', 'a=x', 'A=1']) expect(() => parseReplicas(bad)).toThrow(PlanError);
  });
});
