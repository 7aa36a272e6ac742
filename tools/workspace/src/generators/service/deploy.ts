import { type Tree, updateJson } from '@nx/devkit';
import ts from 'typescript';
import { Alias, Scalar, YAMLMap, YAMLSeq, isMap, isSeq } from 'yaml';
import type { ServiceNames } from './generator';
import { editYaml, readText } from './yaml-file';

/** Variables of APP_ENV (infra/deploy/deploy-contract.ts) each kind does not read: its deployments must not hand them over. */
const CREDENTIALS_UNUSED = {
  'http-api': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'REDIS_URL'],
  'sqs-consumer': ['DATABASE_URL', 'REDIS_URL'],
  'kafka-consumer': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'REDIS_URL'],
} as const;

/** The compose blocks (anchors of docker-compose.yml) each kind's environment merges. */
const COMPOSE_ENV_BLOCKS = {
  'http-api': ['app-env'],
  'sqs-consumer': ['app-env', 'aws-credentials'],
  'kafka-consumer': ['app-env'],
} as const;

const describe = (service: ServiceNames): string =>
  ({
    'http-api': `${service.name}: an HTTP API (GET /hello), generated; see apps/${service.system}/${service.app}.`,
    'sqs-consumer': `${service.name}: competing consumers of the SQS queue ${service.env[`${service.envPrefix}_QUEUE`]}, generated.`,
    'kafka-consumer': `${service.name}: consumer group ${service.env[`${service.envPrefix}_GROUP_ID`]} on the topic ${service.env[`${service.envPrefix}_TOPIC`]}, generated.`,
  })[service.kind];

/** Dockerfile: a stage `FROM runtime AS <name>` that runs dist/apps/<name>/main.js, at the end beside the other apps. */
export function addDockerfileTarget(tree: Tree, service: ServiceNames): void {
  const dockerfile = readText(tree, 'Dockerfile');
  if (new RegExp(`^FROM runtime AS ${service.name}$`, 'm').test(dockerfile)) throw new Error(`the Dockerfile has a target ${service.name}`);
  const stage = [
    '',
    `FROM runtime AS ${service.name}`,
    `COPY --from=build /repo/dist/apps/${service.name} ./dist/apps/${service.name}`,
    `CMD ["node", "dist/apps/${service.name}/main.js"]`,
    '',
  ].join('\n');
  tree.write('Dockerfile', `${dockerfile.trimEnd()}\n${stage}`);
}

/**
 * docker-compose.yml: a service built from the app's target, hardened like
 * every app (`<<: *app`), with the environment blocks it reads and the
 * variables its config.ts declares; an http-api gets the next free host port.
 */
export function addComposeService(tree: Tree, service: ServiceNames): void {
  editYaml(tree, 'docker-compose.yml', (doc) => {
    const services = doc.get('services');
    if (!isMap(services)) throw new Error('docker-compose.yml has no services');
    if (services.has(service.name)) throw new Error(`docker-compose.yml has a service ${service.name}`);
    const environment = new YAMLMap();
    const blocks = new YAMLSeq();
    blocks.flow = true;
    blocks.items.push(...COMPOSE_ENV_BLOCKS[service.kind].map((anchor) => new Alias(anchor)));
    environment.set(mergeKey(), blocks);
    environment.set('SERVICE_NAME', service.name);
    environment.set('OTEL_SERVICE_NAME', service.name);
    for (const [key, value] of Object.entries(service.env)) environment.set(key, quoted(value));
    const entry = new YAMLMap();
    entry.set(mergeKey(), new Alias('app'));
    const build = new YAMLMap();
    build.flow = true;
    build.set('context', '.');
    build.set('target', service.name);
    entry.set('build', build);
    entry.set('image', `queues-logs-streams/${service.name}:local`);
    entry.set('environment', environment);
    if (service.kind === 'sqs-consumer') entry.set('stop_grace_period', '60s');
    if (service.kind === 'http-api') entry.set('ports', doc.createNode([`127.0.0.1:${nextHostPort(services)}:3000`]));
    entry.set('healthcheck', new Alias('app-healthcheck'));
    const key = new Scalar(service.name);
    key.spaceBefore = true;
    key.commentBefore = ` ${describe(service)}`;
    services.add(doc.createPair(key, entry));
  });
}

/** infra/compose/prometheus.yml: the service's management port among the `apps` job's targets. */
export function addPrometheusTarget(tree: Tree, service: ServiceNames): void {
  editYaml(tree, 'infra/compose/prometheus.yml', (doc) => {
    const jobs = doc.get('scrape_configs');
    const apps = isSeq(jobs) ? jobs.items.find((job) => isMap(job) && job.get('job_name') === 'apps') : undefined;
    const targets = isMap(apps) ? apps.getIn(['static_configs', 0, 'targets']) : undefined;
    if (!isSeq(targets)) throw new Error('infra/compose/prometheus.yml has no `apps` job with static targets');
    targets.add(`${service.name}:9464`);
  });
}

/** k8s/base/kustomization.yaml lists the manifest; overlays/production runs a release image of it. */
export function addKubernetesResource(tree: Tree, service: ServiceNames): void {
  editYaml(tree, 'k8s/base/kustomization.yaml', (doc) => {
    const resources = doc.get('resources');
    if (!isSeq(resources)) throw new Error('k8s/base/kustomization.yaml has no resources');
    resources.add(`${service.name}.yaml`);
  });
  editYaml(tree, 'k8s/overlays/production/kustomization.yaml', (doc) => {
    const images = doc.get('images');
    if (!isSeq(images)) throw new Error('k8s/overlays/production/kustomization.yaml has no images');
    const like = images.items.find(isMap);
    const newName = String(like?.get('newName') ?? '').replace(/[^/]+$/, service.name);
    images.add(doc.createNode({ name: `queues-logs-streams/${service.name}`, newName, newTag: like?.get('newTag') }));
  });
}

/** infra/provision/topology.json: the queue (with its DLQ) or the topic (and dead-letter topic) the consumer reads, owned by its system. */
export function addTopology(tree: Tree, service: ServiceNames): void {
  if (service.kind === 'http-api') return;
  updateJson(tree, 'infra/provision/topology.json', (topology: { topics: object[]; queues: object[] }) => {
    const system = service.system;
    if (service.kind === 'sqs-consumer') {
      topology.queues.push({
        name: service.env[`${service.envPrefix}_QUEUE`],
        system,
        visibilityTimeoutSeconds: 30,
        retentionSeconds: 345_600,
        deadLetter: { maxReceiveCount: 3 },
      });
    } else {
      topology.topics.push(
        { name: service.env[`${service.envPrefix}_TOPIC`], system, partitions: 3, retentionHours: 168 },
        { name: service.env[`${service.envPrefix}_DEAD_LETTER_TOPIC`], system, partitions: 3, retentionHours: 168 },
      );
    }
    return topology;
  });
}

/** infra/deploy/deploy-contract.ts: CREDENTIALS_UNUSED names what the app does not read, so no deployment hands it over. */
export function addCredentialsUnused(tree: Tree, service: ServiceNames): void {
  const unused = CREDENTIALS_UNUSED[service.kind].map((name) => `'${name}'`).join(', ');
  addContractEntry(
    tree,
    'CREDENTIALS_UNUSED',
    `// ${service.name} (${service.kind}, generated): what its config.ts does not read.\n'${service.name}': [${unused}],`,
  );
}

/**
 * An SQS consumer scales on its queue's depth with KEDA, like
 * notification-worker: a ScaledObject (pod identity in overlays/production,
 * ElasticMQ in overlays/local-keda) and a patch that hands it the replica
 * count (the files come from files/keda-sqs), a disruption budget in
 * production, and its entry in QUEUE_SCALED_APPS, which the checks hold the
 * trigger to.
 */
export function addQueueScaling(tree: Tree, service: ServiceNames): void {
  if (service.kind !== 'sqs-consumer') return;
  const overlays = {
    'k8s/overlays/production/kustomization.yaml': [`${service.name}.keda.yaml`, `${service.name}.pdb.yaml`],
    'k8s/overlays/local-keda/kustomization.yaml': [`${service.name}.keda.yaml`],
  };
  for (const [path, resources] of Object.entries(overlays)) {
    editYaml(tree, path, (doc) => {
      const listed = doc.get('resources');
      const patches = doc.get('patches');
      if (!isSeq(listed) || !isSeq(patches)) throw new Error(`${path} has no resources or patches`);
      for (const resource of resources) listed.add(resource);
      patches.add(doc.createNode({ path: `${service.name}.patch.yaml` }));
    });
  }
  addContractEntry(tree, 'QUEUE_SCALED_APPS', `'${service.name}': '${service.envPrefix}_QUEUE',`);
}

/** Adds `entry` (lines of an object literal's properties) at the end of the table `name` of infra/deploy/deploy-contract.ts. */
function addContractEntry(tree: Tree, name: string, entry: string): void {
  const path = 'infra/deploy/deploy-contract.ts';
  const text = readText(tree, path);
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  let table: ts.ObjectLiteralExpression | undefined;
  source.forEachChild(function visit(node) {
    if (ts.isVariableDeclaration(node) && node.name.getText(source) === name && node.initializer) {
      if (ts.isObjectLiteralExpression(node.initializer)) table = node.initializer;
    }
    node.forEachChild(visit);
  });
  if (!table) throw new Error(`${path} has no table ${name}`);
  const closing = table.getEnd() - 1;
  const lines = entry
    .split('\n')
    .map((line) => `  ${line}\n`)
    .join('');
  tree.write(path, `${text.slice(0, closing)}${lines}${text.slice(closing)}`);
}

/** `<<`, YAML's merge key, as docker-compose.yml writes it. */
function mergeKey(): Scalar {
  return new Scalar('<<');
}

/** Environment values are strings: numbers are quoted, as compose wants them. */
function quoted(value: string): Scalar {
  const scalar = new Scalar(value);
  if (/^\d+$/.test(value)) scalar.type = Scalar.QUOTE_SINGLE;
  return scalar;
}

/** One above the highest host port an app service publishes (127.0.0.1:<port>:3000). */
function nextHostPort(services: YAMLMap): number {
  const ports = services.items.flatMap((pair) => {
    const entry = pair.value;
    if (!isMap(entry) || !entry.has('build')) return [];
    const published = entry.get('ports');
    return isSeq(published) ? published.items.map((port) => Number(/:(\d+):3000$/.exec(String(port))?.[1] ?? 0)) : [];
  });
  return Math.max(2999, ...ports) + 1;
}
