export { defineBenchmark, formatReport, median, percentile, runBenchmark } from './lib/benchmark';
export type { BenchCase, BenchReport, Benchmark, CaseSummary, Sample } from './lib/benchmark';
