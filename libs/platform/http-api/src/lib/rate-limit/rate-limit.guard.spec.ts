import type { ExecutionContext } from '@nestjs/common';
import { RateLimitGuard, type RateLimitPolicy, type RateLimiter } from './rate-limit.guard';

class Refused extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`retry after ${retryAfterSeconds} s`);
  }
}

function contextFor(caller: { userId: string } | undefined): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => ({ caller }) }) } as unknown as ExecutionContext;
}

function guard(take: RateLimiter['take']) {
  const subjects: string[] = [];
  const outages: unknown[] = [];
  const policy: RateLimitPolicy<{ userId: string }> = {
    limiter: {
      take: (subject) => {
        subjects.push(subject);
        return take(subject);
      },
    },
    subjectOf: (caller) => caller.userId,
    refused: (retryAfterSeconds) => new Refused(retryAfterSeconds),
    unavailable: (error) => outages.push(error),
  };
  return { guard: new RateLimitGuard(policy as RateLimitPolicy<unknown>), subjects, outages };
}

describe('RateLimitGuard', () => {
  it("spends the caller's budget and lets the request through while there is some", async () => {
    const { guard: g, subjects } = guard(async () => ({ allowed: true, retryAfterSeconds: 0 }));
    await expect(g.canActivate(contextFor({ userId: 'ada' }))).resolves.toBe(true);
    expect(subjects).toEqual(['ada']);
  });

  it("refuses with the policy's error, carrying when to retry", async () => {
    const { guard: g } = guard(async () => ({ allowed: false, retryAfterSeconds: 7 }));
    await expect(g.canActivate(contextFor({ userId: 'ada' }))).rejects.toEqual(new Refused(7));
  });

  it('fails open when the limiter does not answer, and reports it', async () => {
    const outage = new Error('Redis timed out');
    const { guard: g, outages } = guard(async () => {
      throw outage;
    });
    await expect(g.canActivate(contextFor({ userId: 'ada' }))).resolves.toBe(true);
    expect(outages).toEqual([outage]);
  });

  it('is a wiring error to run it before authentication', async () => {
    const { guard: g } = guard(async () => ({ allowed: true, retryAfterSeconds: 0 }));
    await expect(g.canActivate(contextFor(undefined))).rejects.toThrow('RateLimitGuard must run after BearerAuthGuard');
  });
});
