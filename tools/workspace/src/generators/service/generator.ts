import { join } from 'node:path';
import { type Tree, formatFiles, generateFiles, names } from '@nx/devkit';
import {
  addComposeService,
  addCredentialsUnused,
  addDockerfileTarget,
  addKubernetesResource,
  addPrometheusTarget,
  addQueueScaling,
  addTopology,
} from './deploy';

export type ServiceKind = 'http-api' | 'sqs-consumer' | 'kafka-consumer';

export interface ServiceGeneratorSchema {
  /** `<system>/<app>`: the app goes to apps/<system>/<app>. */
  readonly path: string;
  readonly kind: ServiceKind;
  /** The Nx project name; `<system>-<app>` when unset. */
  readonly name?: string;
}

/** What the templates and the deploy edits know about the new service. */
export interface ServiceNames {
  readonly kind: ServiceKind;
  readonly system: string;
  readonly app: string;
  /** The Nx project name: also the image, compose service, k8s objects, SERVICE_NAME and dist/apps/<name>. */
  readonly name: string;
  /** apps/<system>/<app> */
  readonly dir: string;
  /** `billing-worker` → BillingWorker, billingWorker, BILLING_WORKER, billing_worker. */
  readonly className: string;
  readonly propertyName: string;
  readonly envPrefix: string;
  readonly metricPrefix: string;
  readonly fileName: string;
  /** The variables its config.ts declares, with the values its deployments set. */
  readonly env: Readonly<Record<string, string>>;
}

const KINDS: readonly ServiceKind[] = ['http-api', 'sqs-consumer', 'kafka-consumer'];

export function serviceNames({ path, kind, name }: ServiceGeneratorSchema): ServiceNames {
  const match = /^([a-z][a-z0-9-]*)\/([a-z][a-z0-9-]*)$/.exec(path);
  if (!match?.[1] || !match[2]) throw new Error(`expected <system>/<app> in lower case (e.g. billing/worker), got "${path}"`);
  if (!KINDS.includes(kind)) throw new Error(`--kind must be one of ${KINDS.join(', ')}, got "${kind}"`);
  const [, system, app] = match;
  const project = name ?? `${system}-${app}`;
  if (!/^[a-z][a-z0-9-]*$/.test(project)) throw new Error(`--name must be lower case words joined by "-", got "${project}"`);
  const { className, propertyName, constantName, fileName } = names(project);
  const env: Record<string, string> = {
    'http-api': { SHUTDOWN_TIMEOUT_MS: '10000' },
    'sqs-consumer': {
      [`${constantName}_QUEUE`]: project,
      [`${constantName}_DLQ`]: `${project}-dlq`,
      [`${constantName}_CONCURRENCY`]: '10',
      // Longer than the 20 s long poll a stopping consumer waits for.
      SHUTDOWN_TIMEOUT_MS: '50000',
    },
    'kafka-consumer': {
      [`${constantName}_TOPIC`]: project,
      [`${constantName}_GROUP_ID`]: project,
      [`${constantName}_DEAD_LETTER_TOPIC`]: `${project}-dead-letter`,
      SHUTDOWN_TIMEOUT_MS: '10000',
    },
  }[kind];
  return {
    kind,
    system,
    app,
    name: project,
    dir: `apps/${system}/${app}`,
    className,
    propertyName,
    envPrefix: constantName,
    metricPrefix: constantName.toLowerCase(),
    fileName,
    env,
  };
}

/**
 * `nx g @qls/workspace:service <system>/<app> --kind <kind>`: a new app on the
 * platform layer under apps/<system>/<app> (config, module, main, a handler or
 * a controller with its OpenAPI document, a config spec and an int spec), and
 * what deploys it: a Dockerfile target, a compose service scraped by
 * Prometheus, a k8s/base manifest listed in the kustomization (with a release
 * image in overlays/production), its queue or topics in
 * infra/provision/topology.json, and the credentials it does not read in
 * infra/deploy/deploy-contract.ts (docs/forking.md).
 */
export async function serviceGenerator(tree: Tree, schema: ServiceGeneratorSchema): Promise<void> {
  const service = serviceNames(schema);
  if (tree.exists(service.dir)) throw new Error(`${service.dir} exists already`);
  const substitutions = { ...service, tmpl: '' };
  generateFiles(tree, join(__dirname, 'files', 'app'), service.dir, substitutions);
  generateFiles(tree, join(__dirname, 'files', service.kind), service.dir, substitutions);
  const shutdownSeconds = Number(service.env['SHUTDOWN_TIMEOUT_MS']) / 1000;
  generateFiles(tree, join(__dirname, 'files', 'k8s'), 'k8s/base', {
    ...substitutions,
    shutdownSeconds,
    terminationGraceSeconds: Math.max(30, shutdownSeconds + 10),
  });
  if (service.kind === 'sqs-consumer') {
    generateFiles(tree, join(__dirname, 'files', 'keda-sqs'), 'k8s/overlays', {
      ...substitutions,
      queue: service.env[`${service.envPrefix}_QUEUE`],
    });
  }
  addDockerfileTarget(tree, service);
  addComposeService(tree, service);
  addPrometheusTarget(tree, service);
  addKubernetesResource(tree, service);
  addTopology(tree, service);
  addCredentialsUnused(tree, service);
  addQueueScaling(tree, service);
  await formatFiles(tree);
}

export default serviceGenerator;
