import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { FeedCache, FeedRebuilder, type RankingName, rankingNames, rankings } from '@qls/feed-timeline';
import { rebuildAllFeeds } from '@qls/feed-distribution';

export const EXIT = { done: 0, failed: 1, badArguments: 2 } as const;

export interface RebuildArgs {
  /** Users to rebuild; undefined = every user (and every author's recent posts). */
  readonly users: readonly string[] | undefined;
  readonly activeDays: number | undefined;
  readonly concurrency: number;
  readonly ranking: RankingName | undefined;
}

export const usage = `usage: rebuild-cli (--all | --user <id> [--user <id> …]) [--active-days N] [--concurrency N] [--ranking ${rankingNames.join('|')}]
  Rebuilds feed caches from the database (posts + follows), scored by the ranking (default FEED_RANKING):
  --all             every author's recent posts, then every user's pushed feed
  --user <id>       only these users' feeds
  --active-days N   with --all: only users seen within N days (the others are rebuilt on their first read)
`;

/** Parses argv; a string is the problem with them. */
export function parseRebuildArgs(argv: readonly string[]): RebuildArgs | string {
  const users: string[] = [];
  let all = false;
  let activeDays: number | undefined;
  let concurrency = 16;
  let ranking: RankingName | undefined;
  const positive = (name: string, raw: string | undefined): number | string => {
    const value = Number(raw);
    return Number.isInteger(value) && value > 0
      ? value
      : `${name}: expected a positive integer, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    switch (arg) {
      case '--all':
        all = true;
        break;
      case '--user':
        if (value === undefined || value.startsWith('--')) return '--user: expected a user id';
        users.push(value);
        i++;
        break;
      case '--active-days':
      case '--concurrency': {
        const parsed = positive(arg, value);
        if (typeof parsed === 'string') return parsed;
        if (arg === '--active-days') activeDays = parsed;
        else concurrency = parsed;
        i++;
        break;
      }
      case '--ranking':
        if (!rankingNames.includes(value as RankingName))
          return `--ranking: expected one of ${rankingNames.join(', ')}, got ${JSON.stringify(value)}`;
        ranking = value as RankingName;
        i++;
        break;
      default:
        return `unknown argument ${JSON.stringify(arg)}`;
    }
  }
  if (all === users.length > 0) return 'give either --all or --user <id>';
  if (activeDays !== undefined && !all) return '--active-days goes with --all';
  return { users: all ? undefined : users, activeDays, concurrency, ranking };
}

export interface RebuildDeps {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly feedLength: number;
  readonly recentLength: number;
  readonly celebrityThreshold: number;
  readonly defaultRanking: RankingName;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now?: () => number;
}

/** Runs the rebuild; resolves with the exit status. */
export async function runRebuildCommand(argv: readonly string[], deps: RebuildDeps): Promise<number> {
  const args = parseRebuildArgs(argv);
  if (typeof args === 'string') {
    deps.err(`${args}\n${usage}`);
    return EXIT.badArguments;
  }
  const now = deps.now ?? Date.now;
  const rankingName = args.ranking ?? deps.defaultRanking;
  const cache = new FeedCache(deps.redis, { feedLength: deps.feedLength, recentLength: deps.recentLength });
  const rebuilder = new FeedRebuilder(deps.pool, cache, { celebrityThreshold: deps.celebrityThreshold, ranking: rankings[rankingName] });
  const startedAt = new Date(now());
  if (args.users) {
    for (const user of args.users) deps.out(`${user}: ${(await rebuilder.rebuildFeed(user)).length} entries\n`);
  } else {
    const done = await rebuildAllFeeds(deps.pool, rebuilder, {
      concurrency: args.concurrency,
      ...(args.activeDays === undefined ? {} : { activeSince: new Date(now() - args.activeDays * 86_400_000) }),
      onProgress: ({ authors, users }) => deps.err(`… ${authors} authors' recent posts, ${users} feeds\n`),
    });
    deps.out(`rebuilt ${done.authors} authors' recent posts and ${done.users} feeds with ranking ${rankingName}\n`);
  }
  deps.out(`started ${startedAt.toISOString()}; what the fan-out changed meanwhile is kept (each feed is read again after its replace)\n`);
  return EXIT.done;
}
