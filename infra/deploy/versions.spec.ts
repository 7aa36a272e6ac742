import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { AGREED_ENV, SERVERS, deployableApps, expectedServerImages, pomProperty, repoPath } from './deploy-contract';
import { appOfImage, containerEnv, containerImages, isAppImage, podTemplateOf } from './policy';
import { type KubeObject, composeConfig, renderKustomize } from './deploy-tools';

/**
 * The servers in docker-compose.yml and k8s/overlays/local must be the ones
 * `./dev up` runs without Docker, and the app image must run the project's Node.
 */

type ComposeServices = Record<string, { image?: string; environment?: Record<string, string> }>;
let composeCache: ComposeServices | undefined;
function composeServices(): ComposeServices {
  if (!composeCache) {
    const result = composeConfig('.env.example');
    if (result.status !== 0) throw new Error(`docker-compose config failed with .env.example:\n${result.stderr.trim()}`);
    composeCache = (parse(result.stdout) as { services: ComposeServices }).services;
  }
  return composeCache;
}
const composeImages = (): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(composeServices()).map(([name, service]) => [name, service.image]));

let localCache: KubeObject[] | undefined;
const localObjects = (): KubeObject[] => (localCache ??= renderKustomize('k8s/overlays/local'));
const localImages = (): Map<string, string> => containerImages(localObjects());

describe('pomProperty', () => {
  it('reads a version property and explains a missing pom or property', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pom-'));
    try {
      const pom = join(dir, 'pom.xml');
      writeFileSync(pom, '<project><properties>\n  <kafka.version>4.1.1</kafka.version>\n</properties></project>');
      expect(pomProperty(pom, 'kafka.version')).toBe('4.1.1');
      expect(() => pomProperty(pom, 'elasticmq.version')).toThrow(/has no <elasticmq.version> property/);
      expect(() => pomProperty(join(dir, 'missing.xml'), 'kafka.version')).toThrow(/does not exist: .* as <kafka.version>/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('server versions', () => {
  it.each(SERVERS)('runs the local version of %s in docker-compose.yml', (server) => {
    expect(composeImages()[server]).toBe(expectedServerImages()[server]);
  });

  it.each(SERVERS)('runs the local version of %s in k8s/overlays/local', (server) => {
    expect(localImages().get(server)).toBe(expectedServerImages()[server]);
  });

  it('runs the same third-party images in k8s/overlays/local as in docker-compose.yml', () => {
    const compose = composeImages();
    const problems = [...localImages()]
      .filter(([name, image]) => !image.startsWith('queues-logs-streams/') && compose[name] !== image)
      .map(([name, image]) => `k8s/overlays/local runs ${name} as ${image}, docker-compose.yml as ${compose[name] ?? '(no such service)'}`);
    expect(problems).toEqual([]);
  });
});

describe('Kafka settings', () => {
  /** Where a container and a pod legitimately differ: how clients reach the broker, and memory. */
  const NETWORK_AND_MEMORY = [
    'KAFKA_LISTENERS',
    'KAFKA_ADVERTISED_LISTENERS',
    'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP',
    'KAFKA_LOG_DIRS',
    'KAFKA_HEAP_OPTS',
  ];
  const without = (env: Record<string, string>) =>
    Object.fromEntries(Object.entries(env).filter(([key]) => !NETWORK_AND_MEMORY.includes(key)));

  it('are the same in docker-compose.yml and k8s/overlays/local, listeners and heap aside', () => {
    const statefulSet = localObjects().find((object) => object.kind === 'StatefulSet' && object.metadata?.name === 'kafka');
    const container = statefulSet && podTemplateOf(statefulSet)?.spec.containers.find((c) => c.name === 'kafka');
    const k8s = Object.fromEntries((container?.env ?? []).map((variable) => [variable.name, variable.value ?? '']));
    expect(without(k8s)).toEqual(without(composeServices()['kafka']?.environment ?? {}));
  });
});

describe('Settings the apps must agree on (AGREED_ENV)', () => {
  it('are the same in docker-compose.yml and k8s/overlays/local (both laptop-sized; infra/local/demo.spec pins the celebrity threshold)', () => {
    const objects = localObjects();
    const k8s = objects.flatMap((object) =>
      (podTemplateOf(object)?.spec.containers ?? [])
        .filter((container) => isAppImage(container.image))
        .map((container) => ({ app: appOfImage(container.image ?? '') ?? '', env: containerEnv(objects, container) })),
    );
    const problems = Object.entries(AGREED_ENV).flatMap(([variable, apps]) =>
      apps.flatMap((app) => {
        const compose = composeServices()[app]?.environment?.[variable];
        return k8s
          .filter((container) => container.app === app && container.env.get(variable) !== compose)
          .map(
            (container) =>
              `${app} ${variable}: ${compose ?? '(unset)'} in docker-compose.yml, ${container.env.get(variable) ?? '(unset)'} in k8s/overlays/local`,
          );
      }),
    );
    expect(problems).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = () => readFileSync(repoPath('Dockerfile'), 'utf8');

  it('builds on the Node version of .nvmrc, Debian bookworm slim', () => {
    const nvmrc = readFileSync(repoPath('.nvmrc'), 'utf8').trim();
    expect(/^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile())?.[1]).toBe(nvmrc);
    const bases = [...dockerfile().matchAll(/^FROM\s+(\S+)/gm)].map((match) => match[1]).filter((image) => image?.startsWith('node:'));
    expect(bases.length).toBeGreaterThan(0);
    expect(bases.every((image) => image === 'node:${NODE_VERSION}-bookworm-slim')).toBe(true);
  });

  it('has a target per deployable app that runs dist/apps/<app>/main.js as a non-root user', () => {
    const text = dockerfile();
    const problems = deployableApps().flatMap((app) => {
      const stage = new RegExp(`^FROM runtime AS ${app}$([\\s\\S]*?)(?=^FROM |(?![\\s\\S]))`, 'm').exec(text)?.[1];
      if (stage === undefined) return [`Dockerfile has no stage "FROM runtime AS ${app}"`];
      return stage.includes(`CMD ["node", "dist/apps/${app}/main.js"]`)
        ? []
        : [`Dockerfile stage ${app} does not run dist/apps/${app}/main.js`];
    });
    expect(problems).toEqual([]);
    const runtime = /^FROM \S+ AS runtime$([\s\S]*?)(?=^FROM )/m.exec(text)?.[1] ?? '';
    expect(runtime).toMatch(/^USER [1-9][0-9]*(:[0-9]+)?$/m);
  });
});
