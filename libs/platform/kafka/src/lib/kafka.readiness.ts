import type { Admin, Kafka } from 'kafkajs';

/**
 * A readiness check (ObservabilityModule): ready when the brokers answer and every one of `topics` exists (provisioning
 * has run). Holds one admin connection; `close()` it on shutdown.
 */
export function kafkaTopicsReadiness(
  kafka: Kafka,
  topics: readonly string[],
): { readonly name: 'kafka'; check(): Promise<void>; close(): Promise<void> } {
  let admin: Admin | undefined;
  let connected: Promise<void> | undefined;
  return {
    name: 'kafka' as const,
    async check() {
      admin ??= kafka.admin();
      const client = admin;
      connected ??= client.connect().catch((error: unknown) => {
        connected = undefined;
        throw error;
      });
      await connected;
      try {
        await client.fetchTopicMetadata({ topics: [...topics] });
      } catch (error) {
        if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
        const existing = new Set(await client.listTopics());
        throw new Error(`missing topic(s): ${topics.filter((topic) => !existing.has(topic)).join(', ')}`, { cause: error });
      }
    },
    async close() {
      if (connected) await connected.then(() => admin?.disconnect()).catch(() => undefined);
      connected = undefined;
    },
  };
}
