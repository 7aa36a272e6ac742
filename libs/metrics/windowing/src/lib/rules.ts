import { z } from 'zod';

export const aggregations = ['count', 'sum', 'min', 'max', 'avg', 'p50', 'p90', 'p95', 'p99'] as const;
export type Aggregation = (typeof aggregations)[number];

/** q (0..1) of a percentile aggregation; undefined for the others. */
export function quantileOf(aggregation: Aggregation): number | undefined {
  return aggregation.startsWith('p') ? Number(aggregation.slice(1)) / 100 : undefined;
}

/** The aggregates of one window. */
export interface WindowAggregates {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  /** Only for percentile rules: q in 0..1 and the sketch's estimate. */
  readonly percentile?: { readonly q: number; readonly value: number };
}

/** The aggregate a rule compares with its threshold. */
export function aggregateValue(aggregation: Aggregation, aggregates: WindowAggregates): number {
  switch (aggregation) {
    case 'count':
    case 'sum':
    case 'min':
    case 'max':
    case 'avg':
      return aggregates[aggregation];
    default:
      if (aggregates.percentile === undefined) throw new Error(`${aggregation} needs the window's percentile`);
      return aggregates.percentile.value;
  }
}

export const comparisonOps = ['>', '>=', '<', '<='] as const;
export type ComparisonOp = (typeof comparisonOps)[number];

const common = {
  name: z.string().min(1),
  metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'metric names follow the Prometheus rules [a-zA-Z_:][a-zA-Z0-9_:]*'),
  /** Label equality: a point matches when it has every one of these labels with exactly this value. */
  match: z.record(z.string(), z.string()).optional(),
  severity: z.string().min(1).default('warning'),
  /** Replaces the generated sentence of every transition of this rule. */
  summary: z.string().min(1).optional(),
};

const windowSchema = z
  .strictObject({
    sizeMs: z.number().int().positive(),
    /** Omitted: tumbling (slide = size). */
    slideMs: z.number().int().positive().optional(),
  })
  .refine((w) => w.slideMs === undefined || w.sizeMs % w.slideMs === 0, {
    message: 'sizeMs must be a multiple of slideMs',
    path: ['slideMs'],
  });

export const thresholdRuleSchema = z.strictObject({
  kind: z.literal('threshold'),
  ...common,
  window: windowSchema,
  aggregation: z.enum(aggregations),
  op: z.enum(comparisonOps),
  threshold: z.number().finite(),
  /** Event time the condition must hold (pending) before it fires; 0 fires on the first breaching window. */
  forMs: z.number().int().nonnegative().default(0),
});

export const absenceRuleSchema = z.strictObject({
  kind: z.literal('absence'),
  ...common,
  /** Fires when a known series has no event for this long (event time). */
  timeoutMs: z.number().int().positive(),
});

export const ruleSchema = z.discriminatedUnion('kind', [thresholdRuleSchema, absenceRuleSchema]);

/**
 * A rules file: `{ "rules": [...] }`. Objects are strict, so a misspelt field
 * ("treshold") is an error rather than a silently ignored key.
 */
export const rulesFileSchema = z.strictObject({ $comment: z.string().optional(), rules: z.array(ruleSchema) }).superRefine((file, ctx) => {
  const first = new Map<string, number>();
  file.rules.forEach((rule, index) => {
    const earlier = first.get(rule.name);
    if (earlier === undefined) first.set(rule.name, index);
    else ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: `duplicate rule name (also rules[${earlier}])` });
  });
});

/** A validated rule, defaults applied. */
export type Rule = z.output<typeof ruleSchema>;
export type ThresholdRule = z.output<typeof thresholdRuleSchema>;
export type AbsenceRule = z.output<typeof absenceRuleSchema>;
/** A rule as written (`severity` and `forMs` may be omitted). */
export type RuleInput = z.input<typeof ruleSchema>;
export type RulesFile = z.output<typeof rulesFileSchema>;

/** Every problem of a rules file, each naming the rule and the field: `rule "slow-pay" (rules[0]) window.slideMs: …`. */
export class RulesFileError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid rules:\n  ${issues.join('\n  ')}`);
    this.name = 'RulesFileError';
  }
}

/** Validates rules (from a file or from code) and applies the defaults; throws a {@link RulesFileError}. */
export function checkRules(value: unknown): RulesFile {
  const result = rulesFileSchema.safeParse(value);
  if (result.success) return result.data;
  throw new RulesFileError(result.error.issues.map((issue) => describeIssue(value, issue)));
}

/** Parses the text of a rules file (JSON); throws a {@link RulesFileError} naming each rule and field at fault. */
export function parseRulesFile(text: string): RulesFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RulesFileError([`not valid JSON: ${(error as Error).message}`]);
  }
  return checkRules(value);
}

function describeIssue(input: unknown, issue: z.core.$ZodIssue): string {
  const [top, index, ...field] = issue.path;
  if (top !== 'rules' || typeof index !== 'number') return `${issue.path.map(String).join('.') || '(file)'}: ${issue.message}`;
  const rules = (input as { rules: unknown[] }).rules;
  const name = (rules[index] as { name?: unknown } | null)?.name;
  const which = typeof name === 'string' ? `rule "${name}" (rules[${index}])` : `rules[${index}]`;
  return `${which} ${field.map(String).join('.') || '(rule)'}: ${issue.message}`;
}
