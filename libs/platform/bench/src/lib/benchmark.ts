/** One measurement of one case: named numbers, e.g. `{ 'msgs/s': 41000, 'p99 ms': 12 }`. */
export type Sample = Record<string, number>;

export interface BenchCase<Ctx> {
  readonly name: string;
  run(ctx: Ctx): Promise<Sample>;
}

/**
 * A benchmark compares candidates with a baseline measured in the same run,
 * on the same machine, in alternating order, over several rounds. Machines here
 * are noisy, so it reports medians and the candidate/baseline ratio, never an
 * absolute pass/fail threshold.
 */
export interface Benchmark<Ctx = void> {
  readonly name: string;
  readonly description: string;
  /** @defaultValue 5 */
  readonly rounds?: number;
  /** Which metric the headline ratio is about, and whether higher is better. */
  readonly headline: { readonly metric: string; readonly higherIsBetter: boolean };
  setup(): Promise<Ctx>;
  teardown?(ctx: Ctx): Promise<void>;
  readonly baseline: BenchCase<Ctx>;
  readonly candidates: readonly BenchCase<Ctx>[];
}

export interface CaseSummary {
  readonly name: string;
  readonly baseline: boolean;
  readonly samples: Sample[];
  readonly medians: Sample;
  /** Median of this case ÷ median of the baseline, per metric. */
  readonly ratios: Sample;
}

export interface BenchReport {
  readonly benchmark: string;
  readonly description: string;
  readonly startedAt: string;
  readonly rounds: number;
  readonly headline: Benchmark<unknown>['headline'];
  readonly machine: { readonly cpus: number; readonly node: string; readonly platform: string };
  readonly cases: CaseSummary[];
}

/** Defines a benchmark with its context type inferred from `setup`. */
export function defineBenchmark<Ctx>(benchmark: Benchmark<Ctx>): Benchmark<Ctx> {
  return benchmark;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Runs every case once per round; the order alternates between rounds
 * (baseline first, then last) so that drift — a warming JIT, a filling disk —
 * does not favour one side.
 */
export async function runBenchmark<Ctx>(
  benchmark: Benchmark<Ctx>,
  options: { rounds?: number; onSample?: (round: number, name: string, sample: Sample) => void } = {},
): Promise<BenchReport> {
  const rounds = options.rounds ?? benchmark.rounds ?? 5;
  const cases = [benchmark.baseline, ...benchmark.candidates];
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  const startedAt = new Date().toISOString();
  const ctx = await benchmark.setup();
  try {
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? cases : [...cases].reverse();
      for (const benchCase of order) {
        const sample = await benchCase.run(ctx);
        samples.get(benchCase.name)?.push(sample);
        options.onSample?.(round, benchCase.name, sample);
      }
    }
  } finally {
    await benchmark.teardown?.(ctx);
  }
  const mediansOf = (name: string): Sample => {
    const all = samples.get(name) ?? [];
    const metrics = [...new Set(all.flatMap((s) => Object.keys(s)))];
    return Object.fromEntries(metrics.map((metric) => [metric, median(all.map((s) => s[metric]).filter((v) => v !== undefined))]));
  };
  const baselineMedians = mediansOf(benchmark.baseline.name);
  const { availableParallelism } = await import('node:os');
  return {
    benchmark: benchmark.name,
    description: benchmark.description,
    startedAt,
    rounds,
    headline: benchmark.headline,
    machine: { cpus: availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` },
    cases: cases.map((c) => {
      const medians = mediansOf(c.name);
      return {
        name: c.name,
        baseline: c === benchmark.baseline,
        samples: samples.get(c.name) ?? [],
        medians,
        ratios: Object.fromEntries(Object.entries(medians).map(([metric, value]) => [metric, value / baselineMedians[metric]])),
      };
    }),
  };
}

/**
 * The printed table: a row per metric and a column per case (benchmarks report
 * many metrics and few cases), medians with the ratio to the baseline.
 */
export function formatReport(report: BenchReport): string {
  const metrics = [...new Set(report.cases.flatMap((c) => Object.keys(c.medians)))];
  const header = ['metric', ...report.cases.map((c) => `${c.name}${c.baseline ? ' (baseline)' : ''}`)];
  const rows = metrics.map((m) => [
    m,
    ...report.cases.map((c) => `${formatNumber(c.medians[m])}${c.baseline ? '' : ` (×${formatNumber(c.ratios[m])})`}`),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const { metric, higherIsBetter } = report.headline;
  const headline = report.cases
    .filter((c) => !c.baseline)
    .map((c) => {
      const ratio = c.ratios[metric];
      const better = higherIsBetter ? ratio : 1 / ratio;
      return `${c.name}: ${metric} ×${formatNumber(ratio)} vs baseline (${better >= 1 ? `${formatNumber(better)}× better` : `${formatNumber(1 / better)}× worse`})`;
    });
  return [
    `${report.benchmark} — ${report.description}`,
    `medians of ${report.rounds} alternating rounds; ${report.machine.cpus} CPUs, Node ${report.machine.node}`,
    '',
    line(header),
    ...rows.map(line),
    '',
    ...headline,
  ].join('\n');
}

function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}
