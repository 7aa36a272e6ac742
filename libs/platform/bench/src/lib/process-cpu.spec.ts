import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startCpuMeter } from './process-cpu';

/** Keeps this thread's CPU busy for `ms`. */
function burn(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) Math.sqrt(Math.random());
}

describe('startCpuMeter', () => {
  it("counts a process's CPU time, and the machine's at least as much", () => {
    const meter = startCpuMeter({ self: { pids: [process.pid] }, gone: { pids: [2 ** 22 + 1] } });
    burn(300);
    const used = meter.stop();
    expect(used['self']).toBeGreaterThanOrEqual(0.2);
    expect(used['self']).toBeLessThan(2);
    expect(used['machine']).toBeGreaterThanOrEqual((used['self'] ?? 0) - 0.02);
    expect(used['gone']).toBe(0);
  });

  it('with descendants, also counts children that ended during the measurement', async () => {
    const meter = startCpuMeter({ tree: { pids: [process.pid], withDescendants: true }, self: { pids: [process.pid] } });
    const child = spawn(process.execPath, ['-e', 'const t = Date.now() + 400; while (Date.now() < t) Math.sqrt(Math.random());']);
    await once(child, 'exit');
    const used = meter.stop();
    expect((used['tree'] ?? 0) - (used['self'] ?? 0)).toBeGreaterThanOrEqual(0.25);
  });
});
