/**
 * Rewrites docs/api/<app>.json from each HTTP app's OpenAPI document (built
 * from the zod schemas its routes validate with, ADR 0010). `npm run openapi`;
 * each app's openapi.spec.ts fails while the checked-in file differs.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { workspaceApps } from '../infra/deploy/deploy-contract';

/** The HTTP apps: those with an src/openapi.ts. */
const apps = workspaceApps().filter(({ dir }) => existsSync(join(__dirname, '..', dir, 'src', 'openapi.ts')));

async function main(): Promise<void> {
  for (const { name: app, dir } of apps) {
    const { openApi } = (await import(join(__dirname, '..', dir, 'src', 'openapi.ts'))) as { openApi: unknown };
    const file = join(__dirname, '..', 'docs', 'api', `${app}.json`);
    const options = { ...(await resolveConfig(file)), filepath: file };
    writeFileSync(file, await format(JSON.stringify(openApi), options));
    console.log(`wrote ${file}`);
  }
}

void main();
