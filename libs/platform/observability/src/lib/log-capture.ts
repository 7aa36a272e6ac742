import type { DestinationStream } from 'pino';

/** What {@link captureLogs} returns. */
export interface LogCapture {
  /** Pass as `destination` to `createLogger`. */
  readonly destination: DestinationStream;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

/** Collects a logger's lines in memory so a test can assert on them. */
export function captureLogs(): LogCapture {
  const written: string[] = [];
  return {
    destination: { write: (line: string) => void written.push(line) },
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
