import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { parse } from 'yaml';
import { LagMetrics, countRebalances } from '@qls/kafka';
import { MetricsRegistry } from '@qls/observability';

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const file = join(__dirname, '..', 'alert-rules.yml');
const rules = (): Rule[] =>
  (parse(readFileSync(file, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('alert-rules.yml', () => {
  it('parses into groups of alerting rules, each with an expression, a severity and a summary', () => {
    const all = rules();
    expect(all.length).toBeGreaterThan(0);
    for (const rule of all) {
      expect({ alert: rule.alert, problems: problemsOf(rule) }).toEqual({ alert: rule.alert, problems: [] });
    }
    expect(new Set(all.map((r) => r.alert)).size).toBe(all.length);
  });

  it('reads only series that the lag monitor and countRebalances export', async () => {
    const registry = new MetricsRegistry({ service: 'stream-ops', defaultMetrics: false });
    new LagMetrics(registry);
    const consumer = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING }).consumer({ groupId: 'unused' });
    countRebalances(consumer, registry)();
    const exported = new Set((await registry.registry.getMetricsAsJSON()).map((m) => m.name));

    const used = new Set(rules().flatMap((r) => [...(r.expr ?? '').matchAll(/\b(kafka_[a-z_]+)\b/g)].map((m) => m[1] ?? '')));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    expect([...used].sort()).toEqual(
      expect.arrayContaining([
        'kafka_consumergroup_retention_used_ratio',
        'kafka_consumergroup_status',
        'kafka_consumergroup_hot_partition',
        'kafka_consumer_rebalances_total',
      ]),
    );
  });

  it("keeps the chapter's thresholds: time lag at 50% of retention, 100,000 records, 10 minutes for a hot partition", () => {
    const byName = new Map(rules().map((r) => [r.alert, r]));
    expect(byName.get('KafkaConsumerLagNearRetention')).toMatchObject({
      expr: expect.stringMatching(/> 0\.5$/),
      labels: { severity: 'critical' },
    });
    expect(byName.get('KafkaConsumerLagHigh')?.expr).toMatch(/> 100000$/);
    expect(byName.get('KafkaHotPartition')).toMatchObject({ for: '10m', labels: { severity: 'warning' } });
    expect(byName.get('KafkaConsumerGroupRebalancing')?.expr).toMatch(/\[1h\]\)\) > 1/);
  });
});

function problemsOf(rule: Rule): string[] {
  const problems: string[] = [];
  if (!rule.alert || !/^[A-Z][A-Za-z0-9]+$/.test(rule.alert)) problems.push('alert: expected a CamelCase name');
  if (!rule.expr?.trim()) problems.push('expr: missing');
  if (rule.for !== undefined && !/^\d+[smh]$/.test(rule.for)) problems.push(`for: "${rule.for}" is not a duration`);
  if (!['warning', 'critical'].includes(rule.labels?.['severity'] ?? '')) problems.push('labels.severity: expected warning or critical');
  if (!rule.annotations?.['summary']) problems.push('annotations.summary: missing');
  return problems;
}
