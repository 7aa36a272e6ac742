export { defineBenchmark, formatReport, median, percentile, runBenchmark } from './lib/benchmark';
export { startCpuMeter } from './lib/process-cpu';
export type { CpuGroup } from './lib/process-cpu';
export type { BenchCase, BenchReport, Benchmark, CaseSummary, Sample } from './lib/benchmark';
