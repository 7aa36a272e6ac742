import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parse, parseAllDocuments, parseDocument } from 'yaml';
import { serviceGenerator, serviceNames } from './generator';
import { serialize } from './yaml-file';

const root = join(__dirname, '../../../../..');
/** The files the generator edits besides writing the app's own. */
const EDITED = [
  'Dockerfile',
  'docker-compose.yml',
  'infra/compose/prometheus.yml',
  'k8s/base/kustomization.yaml',
  'k8s/overlays/production/kustomization.yaml',
  'k8s/overlays/local-keda/kustomization.yaml',
  'infra/provision/topology.json',
  'infra/deploy/deploy-contract.ts',
];
const YAML_FILES = EDITED.filter((path) => /\.ya?ml$/.test(path));

/** A tree in memory with this repository's deploy files (nothing is written to disk). */
function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  for (const path of [...EDITED, '.prettierrc']) tree.write(path, readFileSync(join(root, path), 'utf8'));
  return tree;
}

/** Whether `after` holds every line of `before`, in order: the edit only added lines. */
function onlyAdded(before: string, after: string): boolean {
  const added = after.split('\n');
  let at = 0;
  return before.split('\n').every((line) => {
    while (at < added.length && added[at] !== line) at++;
    return at++ < added.length;
  });
}

describe('service generator', () => {
  it.each(YAML_FILES)('writes %s back byte for byte when it changes nothing (comments, anchors and merge keys kept)', (path) => {
    const text = readFileSync(join(root, path), 'utf8');
    expect(serialize(parseDocument(text))).toBe(text);
  });

  it('names the project, its folder and its variables after <system>/<app>, or --name', () => {
    expect(serviceNames({ path: 'billing/worker', kind: 'sqs-consumer' })).toMatchObject({
      name: 'billing-worker',
      dir: 'apps/billing/worker',
      className: 'BillingWorker',
      envPrefix: 'BILLING_WORKER',
      env: { BILLING_WORKER_QUEUE: 'billing-worker', BILLING_WORKER_DLQ: 'billing-worker-dlq', SHUTDOWN_TIMEOUT_MS: '50000' },
    });
    expect(serviceNames({ path: 'notifications/digest', kind: 'http-api', name: 'notification-digest' }).name).toBe('notification-digest');
  });

  it('refuses a path that is not <system>/<app>, an unknown kind, and an app that exists', async () => {
    expect(() => serviceNames({ path: 'worker', kind: 'sqs-consumer' })).toThrow(/expected <system>\/<app>/);
    expect(() => serviceNames({ path: 'billing/worker', kind: 'cron' as never })).toThrow(/--kind must be one of/);
    const tree = workspace();
    tree.write('apps/billing/worker/project.json', '{}');
    await expect(serviceGenerator(tree, { path: 'billing/worker', kind: 'sqs-consumer' })).rejects.toThrow(/exists already/);
  });

  it('adds one service of each kind to the deploy files, only adding lines', async () => {
    const tree = workspace();
    const before = Object.fromEntries(EDITED.map((path) => [path, tree.read(path, 'utf-8') ?? '']));
    await serviceGenerator(tree, { path: 'billing/api', kind: 'http-api' });
    await serviceGenerator(tree, { path: 'billing/worker', kind: 'sqs-consumer' });
    await serviceGenerator(tree, { path: 'billing/ledger', kind: 'kafka-consumer' });

    expect(EDITED.filter((path) => !onlyAdded(before[path] ?? '', tree.read(path, 'utf-8') ?? ''))).toEqual([]);
    const compose = parse(tree.read('docker-compose.yml', 'utf-8') ?? '', { merge: true }) as {
      services: Record<string, { image: string; ports?: string[]; environment: Record<string, string> }>;
    };
    expect(compose.services['billing-worker']).toMatchObject({
      image: 'queues-logs-streams/billing-worker:local',
      environment: { SERVICE_NAME: 'billing-worker', BILLING_WORKER_QUEUE: 'billing-worker', AWS_REGION: 'us-east-1' },
    });
    expect(compose.services['billing-worker']?.environment).not.toHaveProperty('DATABASE_URL');
    expect(compose.services['billing-api']?.ports).toHaveLength(1);
    expect(tree.read('Dockerfile', 'utf-8')).toMatch(/^FROM runtime AS billing-ledger$/m);
    expect(parse(tree.read('k8s/base/kustomization.yaml', 'utf-8') ?? '').resources).toEqual(
      expect.arrayContaining(['billing-api.yaml', 'billing-worker.yaml', 'billing-ledger.yaml']),
    );
    const topology = JSON.parse(tree.read('infra/provision/topology.json', 'utf-8') ?? '{}') as {
      topics: { name: string; system?: string }[];
      queues: { name: string; system?: string }[];
    };
    expect(topology.queues.filter(({ system }) => system === 'billing').map(({ name }) => name)).toEqual(['billing-worker']);
    expect(topology.topics.filter(({ system }) => system === 'billing').map(({ name }) => name)).toEqual([
      'billing-ledger',
      'billing-ledger-dead-letter',
    ]);
    expect(tree.read('infra/deploy/deploy-contract.ts', 'utf-8')).toContain(
      `'billing-api': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'REDIS_URL'],`,
    );
    for (const file of ['project.json', 'src/app.module.ts', 'src/config.ts', 'src/config.spec.ts', 'src/app.int-spec.ts']) {
      expect(tree.exists(`apps/billing/ledger/${file}`)).toBe(true);
    }
    expect(tree.exists('apps/billing/api/src/openapi.ts')).toBe(true);
    expect(tree.exists('apps/billing/worker/src/billing-worker.handler.ts')).toBe(true);
    expect(tree.exists('k8s/base/billing-worker.yaml')).toBe(true);
    expect(tree.read('infra/deploy/deploy-contract.ts', 'utf-8')).toContain(`'billing-worker': 'BILLING_WORKER_QUEUE',`);
    for (const overlay of ['production', 'local-keda']) {
      const kinds = parseAllDocuments(tree.read(`k8s/overlays/${overlay}/billing-worker.keda.yaml`, 'utf-8') ?? '').map((doc) =>
        doc.get('kind'),
      );
      expect(kinds).toEqual(['ScaledObject', 'TriggerAuthentication']);
    }
  });
});
