import { readFileSync } from 'node:fs';
import { z } from 'zod';

const topic = z.object({
  name: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'not a valid Kafka topic name'),
  partitions: z.number().int().positive(),
  retentionHours: z.number().positive(),
  replicationFactor: z.number().int().positive().optional(),
});

const queue = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,75}(\.fifo)?$/, 'not a valid SQS queue name'),
  visibilityTimeoutSeconds: z.number().int().min(0).max(43_200),
  retentionSeconds: z.number().int().min(60).max(1_209_600),
  fifo: z.boolean().optional(),
  deadLetter: z.object({ maxReceiveCount: z.number().int().min(1).max(1_000) }).optional(),
});

export const topologySchema = z.object({ topics: z.array(topic), queues: z.array(queue) });
export type Topology = z.infer<typeof topologySchema>;
export type TopicSpec = z.infer<typeof topic>;
export type QueueSpec = z.infer<typeof queue>;

/** Reads and validates a topology file; errors name the file and the field. */
export function readTopology(path: string): Topology {
  const parsed = topologySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new Error(`invalid topology in ${path}: ${problems}`);
}
