/**
 * `npm run bench -- <name> [--rounds N]` runs `<name>.bench.ts` (found under
 * libs/ and apps/), prints medians next to the baseline measured in the same
 * run, and saves the raw samples as JSON under bench-results/ (git-ignored).
 * `npm run bench -- --list` lists the benchmarks.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { type Benchmark, formatReport, runBenchmark } from '@qls/bench';

const root = join(__dirname, '../..');

function findBenchmarks(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findBenchmarks(path);
    return entry.name.endsWith('.bench.ts') ? [path] : [];
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const files = ['libs', 'apps'].flatMap((dir) => findBenchmarks(join(root, dir)));
  const name = args.find((a) => !a.startsWith('--'));
  if (!name || args.includes('--list')) {
    console.log(`Benchmarks:\n${files.map((f) => `  ${basename(f, '.bench.ts')}  (${relative(root, f)})`).join('\n')}`);
    console.log('\nUsage: npm run bench -- <name> [--rounds N]');
    process.exit(name ? 0 : 2);
  }
  const file = files.find((f) => basename(f, '.bench.ts') === name);
  if (!file) throw new Error(`no benchmark named ${name}; try --list`);
  const roundsArg = args.indexOf('--rounds');
  const rounds = roundsArg >= 0 ? Number(args[roundsArg + 1]) : undefined;

  const benchmark = ((await import(file)) as { default: Benchmark<unknown> }).default;
  const report = await runBenchmark(benchmark, {
    ...(rounds ? { rounds } : {}),
    onSample: (round, caseName, sample) => console.log(`round ${round} ${caseName}: ${JSON.stringify(sample)}`),
  });
  console.log(`\n${formatReport(report)}`);
  const dir = join(root, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}-${report.startedAt.replaceAll(':', '-')}.json`);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nraw results: ${relative(root, out)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
