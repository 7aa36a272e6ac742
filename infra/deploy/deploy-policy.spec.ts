import { KAFKA_SCALED_APPS, QUEUE_SCALED_APPS, declaredEnv, requiredAppEnv } from './deploy-contract';
import {
  appEnvProblems,
  containerEnv,
  containerProblems,
  credentialLeakProblems,
  imageProblem,
  kafkaReplicaProblems,
  labelProblems,
  probeProblems,
  referenceProblems,
  scaledObjectProblems,
  shutdownProblems,
  wiringProblems,
} from './policy';
import { type KubeObject, composeDurationSeconds, parseManifests, requireTool } from './deploy-tools';
import { validateObject } from './kube-models';

/**
 * The policy checks against objects that break them: proof that the checks on
 * the real deploy files can fail, and what their messages say.
 */

const labels = {
  'app.kubernetes.io/name': 'outbox-relay',
  'app.kubernetes.io/part-of': 'queues-logs-streams',
};

function compliantDeployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'outbox-relay', labels },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'outbox-relay' } },
      template: {
        metadata: { labels },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [
            {
              name: 'outbox-relay',
              image: 'queues-logs-streams/outbox-relay:1.2.3',
              envFrom: [{ configMapRef: { name: 'qls-config' } }],
              env: [
                { name: 'SERVICE_NAME', value: 'outbox-relay' },
                { name: 'OTEL_SERVICE_NAME', value: 'outbox-relay' },
                {
                  name: 'DATABASE_URL',
                  valueFrom: {
                    secretKeyRef: { name: 'qls-secrets', key: 'DATABASE_URL' },
                  },
                },
                {
                  name: 'REDIS_URL',
                  valueFrom: {
                    secretKeyRef: { name: 'qls-secrets', key: 'REDIS_URL' },
                  },
                },
                {
                  name: 'AWS_ACCESS_KEY_ID',
                  valueFrom: {
                    secretKeyRef: {
                      name: 'qls-secrets',
                      key: 'AWS_ACCESS_KEY_ID',
                    },
                  },
                },
                {
                  name: 'AWS_SECRET_ACCESS_KEY',
                  valueFrom: {
                    secretKeyRef: {
                      name: 'qls-secrets',
                      key: 'AWS_SECRET_ACCESS_KEY',
                    },
                  },
                },
              ],
              livenessProbe: { httpGet: { path: '/health/live', port: 3000 } },
              readinessProbe: {
                httpGet: { path: '/health/ready', port: 3000 },
              },
              resources: {
                requests: { cpu: '100m', memory: '128Mi' },
                limits: { memory: '256Mi' },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  };
}

const configMap: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'qls-config',
    labels: { ...labels, 'app.kubernetes.io/name': 'qls-config' },
  },
  data: {
    KAFKA_BROKERS: 'kafka:9092',
    SQS_ENDPOINT: 'http://elasticmq:9324',
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'info',
    HTTP_PORT: '3000',
    MANAGEMENT_PORT: '9464',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
  },
};

/** The Deployment's only container, for editing a fixture. */
type Container = Record<string, unknown> & {
  securityContext: Record<string, unknown>;
  resources: Record<string, Record<string, string>>;
};
const containerOf = (deployment: KubeObject): Container =>
  (deployment['spec'] as { template: { spec: { containers: Container[] } } }).template.spec.containers[0] as Container;

describe('the compliant fixture', () => {
  it('passes every check, so each failure below comes from its one change', () => {
    const objects = [compliantDeployment(), configMap];
    expect([
      ...objects.flatMap(validateObject),
      ...containerProblems(objects),
      ...probeProblems(objects),
      ...labelProblems(objects),
      ...appEnvProblems(objects),
      ...credentialLeakProblems(objects),
      ...referenceProblems(objects, { externalSecrets: ['qls-secrets'] }),
      ...wiringProblems(objects),
      ...shutdownProblems(objects),
      ...scaledObjectProblems(objects, { queueEnv: QUEUE_SCALED_APPS }),
    ]).toEqual([]);
  });
});

describe('validateObject', () => {
  it('rejects a kind it has no model for', () => {
    expect(
      validateObject({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w' },
      }),
    ).toEqual([expect.stringContaining('no validator for example.com/v1/Widget')]);
  });

  it('rejects a field of the wrong type', () => {
    const deployment = compliantDeployment();
    (deployment['spec'] as Record<string, unknown>)['replicas'] = 'two';
    expect(validateObject(deployment)).toEqual([expect.stringMatching(/Deployment\/outbox-relay .*replicas must be integer/)]);
  });

  it('rejects a container without a name', () => {
    const deployment = compliantDeployment();
    delete containerOf(deployment)['name'];
    expect(validateObject(deployment)).toEqual([expect.stringContaining('containers/0 must have required property name')]);
  });
});

describe('imageProblem', () => {
  it.each([
    ['redis', /no tag/],
    ['redis:latest', /:latest/],
    ['registry:5000/team/app', /no tag/],
  ])('rejects %s', (image, message) => {
    expect(imageProblem(image)).toMatch(message);
  });

  it.each(['redis:7.0', 'registry:5000/team/app:1.0.0', `app@sha256:${'a'.repeat(64)}`])('accepts %s', (image) => {
    expect(imageProblem(image)).toBeUndefined();
  });
});

describe('containerProblems', () => {
  it('names a container without resources', () => {
    const deployment = compliantDeployment();
    containerOf(deployment).resources = {};
    expect(containerProblems([deployment])).toEqual([
      'Deployment/outbox-relay container "outbox-relay" has no resources.requests.cpu',
      'Deployment/outbox-relay container "outbox-relay" has no resources.requests.memory',
      'Deployment/outbox-relay container "outbox-relay" has no resources.limits.memory',
    ]);
  });

  it('names a container that may run as root, escalate or keep capabilities', () => {
    const deployment = compliantDeployment();
    delete (deployment['spec'] as { template: { spec: Record<string, unknown> } }).template.spec['securityContext'];
    containerOf(deployment).securityContext = { readOnlyRootFilesystem: true };
    expect(containerProblems([deployment])).toEqual([
      expect.stringContaining('runAsNonRoot'),
      expect.stringContaining('allowPrivilegeEscalation'),
      expect.stringContaining('drop ALL capabilities'),
    ]);
  });

  it('names a writable root filesystem unless the container is excepted', () => {
    const deployment = compliantDeployment();
    containerOf(deployment).securityContext['readOnlyRootFilesystem'] = false;
    expect(containerProblems([deployment])).toEqual([expect.stringContaining('readOnlyRootFilesystem')]);
    expect(
      containerProblems([deployment], {
        writableRoot: { 'outbox-relay': 'test' },
      }),
    ).toEqual([]);
  });

  it('names an image on :latest', () => {
    const deployment = compliantDeployment();
    containerOf(deployment)['image'] = 'queues-logs-streams/outbox-relay:latest';
    expect(containerProblems([deployment])).toEqual([expect.stringContaining(':latest')]);
  });
});

describe('probeProblems', () => {
  it('names a Deployment container without probes', () => {
    const deployment = compliantDeployment();
    delete containerOf(deployment)['livenessProbe'];
    delete containerOf(deployment)['readinessProbe'];
    expect(probeProblems([deployment])).toEqual([
      'Deployment/outbox-relay container "outbox-relay" has no livenessProbe',
      'Deployment/outbox-relay container "outbox-relay" has no readinessProbe',
    ]);
  });
});

describe('labelProblems', () => {
  it('names an object without part-of and a selector its template does not match', () => {
    const deployment = compliantDeployment();
    deployment.metadata = {
      name: 'outbox-relay',
      labels: { 'app.kubernetes.io/name': 'outbox-relay' },
    };
    (
      deployment['spec'] as {
        selector: { matchLabels: Record<string, string> };
      }
    ).selector.matchLabels = { 'app.kubernetes.io/name': 'relay' };
    expect(labelProblems([deployment])).toEqual([
      'Deployment/outbox-relay does not have app.kubernetes.io/part-of: queues-logs-streams',
      'Deployment/outbox-relay selects app.kubernetes.io/name=relay, which its own pod template does not carry',
    ]);
  });
});

describe('credentialLeakProblems', () => {
  it('names a ConfigMap holding a database URL with a password', () => {
    const leaky: KubeObject = {
      ...configMap,
      data: { DATABASE_URL: 'postgres://qls:hunter2@db:5432/qls' },
    };
    expect(credentialLeakProblems([leaky])).toEqual([expect.stringContaining('DATABASE_URL holds a URL with a password')]);
  });

  it('names a Redis URL with a password and no user', () => {
    const leaky: KubeObject = { ...configMap, data: { REDIS_URL: 'rediss://:hunter2@cache:6379' } };
    expect(credentialLeakProblems([leaky])).toEqual([expect.stringContaining('REDIS_URL holds a URL with a password')]);
  });

  it('names a password-like key with a value, and a Secret with data', () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { TOKEN: 'x' },
    };
    const leaky: KubeObject = { ...configMap, data: { SMTP_PASSWORD: 'x' } };
    expect(credentialLeakProblems([leaky, secret])).toEqual([
      expect.stringContaining('SMTP_PASSWORD looks like a credential'),
      expect.stringContaining('Secret/s carries values (TOKEN)'),
    ]);
  });

  it('names a credential set as a literal container variable', () => {
    const deployment = compliantDeployment();
    (containerOf(deployment)['env'] as unknown[]).push({
      name: 'AWS_SECRET_ACCESS_KEY',
      value: 'abc',
    });
    expect(credentialLeakProblems([deployment])).toEqual([expect.stringContaining('AWS_SECRET_ACCESS_KEY looks like a credential')]);
  });
});

describe('appEnvProblems', () => {
  it('names the variables an app container lacks', () => {
    expect(appEnvProblems([compliantDeployment()])).toEqual([expect.stringContaining('does not set KAFKA_BROKERS, SQS_ENDPOINT')]);
  });

  it('names a SERVICE_NAME that is not the app it runs', () => {
    const deployment = compliantDeployment();
    (containerOf(deployment)['env'] as { name: string; value?: string }[])[0] = { name: 'SERVICE_NAME', value: 'other' };
    expect(appEnvProblems([deployment, configMap])).toEqual([
      expect.stringContaining('sets SERVICE_NAME=other but runs the image of outbox-relay'),
    ]);
  });
});

describe('referenceProblems', () => {
  it('names a Secret that is neither rendered nor external, and a missing ConfigMap', () => {
    expect(referenceProblems([compliantDeployment()], { externalSecrets: [] })).toEqual([
      expect.stringContaining('refers to ConfigMap qls-config, which is not rendered'),
      ...Array.from({ length: 4 }, () =>
        expect.stringContaining('refers to Secret qls-secrets, which is neither rendered nor declared external'),
      ),
    ]);
  });

  it('names a key the rendered Secret lacks', () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'qls-secrets' },
      data: {
        DATABASE_URL: 'eA==',
        AWS_ACCESS_KEY_ID: 'eA==',
        AWS_SECRET_ACCESS_KEY: 'eA==',
      },
    };
    expect(
      referenceProblems([compliantDeployment(), configMap, secret], {
        externalSecrets: [],
      }),
    ).toEqual([expect.stringContaining('needs key REDIS_URL of Secret qls-secrets')]);
  });
});

describe('wiringProblems', () => {
  it('names a Deployment that sets replicas while an autoscaler scales it, and a Service that selects nothing', () => {
    const deployment = compliantDeployment();
    (deployment['spec'] as Record<string, unknown>)['replicas'] = 2;
    const hpa: KubeObject = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'h' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'outbox-relay' } },
    };
    const service: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { selector: { 'app.kubernetes.io/name': 'outbox' } },
    };
    expect(wiringProblems([deployment, hpa, service])).toEqual([
      expect.stringContaining('Deployment/outbox-relay sets spec.replicas although HorizontalPodAutoscaler/h scales it'),
      expect.stringContaining('Service/s selects'),
    ]);
  });
});

/** notification-worker as the real files deploy it, reduced to what the KEDA checks read. */
function worker(namespace?: string): KubeObject {
  const deployment = compliantDeployment();
  deployment.metadata = { name: 'notification-worker', labels, ...(namespace ? { namespace } : {}) };
  const container = containerOf(deployment);
  container['name'] = 'notification-worker';
  container['image'] = 'queues-logs-streams/notification-worker:1.2.3';
  delete (deployment['spec'] as Record<string, unknown>)['replicas'];
  return deployment;
}

function scaledObject(metadata: Record<string, string>, spec: Record<string, unknown> = {}, namespace?: string): KubeObject {
  return kedaScaledObject('notification-worker', 20, { type: 'aws-sqs-queue', metadata }, spec, namespace);
}

/** A ScaledObject of `app` (1 to `maxReplicaCount` replicas) with one trigger; `spec` overrides. */
function kedaScaledObject(
  app: string,
  maxReplicaCount: number,
  trigger: { type: string; metadata: Record<string, string> },
  spec: Record<string, unknown>,
  namespace: string | undefined,
): KubeObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: app, labels, ...(namespace ? { namespace } : {}) },
    spec: {
      scaleTargetRef: { name: app },
      minReplicaCount: 1,
      maxReplicaCount,
      triggers: [trigger],
      ...spec,
    },
  };
}

const queueConfig = (sqsEndpoint: string, region = 'eu-west-1'): KubeObject => ({
  ...configMap,
  data: {
    ...(configMap['data'] as Record<string, string>),
    SQS_ENDPOINT: sqsEndpoint,
    AWS_REGION: region,
    NOTIFICATIONS_QUEUE: 'notifications',
  },
});

describe('containerEnv', () => {
  it('resolves literals and ConfigMap values, lets env override envFrom, and knows Secret-backed names without their values', () => {
    const deployment = compliantDeployment();
    (containerOf(deployment)['env'] as unknown[]).push({ name: 'AWS_REGION', value: 'eu-central-1' });
    const env = containerEnv([deployment, configMap], containerOf(deployment) as never);
    expect(env.get('KAFKA_BROKERS')).toBe('kafka:9092');
    expect(env.get('AWS_REGION')).toBe('eu-central-1');
    expect(env.has('DATABASE_URL')).toBe(true);
    expect(env.get('DATABASE_URL')).toBeUndefined();
  });
});

describe('appEnvProblems with app-specific variables', () => {
  it('names the variables a particular app needs on top of APP_ENV', () => {
    expect(appEnvProblems([compliantDeployment(), configMap], (app) => (app === 'outbox-relay' ? ['OUTBOX_X', 'OUTBOX_Y'] : []))).toEqual([
      'Deployment/outbox-relay container "outbox-relay" does not set OUTBOX_X, OUTBOX_Y',
    ]);
  });

  it("requires what the brief promised the notification apps and what each app's config.ts declares", () => {
    expect(requiredAppEnv('notification-api')).toEqual(expect.arrayContaining(['AUTH_JWT_PUBLIC_KEYS', 'NOTIFICATIONS_QUEUE']));
    expect(requiredAppEnv('notification-worker')).toEqual(expect.arrayContaining(['WORKER_MAX_PROCESSING_SECONDS', 'NOTIFICATIONS_DLQ']));
    expect(requiredAppEnv('notification-dlq-monitor')).toEqual(expect.arrayContaining(['DLQ_POLL_INTERVAL_MS']));
    expect(declaredEnv('no-such-app')).toEqual([]);
  });
});

describe('scaledObjectProblems', () => {
  const options = { queueEnv: QUEUE_SCALED_APPS };
  const onAws = {
    queueURL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/notifications',
    awsRegion: 'eu-west-1',
    queueLength: '100',
  };

  it('accepts a trigger on the queue, region and server the worker uses (AWS, and ElasticMQ through its namespaced name)', () => {
    expect(scaledObjectProblems([worker(), queueConfig('https://sqs.eu-west-1.amazonaws.com'), scaledObject(onAws)], options)).toEqual([]);
    const local = scaledObject(
      {
        queueURL: 'http://elasticmq.qls.svc.cluster.local:9324/000000000000/notifications',
        awsEndpoint: 'http://elasticmq.qls.svc.cluster.local:9324',
        awsRegion: 'us-east-1',
        queueLength: '100',
      },
      {},
      'qls',
    );
    expect(scaledObjectProblems([worker('qls'), queueConfig('http://elasticmq:9324', 'us-east-1'), local], options)).toEqual([]);
  });

  it('names an unstated maximum, a wrong queue, a wrong region and a queueLength KEDA would ignore', () => {
    const wrong = scaledObject(
      { queueURL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/fan-out-tasks', awsRegion: 'us-east-1', queueLength: 'lots' },
      { maxReplicaCount: undefined },
    );
    expect(scaledObjectProblems([worker(), queueConfig('https://sqs.eu-west-1.amazonaws.com'), wrong], options)).toEqual([
      'ScaledObject/notification-worker does not state maxReplicaCount (KEDA would allow 100)',
      expect.stringContaining('has queueLength lots'),
      expect.stringContaining('watches queue fan-out-tasks but notification-worker consumes NOTIFICATIONS_QUEUE=notifications'),
      expect.stringContaining('has awsRegion us-east-1, the target uses eu-west-1'),
    ]);
    const elsewhere = scaledObject({ ...onAws, queueURL: 'https://sqs.us-east-1.amazonaws.com/123456789012/notifications' });
    expect(scaledObjectProblems([worker(), queueConfig('https://sqs.eu-west-1.amazonaws.com'), elsewhere], options)).toEqual([
      expect.stringContaining("is not in the target's region (https://sqs.eu-west-1.amazonaws.com/...)"),
    ]);
  });

  it('names a trigger on ElasticMQ without awsEndpoint, or with the short name KEDA cannot resolve from its namespace', () => {
    const local = { queueURL: 'http://elasticmq:9324/000000000000/notifications', awsRegion: 'us-east-1', queueLength: '100' };
    const objects = (trigger: Record<string, string>) => [
      worker('qls'),
      queueConfig('http://elasticmq:9324', 'us-east-1'),
      scaledObject(trigger, {}, 'qls'),
    ];
    expect(scaledObjectProblems(objects(local), options)).toEqual([expect.stringContaining('has no awsEndpoint')]);
    expect(scaledObjectProblems(objects({ ...local, awsEndpoint: 'http://elasticmq:9324' }), options)).toEqual([
      expect.stringContaining("as seen from KEDA's namespace (http://elasticmq.qls.svc.cluster.local:9324)"),
    ]);
  });

  it('names an awsEndpoint set while the worker talks to AWS', () => {
    const objects = [
      worker(),
      queueConfig('https://sqs.eu-west-1.amazonaws.com'),
      scaledObject({ ...onAws, awsEndpoint: 'http://elasticmq:9324' }),
    ];
    expect(scaledObjectProblems(objects, options)).toEqual([expect.stringContaining('sets awsEndpoint')]);
  });
});

/** metrics-storage as a Deployment: joins STORAGE_GROUP_ID on METRICS_RAW_TOPIC, brokers from the ConfigMap. */
function storage(namespace?: string): KubeObject {
  const deployment = worker(namespace);
  deployment.metadata = { name: 'metrics-storage', labels, ...(namespace ? { namespace } : {}) };
  const container = containerOf(deployment);
  container['name'] = 'metrics-storage';
  container['image'] = 'queues-logs-streams/metrics-storage:1.2.3';
  container['env'] = [
    { name: 'STORAGE_GROUP_ID', value: 'storage' },
    { name: 'METRICS_RAW_TOPIC', value: 'metrics-raw' },
  ];
  return deployment;
}

function kafkaScaledObject(metadata: Record<string, string>, spec: Record<string, unknown> = {}, namespace?: string): KubeObject {
  return kedaScaledObject('metrics-storage', 12, { type: 'kafka', metadata }, spec, namespace);
}

const brokers = (list: string): KubeObject => ({
  ...configMap,
  data: { ...(configMap['data'] as Record<string, string>), KAFKA_BROKERS: list },
});
const topics = [
  { name: 'metrics-raw', partitions: 12 },
  { name: 'alerts', partitions: 3 },
];

describe('scaledObjectProblems with kafka triggers', () => {
  const options = { queueEnv: QUEUE_SCALED_APPS, kafkaConsumers: KAFKA_SCALED_APPS, topics };
  const trigger = {
    bootstrapServers: 'b-1.kafka.example.internal:9092,b-2.kafka.example.internal:9092',
    consumerGroup: 'storage',
    topic: 'metrics-raw',
    lagThreshold: '20000',
    allowIdleConsumers: 'false',
  };
  const managed = brokers('b-1.kafka.example.internal:9092,b-2.kafka.example.internal:9092');

  it("accepts a trigger on the target's group, topic and brokers (managed, and in-cluster through the namespaced name)", () => {
    expect(scaledObjectProblems([storage(), managed, kafkaScaledObject(trigger)], options)).toEqual([]);
    const local = kafkaScaledObject({ ...trigger, bootstrapServers: 'kafka.qls.svc.cluster.local:9092' }, {}, 'qls');
    expect(scaledObjectProblems([storage('qls'), brokers('kafka:9092'), local], options)).toEqual([]);
    expect(validateObject(local)).toEqual([]);
  });

  it('names a wrong group, a wrong or unknown topic, a lagThreshold KEDA would ignore and brokers KEDA cannot resolve', () => {
    const wrong = kafkaScaledObject({ ...trigger, consumerGroup: 'alerting', topic: 'metrics', lagThreshold: 'many' });
    expect(scaledObjectProblems([storage(), managed, wrong], options)).toEqual([
      expect.stringContaining('has lagThreshold many'),
      'ScaledObject/metrics-storage trigger kafka watches group alerting but metrics-storage joins STORAGE_GROUP_ID=storage',
      'ScaledObject/metrics-storage trigger kafka watches topic metrics but metrics-storage reads METRICS_RAW_TOPIC=metrics-raw',
      'ScaledObject/metrics-storage trigger kafka watches topic metrics, which infra/provision/topology.json does not create',
    ]);
    const short = kafkaScaledObject({ ...trigger, bootstrapServers: 'kafka:9092' }, {}, 'qls');
    expect(scaledObjectProblems([storage('qls'), brokers('kafka:9092'), short], options)).toEqual([
      expect.stringContaining("as seen from KEDA's namespace (a short name needs .qls.svc.cluster.local)"),
    ]);
  });

  it('names a kafka trigger on an app KAFKA_SCALED_APPS does not list', () => {
    expect(
      scaledObjectProblems([worker(), managed, kafkaScaledObject(trigger, { scaleTargetRef: { name: 'notification-worker' } })], options),
    ).toEqual([expect.stringContaining('scales notification-worker, which is not in KAFKA_SCALED_APPS')]);
  });
});

describe('scaledObjectProblems with a target that may join several groups (feed-indexer)', () => {
  const options = { queueEnv: QUEUE_SCALED_APPS, kafkaConsumers: KAFKA_SCALED_APPS, topics: [{ name: 'posts', partitions: 12 }] };
  const managed = brokers('b-1.kafka.example.internal:9092');
  /** A feed-indexer Deployment running the projections `projections` (unset: the app's default, both). */
  function indexer(projections: string | undefined): KubeObject {
    const deployment = storage();
    deployment.metadata = { name: 'feed-indexer-search', labels };
    const container = containerOf(deployment);
    container['name'] = 'feed-indexer';
    container['image'] = 'queues-logs-streams/feed-indexer:1.2.3';
    container['env'] = [
      ...(projections === undefined ? [] : [{ name: 'FEED_INDEXER_PROJECTIONS', value: projections }]),
      { name: 'SEARCH_GROUP_ID', value: 'search' },
      { name: 'ANALYTICS_GROUP_ID', value: 'analytics' },
      { name: 'POSTS_TOPIC', value: 'posts' },
    ];
    return deployment;
  }
  const on = (group: string) => ({
    type: 'kafka',
    metadata: {
      bootstrapServers: 'b-1.kafka.example.internal:9092',
      consumerGroup: group,
      topic: 'posts',
      lagThreshold: '20000',
      allowIdleConsumers: 'false',
    },
  });
  const scaling = (...groups: string[]) =>
    kafkaScaledObject({}, { scaleTargetRef: { name: 'feed-indexer-search' }, triggers: groups.map(on) });

  it('accepts a trigger on the one group the target runs, and one per group when it runs several', () => {
    expect(scaledObjectProblems([indexer('search'), managed, scaling('search')], options)).toEqual([]);
    expect(scaledObjectProblems([indexer('search,analytics'), managed, scaling('search', 'analytics')], options)).toEqual([]);
    expect(scaledObjectProblems([indexer(undefined), managed, scaling('analytics', 'search')], options)).toEqual([]);
  });

  it('names a trigger on a group the target does not run, and a group it runs with no trigger', () => {
    expect(scaledObjectProblems([indexer('search'), managed, scaling('analytics')], options)).toEqual([
      'ScaledObject/metrics-storage trigger kafka watches group analytics but feed-indexer joins SEARCH_GROUP_ID=search (FEED_INDEXER_PROJECTIONS=search)',
    ]);
    expect(scaledObjectProblems([indexer(undefined), managed, scaling('search')], options)).toEqual([
      'ScaledObject/metrics-storage scales feed-indexer, which also joins ANALYTICS_GROUP_ID=analytics on posts, with no kafka trigger on that group: its lag would not scale it',
    ]);
  });
});

describe('kafkaReplicaProblems', () => {
  const trigger = { consumerGroup: 'storage', topic: 'metrics-raw', lagThreshold: '100', allowIdleConsumers: 'false' };

  it("accepts as many replicas as the topic's partitions, and no more", () => {
    expect(kafkaReplicaProblems([kafkaScaledObject(trigger, { maxReplicaCount: 12 })], topics)).toEqual([]);
    expect(kafkaReplicaProblems([kafkaScaledObject(trigger, { maxReplicaCount: 13 })], topics)).toEqual([
      'ScaledObject/metrics-storage trigger kafka: maxReplicaCount 13 is above the 12 partitions of metrics-raw (infra/provision/topology.json); the extra replicas would sit idle',
    ]);
    expect(kafkaReplicaProblems([kafkaScaledObject({ ...trigger, topic: 'alerts' }, { maxReplicaCount: 4 })], topics)).toEqual([
      expect.stringContaining('maxReplicaCount 4 is above the 3 partitions of alerts'),
    ]);
  });

  it('names an unstated maximum, idle consumers allowed (or left to the default) and a topic topology.json does not create', () => {
    expect(kafkaReplicaProblems([kafkaScaledObject(trigger, { maxReplicaCount: undefined })], topics)).toEqual([
      expect.stringContaining('no maxReplicaCount (KEDA would allow 100)'),
    ]);
    expect(kafkaReplicaProblems([kafkaScaledObject({ ...trigger, allowIdleConsumers: 'true' })], topics)).toEqual([
      expect.stringContaining("has allowIdleConsumers true; state 'false'"),
    ]);
    const { allowIdleConsumers: _unset, ...implicit } = trigger;
    expect(kafkaReplicaProblems([kafkaScaledObject(implicit)], topics)).toEqual([
      expect.stringContaining('has allowIdleConsumers (unset)'),
    ]);
    expect(kafkaReplicaProblems([kafkaScaledObject({ ...trigger, topic: 'nope' })], topics)).toEqual([
      expect.stringContaining('watches topic nope, whose partitions infra/provision/topology.json does not state'),
    ]);
  });

  // drop-system: metrics {
  it('reads the real topology by default and ignores other triggers', () => {
    expect(kafkaReplicaProblems([kafkaScaledObject(trigger, { maxReplicaCount: 12 })])).toEqual([]);
    expect(kafkaReplicaProblems([scaledObject(onAwsTrigger())])).toEqual([]);
  });
  // drop-system }
});

describe('shutdownProblems', () => {
  it("names a pod the kubelet kills before the app's own shutdown deadline", () => {
    const deployment = compliantDeployment();
    (containerOf(deployment)['env'] as unknown[]).push({ name: 'SHUTDOWN_TIMEOUT_MS', value: '50000' });
    containerOf(deployment)['lifecycle'] = { preStop: { exec: { command: ['sleep', '5'] } } };
    expect(shutdownProblems([deployment])).toEqual([
      'Deployment/outbox-relay gives 30 s to stop, but container "outbox-relay" may take 5 s (preStop) + 50 s (SHUTDOWN_TIMEOUT_MS); raise terminationGracePeriodSeconds',
    ]);
    (deployment['spec'] as { template: { spec: Record<string, unknown> } }).template.spec['terminationGracePeriodSeconds'] = 60;
    expect(shutdownProblems([deployment])).toEqual([]);
  });
});

describe('appEnvProblems and unused credentials', () => {
  it('names a credential handed to an app that does not read it', () => {
    const deployment = worker();
    const container = containerOf(deployment);
    container['image'] = 'queues-logs-streams/notification-dlq-monitor:1.2.3';
    (container['env'] as { name: string; value?: string }[]).splice(
      0,
      2,
      ...[
        { name: 'SERVICE_NAME', value: 'notification-dlq-monitor' },
        { name: 'OTEL_SERVICE_NAME', value: 'notification-dlq-monitor' },
      ],
    );
    expect(appEnvProblems([deployment, configMap])).toEqual([
      'Deployment/notification-worker container "notification-worker" gets DATABASE_URL, REDIS_URL, which notification-dlq-monitor does not read; leave them out',
    ]);
  });
});

describe('wiringProblems with ServiceAccounts', () => {
  it('names a pod that runs as a ServiceAccount which is not rendered', () => {
    const deployment = compliantDeployment();
    (deployment['spec'] as { template: { spec: Record<string, unknown> } }).template.spec['serviceAccountName'] = 'relay';
    expect(wiringProblems([deployment])).toEqual(['Deployment/outbox-relay runs as ServiceAccount relay, which is not rendered']);
  });
});

describe('wiringProblems with KEDA', () => {
  it('names a workload with two autoscalers and a ScaledObject whose TriggerAuthentication is missing', () => {
    const hpa: KubeObject = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'notification-worker' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'notification-worker' } },
    };
    const keda = scaledObject({}, { triggers: [{ type: 'aws-sqs-queue', metadata: {}, authenticationRef: { name: 'sqs-auth' } }] });
    expect(wiringProblems([worker(), hpa, keda])).toEqual([
      'Deployment/notification-worker is scaled by HorizontalPodAutoscaler/notification-worker and ScaledObject/notification-worker; keep one (KEDA makes its own HPA)',
      'ScaledObject/notification-worker trigger aws-sqs-queue authenticates with TriggerAuthentication/sqs-auth, which is not rendered',
    ]);
  });
});

describe('referenceProblems with KEDA', () => {
  it("names a TriggerAuthentication that reads a Secret which is not rendered (kustomize's hash suffix not followed)", () => {
    const auth: KubeObject = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'TriggerAuthentication',
      metadata: { name: 'sqs-auth' },
      spec: { secretTargetRef: [{ parameter: 'awsAccessKeyID', name: 'qls-secrets', key: 'AWS_ACCESS_KEY_ID' }] },
    };
    const hashed: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'qls-secrets-h7td88h7md' },
      data: { AWS_ACCESS_KEY_ID: 'eA==' },
    };
    expect(referenceProblems([auth, hashed], { externalSecrets: [] })).toEqual([
      'TriggerAuthentication/sqs-auth parameter awsAccessKeyID refers to Secret qls-secrets, which is neither rendered nor declared external',
    ]);
  });
});

describe('validateObject with KEDA', () => {
  it('rejects a ScaledObject without scaleTargetRef', () => {
    const keda = scaledObject(onAwsTrigger());
    delete (keda['spec'] as Record<string, unknown>)['scaleTargetRef'];
    expect(validateObject(keda)).toEqual([expect.stringContaining('must have required property scaleTargetRef')]);
  });
});

function onAwsTrigger(): Record<string, string> {
  return { queueURL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/notifications', awsRegion: 'eu-west-1', queueLength: '100' };
}

describe('composeDurationSeconds', () => {
  it.each([
    ['60s', 60],
    ['1m0s', 60],
    ['1m30s', 90],
    ['500ms', 0.5],
  ])('reads %s as %d s', (text, seconds) => {
    expect(composeDurationSeconds(text)).toBe(seconds);
  });

  it('refuses what it cannot read', () => {
    expect(composeDurationSeconds('a minute')).toBeUndefined();
  });
});

describe('tools', () => {
  it('parses a multi-document stream and rejects a document without a kind', () => {
    expect(parseManifests('apiVersion: v1\nkind: ConfigMap\n---\n', 'test')).toHaveLength(1);
    expect(() => parseManifests('apiVersion: v1\n', 'test')).toThrow('test, document 1 has no apiVersion/kind');
  });

  it('reports kubectl and docker-compose as installed (the deploy checks need both)', () => {
    expect(() => requireTool('kubectl')).not.toThrow();
    expect(() => requireTool('docker-compose')).not.toThrow();
  });

  it('fails, saying what to install, when a tool is missing', () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      expect(() => requireTool('docker-compose')).toThrow(/^docker-compose is not on PATH; install docker-compose .*apt-get install/);
      expect(() => requireTool('kubectl')).toThrow(/^kubectl is not on PATH; install kubectl/);
    } finally {
      process.env['PATH'] = path;
    }
  });
});
