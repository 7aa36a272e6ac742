import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApi } from './openapi';

describe('metrics-ingest OpenAPI document', () => {
  it('is what docs/api/metrics-ingest.json holds (run `npm run openapi` after changing a route or a schema)', () => {
    const checkedIn: unknown = JSON.parse(readFileSync(join(__dirname, '../../../../docs/api/metrics-ingest.json'), 'utf8'));
    expect(checkedIn).toEqual(openApi);
  });
});
