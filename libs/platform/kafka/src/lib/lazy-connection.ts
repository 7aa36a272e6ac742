/**
 * A client's connection, made on first use and shared by every caller meanwhile;
 * a failed connect is forgotten, so the next use tries again (a broker that was
 * down at boot does not leave the client broken).
 */
export class LazyConnection {
  private connecting: Promise<void> | undefined;

  constructor(private readonly connect: () => Promise<void>) {}

  /** Resolves once connected; rejects when this attempt failed. */
  ready(): Promise<void> {
    this.connecting ??= this.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  /** The connect started, if any, now forgotten: what `close()` has to disconnect (after it settles). */
  release(): Promise<void> | undefined {
    const connecting = this.connecting;
    this.connecting = undefined;
    return connecting;
  }
}
