/**
 * Rewrites docs/api/<app>.json from each HTTP app's OpenAPI document (built
 * from the zod schemas its routes validate with, ADR 0010). `npm run openapi`;
 * each app's openapi.spec.ts fails while the checked-in file differs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';

const apps = [
  'notification-api',
  'metrics-ingest',
  'feed-api',
  'outbox-relay',
  'notification-dlq-monitor',
  'stream-ops',
  'metrics-storage',
  'metrics-dashboard',
];

async function main(): Promise<void> {
  for (const app of apps) {
    const { openApi } = (await import(join(__dirname, '..', 'apps', app, 'src', 'openapi.ts'))) as { openApi: unknown };
    const file = join(__dirname, '..', 'docs', 'api', `${app}.json`);
    const options = { ...(await resolveConfig(file)), filepath: file };
    writeFileSync(file, await format(JSON.stringify(openApi), options));
    console.log(`wrote ${file}`);
  }
}

void main();
