import {
  appEnvProblems,
  containerProblems,
  credentialLeakProblems,
  imageProblem,
  labelProblems,
  probeProblems,
  referenceProblems,
  wiringProblems,
} from './deploy-policy';
import { type KubeObject, parseManifests, requireTool } from './deploy-tools';
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
