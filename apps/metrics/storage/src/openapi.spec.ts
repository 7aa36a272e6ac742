import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApi } from './openapi';

describe('metrics-storage OpenAPI document', () => {
  it('is what docs/api/metrics-storage.json holds (run `npm run openapi` after changing a route or a schema)', () => {
    const checkedIn: unknown = JSON.parse(readFileSync(join(__dirname, '../../../../docs/api/metrics-storage.json'), 'utf8'));
    expect(checkedIn).toEqual(openApi);
  });
});
