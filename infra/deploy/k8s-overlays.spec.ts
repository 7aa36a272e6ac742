import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path'; // drop-system: metrics
import {
  AGREED_ENV,
  AGREED_PERIODS,
  CONTAINER_HOST,
  CREDENTIALS_UNUSED,
  KAFKA_SCALED_APPS,
  ONE_SHOT_APPS,
  OPERATOR_APPS,
  OPERATOR_AUDIENCE,
  OWNER_DATABASE_ROLE,
  QUEUE_SCALED_APPS,
  QUEUE_VARIABLES,
  SECRET_NAME,
  WRITABLE_ROOT_CONTAINERS,
  appDatabaseRole,
  appDatabaseUrlVariable,
  USER_APIS,
  deployableApps,
  inCheckout,
  isInCheckout,
  joinedGroups,
  provisionedQueues,
  provisionedTopics,
  readEnvFile,
  repoPath,
  requiredAppEnv,
} from './deploy-contract';
import {
  appEnvProblems,
  appOfImage,
  containerEnv,
  containerProblems,
  credentialLeakProblems,
  isAppImage,
  kafkaReplicaProblems,
  labelProblems,
  podTemplateOf,
  probeProblems,
  referenceProblems,
  scaledObjectProblems,
  shutdownProblems,
  wiringProblems,
} from './policy';
import { type KubeObject, describeObject, renderKustomize } from './deploy-tools';
import { validateObject } from './kube-models';

const OVERLAYS = readdirSync(repoPath('k8s/overlays'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `k8s/overlays/${entry.name}`);
/** Base and production hold no secret values: the Secret is created outside the repository. */
const WITHOUT_SECRETS = ['k8s/base', 'k8s/overlays/production'];
/** Laptop overlays (local, local-keda): servers in the cluster, a generated Secret, Kafka's writable root. */
const isLocal = (dir: string) => dir === 'k8s/overlays/local' || dir.startsWith('k8s/overlays/local-');

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
  const local = isLocal(dir);

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

  it('sets every variable the apps read on every app container (APP_ENV, APP_SPECIFIC_ENV, apps/<system>/<app>/src/config.ts)', () => {
    expect(appContainers(render(dir)).length).toBeGreaterThan(0);
    expect(appEnvProblems(render(dir), requiredAppEnv)).toEqual([]);
  });

  it('points KEDA ScaledObjects at the queue or consumer group, region and server their target consumes, with a stated maxReplicaCount', () => {
    expect(
      scaledObjectProblems(render(dir), { queueEnv: QUEUE_SCALED_APPS, kafkaConsumers: KAFKA_SCALED_APPS, topics: provisionedTopics() }),
    ).toEqual([]);
  });

  it('never scales a Kafka consumer above the partitions of its topic (maxReplicaCount <= infra/provision/topology.json, allowIdleConsumers false)', () => {
    expect(kafkaReplicaProblems(render(dir), provisionedTopics())).toEqual([]);
  });

  // drop-system: metrics {
  it('mounts the alerter its rules: ALERT_RULES_FILE is a key of a mounted ConfigMap identical to infra/alerting/rules.json', () => {
    const rules = readFileSync(repoPath('infra/alerting/rules.json'), 'utf8');
    const containers = appContainers(render(dir)).filter(({ container }) => containerEnv(render(dir), container).has('ALERT_RULES_FILE'));
    expect(containers.length).toBeGreaterThan(0);
    const problems = containers.flatMap(({ object, container }) => {
      const where = `${describeObject(object)} container "${container.name}"`;
      const file = containerEnv(render(dir), container).get('ALERT_RULES_FILE') ?? '';
      const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dirname(file));
      const volume = podTemplateOf(object)?.spec.volumes?.find((v) => v.name === mount?.name);
      const configMap = render(dir).find((o) => o.kind === 'ConfigMap' && o.metadata?.name === volume?.configMap?.name);
      if (!mount || !configMap) return [`${where} reads ALERT_RULES_FILE=${file} but mounts no ConfigMap at ${dirname(file)}`];
      if (mount.readOnly !== true) return [`${where} mounts its rules writable`];
      const data = (configMap['data'] as Record<string, string> | undefined)?.[basename(file)];
      return data === rules
        ? []
        : [
            `${describeObject(configMap)} key ${basename(file)} differs from infra/alerting/rules.json: cp infra/alerting/rules.json k8s/base/alerting/rules.json`,
          ];
    });
    expect(problems).toEqual([]);
  });
  // drop-system }

  // drop-system: metrics notifications {
  it("gives metrics-alerter's notifier the issuer and audience notification-api accepts, and its URL", () => {
    const env = (app: string) => {
      const found = appContainers(render(dir)).find(({ container }) => appOfImage(container.image ?? '') === app);
      return found ? containerEnv(render(dir), found.container) : new Map<string, string | undefined>();
    };
    const alerter = env('metrics-alerter');
    const api = env('notification-api');
    expect({ issuer: alerter.get('AUTH_JWT_ISSUER'), audience: alerter.get('AUTH_JWT_AUDIENCE') }).toEqual({
      issuer: api.get('AUTH_JWT_ISSUER'),
      audience: api.get('AUTH_JWT_AUDIENCE'),
    });
    const service = render(dir).find((o) => o.kind === 'Service' && o.metadata?.name === 'notification-api');
    const port = (service?.['spec'] as { ports?: { port: number }[] } | undefined)?.ports?.[0]?.port;
    expect(alerter.get('NOTIFICATION_API_URL')).toBe(`http://notification-api:${port}`);
  });
  // drop-system }

  it('gives every operator app the issuer the user APIs trust and the operator audience, qls-ops; no container binds loopback', () => {
    const env = (app: string) => {
      const found = appContainers(render(dir)).find(({ container }) => appOfImage(container.image ?? '') === app);
      return found ? containerEnv(render(dir), found.container) : new Map<string, string | undefined>();
    };
    const issuers = new Set(USER_APIS.map((app) => env(app).get('AUTH_JWT_ISSUER')));
    expect(issuers.size).toBe(1);
    const [issuer] = issuers;
    const problems = OPERATOR_APPS.flatMap((app) =>
      env(app).get('AUTH_JWT_ISSUER') === issuer && env(app).get('AUTH_JWT_AUDIENCE') === OPERATOR_AUDIENCE
        ? []
        : [`${app} trusts ${env(app).get('AUTH_JWT_ISSUER')} for ${env(app).get('AUTH_JWT_AUDIENCE')}`],
    );
    expect(problems).toEqual([]);
    const loopback = appContainers(render(dir)).filter(
      ({ container }) => ![undefined, CONTAINER_HOST].includes(containerEnv(render(dir), container).get('HOST')),
    );
    expect(loopback.map(({ container }) => container.name)).toEqual([]);
  });

  it("watches the lag of every autoscaled consumer group in stream-ops's LAG_GROUPS", () => {
    const stream = appContainers(render(dir)).find(({ container }) => appOfImage(container.image ?? '') === 'stream-ops');
    const watched = new Set((stream ? (containerEnv(render(dir), stream.container).get('LAG_GROUPS') ?? '') : '').split(','));
    const problems = appContainers(render(dir)).flatMap(({ object, container }) => {
      const env = containerEnv(render(dir), container);
      return joinedGroups(appOfImage(container.image ?? '') ?? '', (name) => env.get(name))
        .map(({ group, topic }) => `${group}:${topic}`)
        .filter((pair) => !watched.has(pair))
        .map((pair) => `stream-ops LAG_GROUPS does not watch ${pair} (${describeObject(object)})`);
    });
    expect(problems).toEqual([]);
  });

  it.each(QUEUE_VARIABLES)(
    'gives the apps reading $queueEnv a queue provisioning creates, the DLQ it makes for it, and its redrive count',
    ({ queueEnv, dlqEnv, maxReceivesEnv }) => {
      const containers = appContainers(render(dir)).filter(({ container }) => containerEnv(render(dir), container).has(queueEnv));
      expect(containers.length).toBeGreaterThan(0);
      const problems = containers.flatMap(({ object, container }) => {
        const env = containerEnv(render(dir), container);
        const queue = provisionedQueues().find(({ name }) => name === env.get(queueEnv));
        const where = `${describeObject(object)} container "${container.name}"`;
        if (!queue) return [`${where} reads ${queueEnv}=${env.get(queueEnv)}, which infra/provision/topology.json does not create`];
        const receives = maxReceivesEnv === undefined ? undefined : env.get(maxReceivesEnv);
        return [
          ...(env.has(dlqEnv) && env.get(dlqEnv) !== queue.dlq
            ? [`${where} reads ${dlqEnv}=${env.get(dlqEnv)}, but the DLQ of ${queue.name} is ${queue.dlq}`]
            : []),
          ...(receives !== undefined && Number(receives) !== queue.maxReceiveCount
            ? [`${where} sets ${maxReceivesEnv}=${receives}, the queue's maxReceiveCount is ${queue.maxReceiveCount}`]
            : []),
        ];
      });
      expect(problems).toEqual([]);
    },
  );

  it('gives the apps that must agree on a setting one value of it (AGREED_ENV, AGREED_PERIODS)', () => {
    const containers = appContainers(render(dir)).map(({ object, container }) => ({
      where: describeObject(object),
      app: appOfImage(container.image ?? '') ?? '',
      env: containerEnv(render(dir), container),
    }));
    const problems = [
      ...Object.entries(AGREED_ENV).flatMap(([variable, apps]) => {
        const readers = containers.filter(({ app }) => apps.includes(app));
        const values = new Set(readers.map(({ env }) => env.get(variable)));
        return values.size === 1 && !values.has(undefined)
          ? []
          : [
              `${variable} differs between the workloads that read it: ${readers.map(({ where, env }) => `${where}=${env.get(variable) ?? '(unset)'}`).join(', ')}`,
            ];
      }),
      ...AGREED_PERIODS.flatMap(({ env: variable, app, sameAs, inApp, factor }) =>
        containers
          .filter((c) => c.app === app)
          .flatMap(({ where, env }) =>
            containers
              .filter((other) => other.app === inApp)
              .filter((other) => Number(env.get(variable)) !== Number(other.env.get(sameAs)) * factor)
              .map(
                (other) =>
                  `${where} sets ${variable}=${env.get(variable)}, not ${factor} x ${sameAs}=${other.env.get(sameAs)} of ${other.where}`,
              ),
          ),
      ),
    ];
    expect(problems).toEqual([]);
  });

  it('connects every app to Postgres as its own role (its Secret key DATABASE_URL_<APP>, which provision gets too); only provision as the owner', () => {
    const secretKeyOf = (container: { env?: { name: string; valueFrom?: { secretKeyRef?: { key?: string } } }[] }, name: string) =>
      container.env?.find((variable) => variable.name === name)?.valueFrom?.secretKeyRef?.key;
    const containers = appContainers(render(dir)).map(({ object, container }) => ({
      object,
      container,
      app: appOfImage(container.image ?? '') ?? '',
    }));
    const provision = containers.find(({ app }) => app === 'provision');
    const withDatabase = containers.filter(
      ({ app, container }) => app !== 'provision' && secretKeyOf(container, 'DATABASE_URL') !== undefined,
    );
    const problems = [
      ...withDatabase
        .filter(({ app, container }) => secretKeyOf(container, 'DATABASE_URL') !== appDatabaseUrlVariable(app))
        .map(
          ({ object, app, container }) =>
            `${describeObject(object)} reads DATABASE_URL from key ${secretKeyOf(container, 'DATABASE_URL')}, not ${appDatabaseUrlVariable(app)}`,
        ),
      ...[...new Set(withDatabase.map(({ app }) => appDatabaseUrlVariable(app)))]
        .filter((variable) => provision === undefined || secretKeyOf(provision.container, variable) !== variable)
        .map((variable) => `provision does not get ${variable} from the key of that name`),
      ...(provision && secretKeyOf(provision.container, 'DATABASE_URL') !== 'DATABASE_URL'
        ? ['provision does not connect with DATABASE_URL']
        : []),
    ];
    expect(withDatabase.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    const secret = render(dir).find((object) => object.kind === 'Secret' && object.metadata?.name?.startsWith(SECRET_NAME));
    if (!local) return; // base and production: the Secret is made outside the repository
    const data = ((secret as { data?: Record<string, string> } | undefined)?.data ?? {}) as Record<string, string>;
    const userOf = (key: string) => decodeURIComponent(new URL(Buffer.from(data[key] ?? '', 'base64').toString() || 'x:').username);
    expect(userOf('DATABASE_URL')).toBe(OWNER_DATABASE_ROLE);
    expect(withDatabase.map(({ app }) => `${app}=${userOf(appDatabaseUrlVariable(app))}`)).toEqual(
      withDatabase.map(({ app }) => `${app}=${appDatabaseRole(app)}`),
    );
  });

  it(`reads credentials only from ConfigMaps that exist and from the Secret ${SECRET_NAME}`, () => {
    expect(
      referenceProblems(render(dir), {
        externalSecrets: local ? [] : [SECRET_NAME],
      }),
    ).toEqual([]);
  });

  it('runs only images of apps that exist under apps/ (or are planned in deploy-contract.ts)', () => {
    const known = new Set(deployableApps());
    const problems = appContainers(render(dir))
      .map(({ object, container }) => ({ object, app: appOfImage(container.image ?? '') ?? '' }))
      .filter(({ app }) => !known.has(app))
      .map(
        ({ object, app }) => `${describeObject(object)} runs queues-logs-streams/${app}, which is no app under apps/ nor in PLANNED_APPS`,
      );
    expect(problems).toEqual([]);
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

  it('probes and scrapes every app container on its management port (MANAGEMENT_PORT), never on the API port', () => {
    const longRunning = appContainers(render(dir)).filter(({ object }) => object.kind === 'Deployment');
    const problems = longRunning.flatMap(({ object, container }) => {
      const management = containerEnv(render(dir), container).get('MANAGEMENT_PORT');
      const named = (container.ports ?? []).find((port) => port.name === 'management');
      const probes = [container.livenessProbe, container.readinessProbe, container.startupProbe].filter((probe) => probe !== undefined);
      const annotation = podTemplateOf(object)?.annotations?.['prometheus.io/port'];
      return [
        ...(management !== undefined && String(named?.containerPort) === management
          ? []
          : [`${container.name}: no port "management" = MANAGEMENT_PORT ${management}`]),
        ...(probes.every((probe) => probe?.httpGet?.port === 'management')
          ? []
          : [`${container.name}: a probe is not on the management port`]),
        ...(annotation === management
          ? []
          : [`${describeObject(object)}: prometheus.io/port ${annotation}, not MANAGEMENT_PORT ${management}`]),
      ];
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

  it("lets every app reach its own shutdown deadline (preStop + SHUTDOWN_TIMEOUT_MS) before the kubelet's SIGKILL", () => {
    expect(shutdownProblems(render(dir))).toEqual([]);
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

  const production = () => render('k8s/overlays/production');
  const named = (kind: string, name: string) =>
    production().find((object) => object.kind === kind && object.metadata?.name === name) as KubeObject | undefined;
  const specOf = (object: KubeObject | undefined) => (object?.['spec'] ?? {}) as Record<string, unknown>;

  // drop-system: notifications {
  it('keeps notification-api available through node drains: at least 2 replicas (or an autoscaler from 2) and a disruption budget', () => {
    const hpa = named('HorizontalPodAutoscaler', 'notification-api');
    const replicas = (specOf(hpa)['minReplicas'] ?? specOf(named('Deployment', 'notification-api'))['replicas']) as number | undefined;
    expect(replicas).toBeGreaterThanOrEqual(2);
    expect(named('PodDisruptionBudget', 'notification-api')).toBeDefined();
  });
  // drop-system }

  it.each(Object.keys(inCheckout(QUEUE_SCALED_APPS)))(
    'scales %s on its SQS queue with KEDA (1 to a stated maximum), authenticated by pod identity, with no HPA of its own',
    (app) => {
      const scaledObject = named('ScaledObject', app);
      const spec = specOf(scaledObject) as {
        scaleTargetRef?: { kind?: string; name?: string };
        minReplicaCount?: number;
        maxReplicaCount?: number;
        triggers?: { type?: string; authenticationRef?: { name?: string } }[];
      };
      expect(spec.scaleTargetRef).toEqual(expect.objectContaining({ name: app }));
      expect(spec.scaleTargetRef?.kind ?? 'Deployment').toBe('Deployment');
      expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(spec.maxReplicaCount).toEqual(expect.any(Number));
      expect(spec.triggers?.map((trigger) => trigger.type)).toEqual(['aws-sqs-queue']);
      const auth = named('TriggerAuthentication', spec.triggers?.[0]?.authenticationRef?.name ?? '(none)');
      expect(specOf(auth)['podIdentity']).toEqual(expect.objectContaining({ provider: 'aws' }));
      expect(specOf(auth)['secretTargetRef']).toBeUndefined();
      const hpas = production().filter(
        (object) =>
          object.kind === 'HorizontalPodAutoscaler' && (specOf(object)['scaleTargetRef'] as { name?: string } | undefined)?.name === app,
      );
      expect(hpas.map(describeObject)).toEqual([]);
      expect(named('PodDisruptionBudget', app)).toBeDefined();
    },
  );

  it.each(['metrics-ingest', 'feed-api'].filter(isInCheckout))(
    'keeps %s available through node drains: an autoscaler from 2 replicas and a disruption budget',
    (app) => {
      expect(specOf(named('HorizontalPodAutoscaler', app))['minReplicas']).toBeGreaterThanOrEqual(2);
      expect(named('PodDisruptionBudget', app)).toBeDefined();
    },
  );

  /** The Deployments running the image of `app` (feed-indexer runs as one per projection). */
  const deploymentsOf = (app: string) =>
    production().filter(
      (object) =>
        object.kind === 'Deployment' && appContainers([object]).some(({ container }) => appOfImage(container.image ?? '') === app),
    );
  /** PodDisruptionBudgets whose selector picks the pods of `deployment`. */
  const budgetsOf = (deployment: KubeObject) =>
    production().filter((object) => {
      if (object.kind !== 'PodDisruptionBudget') return false;
      const selector = (specOf(object)['selector'] as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
      const labels = podTemplateOf(deployment)?.labels ?? {};
      return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
    });

  it.each(Object.keys(inCheckout(KAFKA_SCALED_APPS)))(
    'scales every Deployment of %s on its consumer group lag with KEDA (1 to at most the partitions), with a disruption budget and no HPA of its own',
    (app) => {
      const deployments = deploymentsOf(app);
      expect(deployments.length).toBeGreaterThan(0);
      for (const deployment of deployments) {
        const name = deployment.metadata?.name;
        const scalers = production().filter(
          (object) =>
            (object.kind === 'ScaledObject' || object.kind === 'HorizontalPodAutoscaler') &&
            (specOf(object)['scaleTargetRef'] as { name?: string } | undefined)?.name === name,
        );
        expect(scalers.map(describeObject)).toEqual([`ScaledObject/${name}`]);
        const spec = specOf(scalers[0]) as {
          minReplicaCount?: number;
          maxReplicaCount?: number;
          triggers?: { type?: string; metadata?: Record<string, string> }[];
        };
        expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
        expect(spec.triggers?.length).toBeGreaterThan(0);
        expect(spec.triggers?.filter((trigger) => trigger.type !== 'kafka')).toEqual([]);
        for (const trigger of spec.triggers ?? []) {
          const topic = provisionedTopics().find(({ name: topicName }) => topicName === trigger.metadata?.['topic']);
          expect(spec.maxReplicaCount).toBeLessThanOrEqual(topic?.partitions ?? 0);
        }
        expect(budgetsOf(deployment).map(describeObject)).toEqual([`PodDisruptionBudget/${name}`]);
      }
    },
  );

  it.each(
    [
      ['stream-ops', ' (one series of lag gauges, one owner of a replay)'],
      ['notification-dlq-monitor', ''],
    ].filter(([app]) => isInCheckout(app ?? '')),
  )('runs exactly one %s%s, not autoscaled', (app) => {
    const deployment = named('Deployment', app);
    expect(specOf(deployment)['replicas']).toBe(1);
    expect((specOf(deployment)['strategy'] as { type?: string } | undefined)?.type).toBe('Recreate');
    const scalers = production().filter(
      (object) =>
        (object.kind === 'HorizontalPodAutoscaler' || object.kind === 'ScaledObject') &&
        (specOf(object)['scaleTargetRef'] as { name?: string } | undefined)?.name === app,
    );
    expect(scalers.map(describeObject)).toEqual([]);
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
    expect(Object.keys(secrets()).sort()).toEqual(
      [
        'AUTH_JWT_PUBLIC_KEYS',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'ALERT_NOTIFIER_SIGNING_KEY',
        'DATABASE_URL',
        ...deployableApps()
          .filter((app) => app !== 'provision' && !(CREDENTIALS_UNUSED[app] ?? []).includes('DATABASE_URL'))
          .map(appDatabaseUrlVariable),
        'POSTGRES_PASSWORD',
        'REDIS_URL',
      ].sort(),
    );
  });

  it("signs the alerter's notifications with the local-only private key of infra/compose/local-jwt-signing-key.json", () => {
    const { $comment: _comment, ...signing } = JSON.parse(
      readFileSync(repoPath('infra/compose/local-jwt-signing-key.json'), 'utf8'),
    ) as Record<string, string>;
    expect(JSON.parse(secrets()['ALERT_NOTIFIER_SIGNING_KEY'] ?? '{}')).toEqual(signing);
  });

  it('trusts the same local-only JWT key as compose, whose private half infra/compose/local-jwt-signing-key.json holds', () => {
    const unquote = (text: string | undefined) => (text ?? '').replace(/^'(.*)'$/, '$1');
    const k8s = JSON.parse(secrets()['AUTH_JWT_PUBLIC_KEYS'] ?? '{}') as { keys?: Record<string, string>[] };
    const compose = JSON.parse(unquote(readEnvFile(repoPath('.env.example'))['AUTH_JWT_PUBLIC_KEYS'])) as unknown;
    const signing = JSON.parse(readFileSync(repoPath('infra/compose/local-jwt-signing-key.json'), 'utf8')) as Record<string, string>;
    expect(k8s).toEqual(compose);
    expect(k8s.keys).toHaveLength(1);
    const [key] = k8s.keys ?? [];
    expect(key?.['d']).toBeUndefined();
    expect(key).toEqual(expect.objectContaining({ kid: signing['kid'], crv: signing['crv'], x: signing['x'], y: signing['y'] }));
  });

  it('applies on a cluster without KEDA: only built-in kinds (overlays/local-keda adds the ScaledObject)', () => {
    const custom = render('k8s/overlays/local').filter(
      (object) => object.apiVersion.includes('.') && !object.apiVersion.includes('.k8s.io/'),
    );
    expect(custom.map(describeObject)).toEqual([]);
  });

  it('serves ElasticMQ the same configuration file as docker-compose.yml', () => {
    expect(readFileSync(repoPath('k8s/overlays/local/elasticmq.conf'), 'utf8')).toBe(
      readFileSync(repoPath('infra/compose/elasticmq.conf'), 'utf8'),
    );
  });
});

describe('k8s/overlays/local-keda', () => {
  it('is overlays/local with the queue workers scaled by KEDA on the in-cluster ElasticMQ, the Kafka consumers on their lag', () => {
    const local = render('k8s/overlays/local').map(describeObject).sort();
    const keda = render('k8s/overlays/local-keda');
    // Every Deployment of an app scaled on a queue or a consumer group's lag (feed-indexer runs as several).
    const scaled = keda
      .filter((object) => object.kind === 'Deployment')
      .flatMap((object) =>
        appContainers([object])
          .map(({ container }) => appOfImage(container.image ?? '') ?? '')
          .filter((app) => app in QUEUE_SCALED_APPS || app in KAFKA_SCALED_APPS)
          .map(() => object.metadata?.name ?? ''),
      );
    expect(
      keda
        .map(describeObject)
        .filter((name) => !local.includes(name))
        .sort(),
    ).toEqual(
      [
        ...Object.keys(inCheckout(QUEUE_SCALED_APPS)).map((app) => `TriggerAuthentication/${app}-sqs`),
        ...scaled.map((name) => `ScaledObject/${name}`),
      ].sort(),
    );
    for (const app of Object.keys(inCheckout(QUEUE_SCALED_APPS))) {
      const scaledObject = keda.find((object) => object.kind === 'ScaledObject' && object.metadata?.name === app);
      const trigger = (scaledObject?.['spec'] as { triggers?: { metadata?: Record<string, string> }[] } | undefined)?.triggers?.[0];
      expect(trigger?.metadata?.['awsEndpoint']).toMatch(/^http:\/\/elasticmq\./);
    }
  });

  it("has Kafka advertise the name KEDA's kafka triggers bootstrap with (the scaler follows the advertised address from its own namespace)", () => {
    const keda = render('k8s/overlays/local-keda');
    const kafka = keda.find((object) => object.kind === 'StatefulSet' && object.metadata?.name === 'kafka');
    const advertised = podTemplateOf(kafka as KubeObject)
      ?.spec.containers.find((c) => c.name === 'kafka')
      ?.env?.find((variable) => variable.name === 'KAFKA_ADVERTISED_LISTENERS')?.value;
    const hosts = new Set((advertised ?? '').split(',').map((listener) => listener.replace(/^[A-Z_]+:\/\//, '')));
    const servers = keda
      .filter((object) => object.kind === 'ScaledObject')
      .flatMap((object) => (object['spec'] as { triggers?: { type?: string; metadata?: Record<string, string> }[] }).triggers ?? [])
      .filter((trigger) => trigger.type === 'kafka')
      .flatMap((trigger) => (trigger.metadata?.['bootstrapServers'] ?? '').split(','));
    expect(servers.length).toBeGreaterThan(0);
    expect(servers.filter((server) => !hosts.has(server))).toEqual([]);
  });
});
