import { readFileSync, readdirSync } from 'node:fs';
import { ONE_SHOT_APPS, SECRET_NAME, WRITABLE_ROOT_CONTAINERS, deployableApps, readEnvFile, repoPath } from './deploy-contract';
import {
  appEnvProblems,
  appOfImage,
  containerProblems,
  credentialLeakProblems,
  isAppImage,
  labelProblems,
  podTemplateOf,
  probeProblems,
  referenceProblems,
  wiringProblems,
} from './deploy-policy';
import { type KubeObject, describeObject, renderKustomize } from './deploy-tools';
import { validateObject } from './kube-models';

const OVERLAYS = readdirSync(repoPath('k8s/overlays'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `k8s/overlays/${entry.name}`);
/** Base and production hold no secret values: the Secret is created outside the repository. */
const WITHOUT_SECRETS = ['k8s/base', 'k8s/overlays/production'];

const rendered = new Map<string, KubeObject[]>();
function render(dir: string): KubeObject[] {
  let objects = rendered.get(dir);
  if (!objects) {
    objects = renderKustomize(dir);
    rendered.set(dir, objects);
  }
  return objects;
}

const appContainers = (objects: readonly KubeObject[]) =>
  objects.flatMap((object) =>
    (podTemplateOf(object)?.spec.containers ?? []).filter((c) => isAppImage(c.image)).map((container) => ({ object, container })),
  );

it('has the two overlays this repository documents', () => {
  expect(OVERLAYS).toEqual(expect.arrayContaining(['k8s/overlays/local', 'k8s/overlays/production']));
});

describe.each(['k8s/base', ...OVERLAYS])('%s', (dir) => {
  const local = dir === 'k8s/overlays/local';

  it('renders with kubectl kustomize', () => {
    expect(render(dir).length).toBeGreaterThan(0);
  });

  it('validates every object with kubernetes-models, and knows every kind', () => {
    expect(render(dir).flatMap(validateObject)).toEqual([]);
  });

  it('gives every container resources, a pinned image and a non-root, read-only, capability-free security context', () => {
    expect(
      containerProblems(render(dir), {
        writableRoot: local ? WRITABLE_ROOT_CONTAINERS : {},
      }),
    ).toEqual([]);
  });

  it('gives every long-running container liveness and readiness probes', () => {
    expect(probeProblems(render(dir))).toEqual([]);
  });

  it('labels every object with app.kubernetes.io/name and app.kubernetes.io/part-of', () => {
    expect(labelProblems(render(dir))).toEqual([]);
  });

  it('wires services, budgets and autoscalers to workloads that exist', () => {
    expect(wiringProblems(render(dir))).toEqual([]);
  });

  it('sets every variable the apps read on every app container', () => {
    expect(appContainers(render(dir)).length).toBeGreaterThan(0);
    expect(appEnvProblems(render(dir))).toEqual([]);
  });

  it(`reads credentials only from ConfigMaps that exist and from the Secret ${SECRET_NAME}`, () => {
    expect(
      referenceProblems(render(dir), {
        externalSecrets: local ? [] : [SECRET_NAME],
      }),
    ).toEqual([]);
  });

  it('runs every deployable app under apps/ (as a Deployment, or a Job for one-shot apps)', () => {
    const deployed = new Map(appContainers(render(dir)).map(({ object, container }) => [appOfImage(container.image ?? ''), object.kind]));
    const problems = deployableApps().flatMap((app) => {
      const kind = deployed.get(app);
      const wanted = (ONE_SHOT_APPS as readonly string[]).includes(app) ? 'Job' : 'Deployment';
      if (kind === undefined)
        return [`apps/${app} is not deployed: copy k8s/base/outbox-relay.yaml for it and list it in k8s/base/kustomization.yaml`];
      return kind === wanted ? [] : [`apps/${app} runs as a ${kind}, expected a ${wanted}`];
    });
    expect(problems).toEqual([]);
  });

  it('exposes /metrics to Prometheus on every app Deployment', () => {
    const problems = render(dir)
      .filter((object) => object.kind === 'Deployment' && appContainers([object]).length > 0)
      .flatMap((object) => {
        const annotations = podTemplateOf(object)?.annotations ?? {};
        return annotations['prometheus.io/scrape'] === 'true' &&
          annotations['prometheus.io/path'] === '/metrics' &&
          annotations['prometheus.io/port']
          ? []
          : [`${describeObject(object)} pod template lacks prometheus.io/scrape, /path or /port annotations`];
      });
    expect(problems).toEqual([]);
  });

  it('gives app pods time to drain (terminationGracePeriodSeconds >= 30)', () => {
    const problems = render(dir)
      .filter((object) => object.kind === 'Deployment' && appContainers([object]).length > 0)
      .filter((object) => (podTemplateOf(object)?.spec.terminationGracePeriodSeconds ?? 30) < 30)
      .map((object) => `${describeObject(object)} allows less than 30 s to shut down`);
    expect(problems).toEqual([]);
  });

  if (WITHOUT_SECRETS.includes(dir)) {
    it('keeps secret values out: no Secret data, no password-like values in ConfigMaps or env', () => {
      expect(credentialLeakProblems(render(dir))).toEqual([]);
    });

    it('points no ConfigMap value at localhost (that would be the pod itself)', () => {
      const problems = render(dir)
        .filter((object) => object.kind === 'ConfigMap')
        .flatMap((object) =>
          Object.entries((object['data'] as Record<string, string> | undefined) ?? {})
            .filter(([, value]) => /localhost|127\.0\.0\.1/.test(value))
            .map(([key, value]) => `${describeObject(object)}: ${key}=${value} points at the pod itself`),
        );
      expect(problems).toEqual([]);
    });
  }
});

describe('k8s/base', () => {
  it('is namespace-agnostic', () => {
    const namespaced = render('k8s/base').filter((object) => object.metadata?.namespace !== undefined || object.kind === 'Namespace');
    expect(namespaced.map(describeObject)).toEqual([]);
  });

  it('runs the provision Job with a retry limit and a clean-up TTL', () => {
    const job = render('k8s/base').find((object) => object.kind === 'Job' && object.metadata?.name === 'provision');
    expect(job).toBeDefined();
    expect(job?.['spec']).toEqual(
      expect.objectContaining({
        backoffLimit: expect.any(Number),
        ttlSecondsAfterFinished: expect.any(Number),
      }),
    );
  });
});

describe('k8s/overlays/production', () => {
  it('runs release images of the apps, not the :local images compose builds', () => {
    const problems = appContainers(render('k8s/overlays/production'))
      .filter(({ container }) => /:local$/.test(container.image ?? ''))
      .map(
        ({ object, container }) =>
          `${describeObject(object)} runs ${container.image}; set a release tag under images: in its kustomization`,
      );
    expect(problems).toEqual([]);
  });

  it('keeps outbox-relay available through node drains: an autoscaler from 2 replicas and a disruption budget', () => {
    const objects = render('k8s/overlays/production');
    const hpa = objects.find((object) => object.kind === 'HorizontalPodAutoscaler' && object.metadata?.name === 'outbox-relay');
    const pdb = objects.find((object) => object.kind === 'PodDisruptionBudget' && object.metadata?.name === 'outbox-relay');
    expect((hpa?.['spec'] as { minReplicas?: number } | undefined)?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(pdb).toBeDefined();
  });

  it('documents in k8s/README.md every key it reads from the Secret', () => {
    const readme = readFileSync(repoPath('k8s/README.md'), 'utf8');
    const keys = new Set(
      render('k8s/overlays/production').flatMap((object) =>
        (podTemplateOf(object)?.spec.containers ?? []).flatMap((container) =>
          (container.env ?? []).flatMap((variable) =>
            variable.valueFrom?.secretKeyRef?.name === SECRET_NAME ? [variable.valueFrom.secretKeyRef.key] : [],
          ),
        ),
      ),
    );
    expect([...keys].filter((key) => !readme.includes(key))).toEqual([]);
  });
});

describe('k8s/overlays/local', () => {
  const secrets = () => readEnvFile(repoPath('k8s/overlays/local/secrets.local.env'));

  it('marks its committed secret values as local-only', () => {
    const values = secrets();
    expect(values['POSTGRES_PASSWORD']).toMatch(/local/);
    expect(values['DATABASE_URL']).toMatch(/@postgres:5432\//);
  });

  it('uses the Postgres password of the local server inside DATABASE_URL', () => {
    const values = secrets();
    const url = new URL(values['DATABASE_URL'] ?? 'invalid:');
    expect(decodeURIComponent(url.password)).toBe(values['POSTGRES_PASSWORD']);
  });

  it('holds every key of the Secret, the optional AWS keys included', () => {
    expect(Object.keys(secrets()).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'DATABASE_URL',
      'POSTGRES_PASSWORD',
      'REDIS_URL',
    ]);
  });

  it('serves ElasticMQ the same configuration file as docker-compose.yml', () => {
    expect(readFileSync(repoPath('k8s/overlays/local/elasticmq.conf'), 'utf8')).toBe(
      readFileSync(repoPath('infra/compose/elasticmq.conf'), 'utf8'),
    );
  });
});
