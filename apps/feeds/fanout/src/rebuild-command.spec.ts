import { parseRebuildArgs } from './rebuild-command';

describe('rebuild-cli arguments', () => {
  it('reads --all with its options, and --user ids', () => {
    expect(parseRebuildArgs(['--all', '--active-days', '30', '--concurrency', '4', '--ranking', 'recency'])).toEqual({
      users: undefined,
      activeDays: 30,
      concurrency: 4,
      ranking: 'recency',
    });
    expect(parseRebuildArgs(['--user', 'a', '--user', 'b'])).toMatchObject({ users: ['a', 'b'], activeDays: undefined });
  });

  it('names what is wrong', () => {
    expect(parseRebuildArgs([])).toBe('give either --all or --user <id>');
    expect(parseRebuildArgs(['--all', '--user', 'a'])).toBe('give either --all or --user <id>');
    expect(parseRebuildArgs(['--all', '--active-days', '0'])).toBe('--active-days: expected a positive integer, got "0"');
    expect(parseRebuildArgs(['--user'])).toBe('--user: expected a user id');
    expect(parseRebuildArgs(['--user', 'a', '--active-days', '3'])).toBe('--active-days goes with --all');
    expect(parseRebuildArgs(['--all', '--ranking', 'random'])).toMatch(/^--ranking: expected one of recency/);
    expect(parseRebuildArgs(['--everything'])).toBe('unknown argument "--everything"');
  });
});
