/** An injection token that carries the type of what it names (`typedToken<Redis>('feed-cache')`). */
export type TypedToken<T> = symbol & { readonly [tokenType]?: T };
declare const tokenType: unique symbol;

export function typedToken<T>(description: string): TypedToken<T> {
  return Symbol(description) as TypedToken<T>;
}

/** A class or a {@link TypedToken}: what a token names, so factories are typed from their `inject` list. */
export type Token<T = unknown> = (abstract new (...args: never[]) => T) | TypedToken<T>;

/** The values `inject` resolves to, in order. */
export type Injected<D extends readonly Token[]> = {
  -readonly [K in keyof D]: D[K] extends Token<infer I> ? I : never;
};

/** A value built from injected providers (a Nest factory provider without its token). */
export interface FromInjected<T> {
  readonly inject: readonly Token[];
  readonly useFactory: (...deps: never[]) => T;
}

/**
 * A value to build once the providers it needs exist, e.g. a rate limit on
 * the app's Redis: `fromInjected([Redis], (redis) => userRateLimit({ redis, … }))`.
 */
export function fromInjected<const D extends readonly Token[], T>(inject: D, useFactory: (...deps: Injected<D>) => T): FromInjected<T> {
  return { inject, useFactory: useFactory as (...deps: never[]) => T };
}

export function isFromInjected<T>(value: T | FromInjected<T>): value is FromInjected<T> {
  return typeof value === 'object' && value !== null && 'useFactory' in value && 'inject' in value;
}
