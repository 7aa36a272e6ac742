/**
 * Removes one of the three systems from this checkout, for a fork that keeps
 * the other two (docs/forking.md):
 *
 *   node tools/drop-system.ts <notifications|metrics|feeds> [--dry-run]
 *
 * It deletes apps/<system> and libs/<system>, and everything outside them that
 * names the system's apps, libs, topics or queues: tsconfig.base.json paths,
 * docker-compose.yml services (and depends_on, volumes, DATABASE_URL_<APP>,
 * x- blocks nothing uses any more), Dockerfile targets, k8s objects, files and
 * kustomization entries, topology.json entries (`"system"`), Prometheus scrape
 * targets and alert rule files, DATABASE_URL_<APP> lines of the env files,
 * docs/api/<app>.json, and source marked for the system:
 *
 *   - a file whose first line is `// drop-system: <system> [<system>...]`
 *     (or `#` in YAML) is deleted;
 *   - a line ending in `// drop-system: <system>` is deleted;
 *   - lines between `// drop-system: <system> {` and `// drop-system }` are deleted;
 *   - a test file outside the system that imports one of its libs is deleted
 *     (it tests the system through another project).
 *
 * It prints every change and what it leaves to do by hand. Lists that can be
 * derived from what exists are derived, not edited (infra/deploy/deploy-contract.ts
 * keeps entries of present apps only; tools/openapi.ts and tools/fuzz-apis.ts
 * read the apps that exist).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  type Document,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  parseDocument,
  visit,
} from 'yaml';
import { serialize } from './workspace/src/generators/service/yaml-file.ts';

const SYSTEMS = ['notifications', 'metrics', 'feeds'] as const;
type System = (typeof SYSTEMS)[number];

/**
 * What another system does with a dropped one at run time, and how the drop
 * turns it off: environment values set on a remaining app (compose service and
 * k8s container).
 */
const COUPLINGS: readonly { dropped: System; app: string; env: Record<string, string>; why: string }[] = [
  {
    dropped: 'notifications',
    app: 'metrics-alerter',
    env: { ALERT_NOTIFIER_ENABLED: 'false' },
    why: "metrics-alerter's alert notifier called notification-api: it is off; point NOTIFICATION_API_URL at your own pager to turn it back on",
  },
];

const root = join(import.meta.dirname, '..');
const changes: string[] = [];
const followUps: string[] = [];
let dryRun = false;

const read = (path: string) => readFileSync(join(root, path), 'utf8');

function write(path: string, text: string, what: string): void {
  if (read(path) === text) return;
  changes.push(`edit   ${path}: ${what}`);
  if (!dryRun) writeFileSync(join(root, path), text);
}

function remove(path: string, why: string): void {
  if (!existsSync(join(root, path))) return;
  changes.push(`delete ${path}${why ? `: ${why}` : ''}`);
  if (!dryRun) rmSync(join(root, path), { recursive: true, force: true });
}

/** Folders that hold no source: dependencies, build output, caches, server data. */
const NOT_SOURCE = new Set(['node_modules', 'dist', 'tmp', '.git', '.nx', 'coverage', 'bench-results', '.data', '.cache']);

/** The files of the checkout, relative to the root (a scratch copy need not be a git repository). */
function repoFiles(dir = ''): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true })
    .filter((entry) => !NOT_SOURCE.has(entry.name))
    .flatMap((entry) => (entry.isDirectory() ? repoFiles(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : []))
    .sort();
}

interface Dropped {
  readonly system: System;
  /** Nx project names of its apps. */
  readonly apps: string[];
  /** Import aliases of its libs (tsconfig.base.json paths). */
  readonly aliases: string[];
  readonly folders: string[];
  readonly topics: string[];
  readonly queues: string[];
}

function describeSystem(system: System): Dropped {
  const appsDir = join(root, 'apps', system);
  const apps = existsSync(appsDir)
    ? readdirSync(appsDir)
        .filter((dir) => existsSync(join(appsDir, dir, 'project.json')))
        .map((dir) => (JSON.parse(readFileSync(join(appsDir, dir, 'project.json'), 'utf8')) as { name: string }).name)
        .sort()
    : [];
  const paths = (JSON.parse(read('tsconfig.base.json')) as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
  const aliases = Object.entries(paths)
    .filter(([, targets]) => targets.some((target) => target.replace(/^\.\//, '').startsWith(`libs/${system}/`)))
    .map(([alias]) => alias);
  const topology = JSON.parse(read('infra/provision/topology.json')) as Record<'topics' | 'queues', { name: string; system?: string }[]>;
  return {
    system,
    apps,
    aliases,
    folders: [`apps/${system}`, `libs/${system}`],
    topics: topology.topics.filter((t) => t.system === system).map((t) => t.name),
    queues: topology.queues.filter((q) => q.system === system).map((q) => q.name),
  };
}

const databaseUrlVariable = (app: string) => `DATABASE_URL_${app.replaceAll('-', '_').toUpperCase()}`;
/** A k8s object or compose service of a dropped app: named after it (`feed-indexer-search`, `metrics-alerter-rules`). */
const ownedBy = (name: unknown, apps: readonly string[]) =>
  typeof name === 'string' && apps.some((app) => name === app || name.startsWith(`${app}-`));

// ---------------------------------------------------------------- source

const MARK = /(?:\/\/|#)\s*drop-system:\s*([a-z ]+?)\s*$/;

function dropMarkedSource(d: Dropped, files: readonly string[]): void {
  const importsDropped = (text: string) => d.aliases.some((alias) => text.includes(`'${alias}'`) || text.includes(`'${alias}/`));
  for (const file of files) {
    if (d.folders.some((folder) => file.startsWith(`${folder}/`))) continue;
    if (!/\.(ts|mjs|cjs|js|ya?ml|json|env)$/.test(file) && basename(file) !== 'Dockerfile') continue;
    const text = read(file);
    if (!text.includes('drop-system') && !importsDropped(text)) continue;
    const first = MARK.exec(text.split('\n')[0] ?? '');
    if (first?.[1]?.split(/\s+/).includes(d.system)) {
      remove(file, `marked drop-system: ${first[1]}`);
      continue;
    }
    if (/\.(int-)?spec\.ts$/.test(file) && importsDropped(text)) {
      remove(file, `a test that imports ${d.aliases.filter((alias) => text.includes(`'${alias}`)).join(', ')}`);
      continue;
    }
    const kept: string[] = [];
    // Open blocks, innermost last: whether each one is dropped. Blocks nest.
    const open: boolean[] = [];
    for (const line of text.split('\n')) {
      const skipping = open.includes(true);
      const block = /^\s*(?:\/\/|#)\s*drop-system:\s*([a-z ]+?)\s*\{\s*$/.exec(line);
      if (block) {
        open.push(block[1]?.split(/\s+/).includes(d.system) ?? false);
        if (!skipping && !open.includes(true)) kept.push(line);
        continue;
      }
      if (/^\s*(?:\/\/|#)\s*drop-system\s*\}\s*$/.test(line)) {
        if (!open.includes(true)) kept.push(line);
        open.pop();
        continue;
      }
      if (skipping) continue;
      const mark = MARK.exec(line);
      if (mark && mark[1]?.split(/\s+/).includes(d.system) && line.trim() !== mark[0]) continue;
      kept.push(line);
    }
    write(file, kept.join('\n'), 'lines marked drop-system');
    if (importsDropped(kept.join('\n'))) {
      followUps.push(
        `${file} still imports a lib of ${d.system}: mark what belongs to ${d.system} (see the header of tools/drop-system.ts)`,
      );
    }
  }
}

function dropPaths(d: Dropped): void {
  const text = read('tsconfig.base.json');
  const config = JSON.parse(text) as { compilerOptions: { paths: Record<string, string[]> } };
  for (const alias of d.aliases) delete config.compilerOptions.paths[alias];
  write('tsconfig.base.json', `${JSON.stringify(config, null, 2)}\n`, `paths ${d.aliases.join(', ')}`);
}

// ---------------------------------------------------------------- deploy files

/** Deletes the items of a YAML sequence for which `drop` holds. */
function filterSeq(seq: unknown, drop: (item: unknown) => boolean): void {
  if (!isSeq(seq)) return;
  seq.items = seq.items.filter((item) => !drop(isScalar(item) ? item.value : item));
}

function anchorsInUse(doc: Document): Set<string> {
  const used = new Set<string>();
  visit(doc, {
    Alias(_key, node) {
      used.add(node.source);
    },
  });
  return used;
}

/** Drops `x-` blocks whose anchor (or whose entries' anchors) nothing references any more. */
function dropUnusedExtensions(doc: Document, file: string): void {
  const top = doc.contents as YAMLMap;
  const used = anchorsInUse(doc);
  for (const pair of [...top.items]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!key.startsWith('x-')) continue;
    const value = pair.value as YAMLMap | undefined;
    const anchors = [value?.anchor, ...(isMap(value) ? value.items.map((item) => (item.value as Scalar | undefined)?.anchor) : [])].filter(
      (anchor): anchor is string => anchor !== undefined,
    );
    if (anchors.length > 0 && !anchors.some((anchor) => used.has(anchor))) {
      top.delete(key);
      changes.push(`edit   ${file}: ${key} (nothing uses it any more)`);
    }
  }
}

function lagGroupsWithout(value: string, topics: readonly string[]): string {
  return value
    .split(',')
    .filter((pair) => !topics.includes(pair.split(':')[1] ?? ''))
    .join(',');
}

/** `./infra/x:/etc/x:ro` -> `infra/x` */
const mountSource = (volume: string) => (volume.split(':')[0] ?? '').replace(/^\.\//, '');

/** The paths (relative to the root) of files and folders mounted by a removed service. */
const freedMounts = new Set<string>();

function dropCompose(d: Dropped): void {
  const file = 'docker-compose.yml';
  const doc = parseDocument(read(file));
  const services = doc.get('services') as YAMLMap;
  for (const app of d.apps) {
    const service = services.get(app) as YAMLMap | undefined;
    if (!service) continue;
    filterSeq(service.get('volumes'), (volume) => {
      if (typeof volume === 'string' && volume.startsWith('./')) freedMounts.add(mountSource(volume));
      return false;
    });
    services.delete(app);
  }
  const gone = (source: string) => d.folders.some((folder) => source === folder || source.startsWith(`${folder}/`));
  for (const pair of services.items) {
    const service = pair.value as YAMLMap;
    const dependsOn = service.get('depends_on');
    if (isMap(dependsOn)) for (const app of d.apps) dependsOn.delete(app);
    filterSeq(dependsOn, (item) => d.apps.includes(String(item)));
    filterSeq(service.get('volumes'), (volume) => typeof volume === 'string' && gone(mountSource(volume)));
    const environment = service.get('environment');
    if (isMap(environment)) {
      const lag = environment.get('LAG_GROUPS');
      if (typeof lag === 'string') environment.set('LAG_GROUPS', lagGroupsWithout(lag, d.topics));
      for (const coupling of COUPLINGS.filter((c) => c.dropped === d.system && c.app === String(pair.key))) {
        for (const [name, value] of Object.entries(coupling.env)) environment.set(name, value);
      }
    }
  }
  // DATABASE_URL_<APP> of the dropped apps (x-app-databases, provision).
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && d.apps.some((app) => databaseUrlVariable(app) === pair.key?.toString())) return visit.REMOVE;
      return undefined;
    },
  });
  dropUnusedExtensions(doc, file);
  write(file, serialize(doc), `services ${d.apps.join(', ')} and what only they used`);
}

/**
 * Dockerfile: the `FROM runtime AS <app>` stages of the dropped apps, with the
 * comments above them (up to the previous instruction).
 */
function dropDockerfile(d: Dropped): void {
  const lines = read('Dockerfile').split('\n');
  const blocks: string[][] = [];
  let current: string[] = [];
  let pending: string[] = [];
  for (const line of lines) {
    if (line.startsWith('FROM ')) {
      blocks.push(current);
      current = [...pending, line];
      pending = [];
    } else if (line.trim() === '' || line.startsWith('#')) {
      pending.push(line);
    } else {
      current.push(...pending, line);
      pending = [];
    }
  }
  blocks.push([...current, ...pending]);
  const kept = blocks.filter((block) => {
    const stage = /^FROM \S+ AS (\S+)/.exec(block.find((line) => line.startsWith('FROM ')) ?? '')?.[1];
    return stage === undefined || !d.apps.includes(stage);
  });
  write('Dockerfile', kept.flat().join('\n'), `targets ${d.apps.join(', ')}`);
}

function yamlFilesUnder(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .map((file) => join(dir, file))
    .filter((file) => /\.ya?ml$/.test(file) && statSync(join(root, file)).isFile())
    .sort();
}

function dropKubernetes(d: Dropped): void {
  const deleted = new Set<string>();
  // Objects named after a dropped app; files left empty are deleted.
  for (const file of yamlFilesUnder('k8s').filter((f) => basename(f) !== 'kustomization.yaml' && basename(f) !== 'kustomizeconfig.yaml')) {
    const text = read(file);
    const docs = parseAllDocuments(text);
    const kept = docs.filter((doc) => !ownedBy(doc.getIn(['metadata', 'name']), d.apps));
    if (kept.length === docs.length) {
      const changed = kept.map((doc) => editKubernetesObject(doc, d));
      if (changed.some(Boolean)) write(file, kept.map((doc) => serialize(doc)).join(''), 'settings of remaining apps');
      continue;
    }
    if (kept.length === 0) {
      remove(file, `objects of ${d.apps.filter((app) => text.includes(app)).join(', ')}`);
      deleted.add(file);
      continue;
    }
    kept.forEach((doc) => editKubernetesObject(doc, d));
    write(file, kept.map((doc) => serialize(doc)).join(''), 'objects of dropped apps');
  }
  for (const file of yamlFilesUnder('k8s').filter((f) => basename(f) === 'kustomization.yaml')) {
    const dir = dirname(file);
    const doc = parseDocument(read(file));
    const entryGone = (entry: unknown) => {
      const path = typeof entry === 'string' ? entry : isMap(entry) ? String(entry.get('path') ?? '') : '';
      return path !== '' && deleted.has(join(dir, path));
    };
    filterSeq(doc.get('resources'), entryGone);
    filterSeq(doc.get('patches'), (entry) => entryGone(entry));
    filterSeq(doc.get('images'), (entry) => isMap(entry) && d.apps.some((app) => String(entry.get('name')).endsWith(`/${app}`)));
    filterSeq(doc.get('configMapGenerator'), (entry) => {
      if (!isMap(entry) || !ownedBy(entry.get('name'), d.apps)) return false;
      for (const source of (entry.get('files') as YAMLSeq<Scalar<string>> | undefined)?.items ?? []) {
        remove(join(dir, String(source.value)), `file of ConfigMap ${String(entry.get('name'))}`);
      }
      return true;
    });
    // A list left empty goes, with the comment above it (which the parser
    // keeps as the trailing comment of the value before, after a blank line).
    const top = doc.contents as YAMLMap;
    for (const key of ['resources', 'patches', 'images', 'configMapGenerator']) {
      const index = top.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === key);
      const list = top.items[index]?.value;
      if (!isSeq(list) || list.items.length > 0) continue;
      const before = top.items[index - 1]?.value as YAMLSeq | undefined;
      if (before?.comment?.includes('\n\n')) before.comment = before.comment.split('\n\n')[0];
      doc.delete(key);
    }
    write(file, serialize(doc), 'entries of deleted files and dropped apps');
  }
  for (const file of ['k8s/overlays/local/secrets.local.env', 'infra/env/local.env']) dropDatabaseUrls(file, d);
}

/** LAG_GROUPS and coupled settings in a remaining k8s object; true when it changed. */
function editKubernetesObject(doc: Document, d: Dropped): boolean {
  let changed = false;
  const name = String(doc.getIn(['metadata', 'name']) ?? '');
  const couplings = COUPLINGS.filter((c) => c.dropped === d.system && c.app === name);
  const databaseUrls = d.apps.map(databaseUrlVariable);
  visit(doc, {
    Seq(_key, node) {
      const before = node.items.length;
      node.items = node.items.filter((item) => !(isMap(item) && databaseUrls.includes(String(item.get('name')))));
      if (node.items.length !== before) changed = true;
    },
    Map(_key, node) {
      const variable = node.get('name');
      const value = node.get('value');
      if (typeof variable !== 'string' || typeof value !== 'string') return;
      const next = variable === 'LAG_GROUPS' ? lagGroupsWithout(value, d.topics) : couplings.find((c) => variable in c.env)?.env[variable];
      if (next !== undefined && next !== value) {
        node.set('value', next);
        changed = true;
      }
    },
  });
  return changed;
}

/** DATABASE_URL_<APP> of the dropped apps, and their entries in QLS_REPLICAS (./dev up's replica counts). */
function dropDatabaseUrls(file: string, d: Dropped): void {
  if (!existsSync(join(root, file))) return;
  const names = d.apps.map(databaseUrlVariable);
  const lines = read(file)
    .split('\n')
    .filter((line) => !names.some((name) => line.startsWith(`${name}=`)))
    .map((line) => {
      if (!line.startsWith('QLS_REPLICAS=')) return line;
      const kept = line
        .slice('QLS_REPLICAS='.length)
        .split(',')
        .filter((entry) => !d.apps.includes(entry.split('=')[0]?.trim() ?? ''));
      return `QLS_REPLICAS=${kept.join(',')}`;
    });
  write(file, lines.join('\n'), `DATABASE_URL_<APP> and QLS_REPLICAS of ${d.system}`);
}

function dropTopology(d: Dropped): void {
  const file = 'infra/provision/topology.json';
  const topology = JSON.parse(read(file)) as Record<string, unknown> & Record<'topics' | 'queues', { system?: string }[]>;
  topology.topics = topology.topics.filter((t) => t.system !== d.system);
  topology.queues = topology.queues.filter((q) => q.system !== d.system);
  write(
    file,
    `${JSON.stringify(topology, null, 2)}\n`,
    `topics ${d.topics.join(', ') || '(none)'}, queues ${d.queues.join(', ') || '(none)'}`,
  );
}

function dropPrometheus(d: Dropped): void {
  const file = 'infra/compose/prometheus.yml';
  const doc = parseDocument(read(file));
  const jobs = doc.get('scrape_configs') as YAMLSeq<YAMLMap>;
  const app = (target: unknown) => String(target).split(':')[0] ?? '';
  jobs.items = jobs.items.filter((job) => {
    for (const config of (job.get('static_configs') as YAMLSeq<YAMLMap> | undefined)?.items ?? []) {
      filterSeq(config.get('targets'), (target) => d.apps.includes(app(target)));
    }
    const names = ((job.get('dns_sd_configs') as YAMLSeq<YAMLMap> | undefined)?.items ?? []).flatMap(
      (config) => (config.get('names') as YAMLSeq<Scalar<string>> | undefined)?.items.map((n) => String(n.value)) ?? [],
    );
    return !(names.length > 0 && names.every((name) => d.apps.includes(name)));
  });
  write(file, serialize(doc), `scrape targets of ${d.apps.join(', ')}`);
  // Alert rule files named after the system or one of its apps.
  for (const rules of readdirSync(join(root, 'infra/alerts'))) {
    if ([d.system, ...d.apps].some((name) => rules.startsWith(`${name}-`) || rules.startsWith(`${name}.`))) {
      remove(`infra/alerts/${rules}`, 'alert rules of the system');
    }
  }
}

/** Files under infra/ that only a removed service mounted (metrics-alerter: infra/alerting/rules.json). */
function dropFreedMounts(): void {
  const compose = read('docker-compose.yml');
  for (const path of freedMounts) {
    if (!path.startsWith('infra/') || compose.includes(`./${path}`)) continue;
    remove(path, 'mounted by a removed service only');
    const dir = dirname(path);
    if (!dryRun && existsSync(join(root, dir)) && readdirSync(join(root, dir)).length === 0) rmSync(join(root, dir), { recursive: true });
  }
}

function dropApiDocs(d: Dropped): void {
  for (const app of d.apps) remove(`docs/api/${app}.json`, 'OpenAPI document of a dropped app');
}

// ---------------------------------------------------------------- main

function main(): void {
  const args = process.argv.slice(2);
  dryRun = args.includes('--dry-run');
  const system = args.find((arg) => !arg.startsWith('--')) as System | undefined;
  if (system === undefined || !SYSTEMS.includes(system)) {
    console.error(`usage: node tools/drop-system.ts <${SYSTEMS.join('|')}> [--dry-run]`);
    process.exit(2);
  }
  if (!existsSync(join(root, 'apps', system)) && !existsSync(join(root, 'libs', system))) {
    console.error(`${system} is not in this checkout (no apps/${system}, no libs/${system})`);
    process.exit(2);
  }
  const d = describeSystem(system);
  const files = repoFiles();
  console.log(`${dryRun ? 'Would drop' : 'Dropping'} ${system}: apps ${d.apps.join(', ')}; libs ${d.aliases.join(', ')}`);

  dropMarkedSource(d, files);
  dropCompose(d);
  dropDockerfile(d);
  dropKubernetes(d);
  dropTopology(d);
  dropPrometheus(d);
  dropApiDocs(d);
  dropPaths(d);
  for (const folder of d.folders) remove(folder, '');
  dropFreedMounts();

  // Prettier formats what the YAML and JSON writers reflowed (Dockerfile and .env files it cannot parse).
  const touched = changes
    .filter((c) => c.startsWith('edit'))
    .map((c) => c.slice(7).split(':')[0] ?? '')
    .filter((file) => /\.(ts|mjs|ya?ml|json)$/.test(file));
  if (!dryRun && touched.length > 0) {
    spawnSync('npx', ['prettier', '--write', '--log-level=warn', ...new Set(touched)], { cwd: root, stdio: 'inherit' });
  }

  for (const coupling of COUPLINGS.filter((c) => c.dropped === system)) followUps.push(coupling.why);
  followUps.push(
    `infra/migrations keep the tables of ${system}: applied migrations are checksummed and numbered in order, so deleting or editing one makes provision refuse every database it already ran on. To drop the tables, add a new migration (DROP TABLE ...) after the last one.`,
    `libs/platform/provisioning database-roles.ts keeps the grants of ${d.apps.join(', ')}: they apply only when DATABASE_URL_<APP> is set (no longer, anywhere); delete the entries when you like.`,
    `Comments and docs (README.md, docs/, docker-compose.yml and k8s comments, eslint.config.mjs scope rules) may still mention ${system}; package.json may hold dependencies only it used.`,
    'Check: npx tsc -p tsconfig.json && npx nx show projects && npx eslint . && npx jest -c jest.config.ts (docs/forking.md).',
  );
  console.log(changes.map((line) => `  ${line}`).join('\n'));
  console.log(`\nLeft to do by hand:\n${followUps.map((line) => `  - ${line}`).join('\n')}`);
}

main();
