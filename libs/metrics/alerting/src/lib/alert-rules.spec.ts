import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MetricsRegistry } from '@qls/observability';
import { createAlerterMetrics } from './alerter.metrics';

const file = join(__dirname, '../../../../../infra/alerts/metrics-alerter.rules.yml');

describe('infra/alerts/metrics-alerter.rules.yml', () => {
  it('alerts on failing checkpoints from series the alerter exports', async () => {
    const rules = (parse(readFileSync(file, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap(
      (group) => group.rules,
    );
    const registry = new MetricsRegistry({ service: 'alerter', defaultMetrics: false });
    createAlerterMetrics(registry);
    const exported = new Set((await registry.registry.getMetricsAsJSON()).map((metric) => metric.name));
    const used = rules.flatMap((rule) => [...rule.expr.matchAll(/\b(alerter_[a-z_]+)\b/g)].map((match) => match[1]));
    expect(used).toContain('alerter_checkpoint_consecutive_failures');
    expect(used.filter((name) => !exported.has(name ?? ''))).toEqual([]);
    expect(rules.map((rule) => rule.alert)).toContain('AlerterCheckpointFailing');
  });
});
