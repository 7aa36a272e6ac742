import { captureLogs, type LogCapture } from '../testing';
import { shutdownSequence } from './graceful-shutdown';
import { createLogger } from './logger.factory';

/** Resolves with the first exit code the sequence asks for. */
function start(close: () => Promise<void>, timeoutMs: number): { capture: LogCapture; exited: Promise<number> } {
  const capture = captureLogs();
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  const shutdown = shutdownSequence(
    { close },
    { timeoutMs, logger: createLogger({ service: 'orders', destination: capture.destination }) },
    exit,
  );
  shutdown('SIGTERM');
  shutdown('SIGTERM');
  return { capture, exited };
}

describe('graceful shutdown', () => {
  it('closes the app once, however many signals arrive, then exits 0', async () => {
    let closes = 0;
    const { capture, exited } = start(async () => void closes++, 1_000);

    expect(await exited).toBe(0);
    expect(closes).toBe(1);
    expect(capture.lines().map((line) => line['msg'])).toEqual(['shutting down', 'shutdown complete']);
  });

  it('exits 1 when closing outlives the deadline', async () => {
    const { capture, exited } = start(() => new Promise<void>(() => undefined), 20);

    expect(await exited).toBe(1);
    expect(capture.lines().map((line) => line['msg'])).toContain('shutdown did not finish in time, exiting');
  });

  it('exits 1 when closing fails', async () => {
    const { capture, exited } = start(() => Promise.reject(new Error('pool stuck')), 1_000);

    expect(await exited).toBe(1);
    expect(capture.lines()).toContainEqual(
      expect.objectContaining({ msg: 'shutdown failed', err: expect.objectContaining({ message: 'pool stuck' }) }),
    );
  });
});
