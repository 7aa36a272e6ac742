import { parseRulesFile, RulesFileError } from './rules';

const file = (rules: unknown[]) => JSON.stringify({ rules });
const latency = {
  kind: 'threshold',
  name: 'slow-pay',
  metric: 'http_latency_ms',
  window: { sizeMs: 60_000 },
  aggregation: 'p99',
  op: '>',
  threshold: 500,
};

function issuesOf(text: string): readonly string[] {
  try {
    parseRulesFile(text);
  } catch (error) {
    if (error instanceof RulesFileError) return error.issues;
    throw error;
  }
  throw new Error('expected the rules file to be rejected');
}

describe('rules file', () => {
  it('parses threshold and absence rules and applies the defaults', () => {
    const heartbeat = {
      kind: 'absence',
      name: 'silent',
      metric: 'heartbeat',
      match: { env: 'prod' },
      timeoutMs: 30_000,
      summary: 'no heartbeat',
    };
    expect(parseRulesFile(file([latency, heartbeat])).rules).toEqual([
      { ...latency, forMs: 0, severity: 'warning' },
      { ...heartbeat, severity: 'warning' },
    ]);
  });

  it('names the rule and the field of every problem', () => {
    const issues = issuesOf(
      file([
        { ...latency, window: { sizeMs: 60_000, slideMs: 7_000 } },
        { ...latency, name: 'bad-agg', aggregation: 'p42', forMs: -1 },
        { ...latency, name: 'typo', treshold: 3 },
        { kind: 'absence', name: 'no-timeout', metric: 'heartbeat' },
        { ...latency, kind: 'ratio', name: 'unknown-kind' },
        { ...latency },
      ]),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^rule "slow-pay" \(rules\[0\]\) window\.slideMs: sizeMs must be a multiple of slideMs$/),
      expect.stringMatching(/^rule "bad-agg" \(rules\[1\]\) aggregation: /),
      expect.stringMatching(/^rule "bad-agg" \(rules\[1\]\) forMs: /),
      expect.stringMatching(/^rule "typo" \(rules\[2\]\) \(rule\): .*treshold/),
      expect.stringMatching(/^rule "no-timeout" \(rules\[3\]\) timeoutMs: /),
      expect.stringMatching(/^rule "unknown-kind" \(rules\[4\]\) kind: /),
    ]);
  });

  it('rejects duplicate rule names, naming both', () => {
    expect(issuesOf(file([latency, latency]))).toEqual(['rule "slow-pay" (rules[1]) name: duplicate rule name (also rules[0])']);
  });

  it('rejects text that is not JSON or not a rules object', () => {
    expect(issuesOf('{ rules: [')[0]).toMatch(/^not valid JSON: /);
    expect(issuesOf('[]')[0]).toMatch(/^\(file\): /);
    expect(issuesOf('{}')[0]).toMatch(/^rules: /);
  });
});
