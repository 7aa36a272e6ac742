import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { Headers, errorCode, errorMessage } from '@qls/messaging';

/** Headers a dead letter sent as a reference carries besides the reason (see {@link deadLetterRecord}). */
export const DeadLetterHeaders = {
  /** `reference` when the record was too large to copy: the dead letter holds its coordinates and an excerpt. */
  kind: 'x-dead-letter-kind',
  /** Size in bytes of the original value, key and headers, on a reference. */
  originalValueBytes: 'x-original-value-bytes',
  originalKeyBytes: 'x-original-key-bytes',
  originalHeadersBytes: 'x-original-headers-bytes',
} as const;

/**
 * The broker's default `message.max.bytes` (1 MiB + 12) bounds a record batch,
 * which is what one produce call sends to one partition. Sends are split below
 * it with room to spare for the batch and record framing.
 */
export const DEFAULT_MAX_BATCH_BYTES = 768 * 1_024;

/** Bytes of the original value a reference keeps. */
export const DEFAULT_EXCERPT_BYTES = 1_024;

/** Original headers (all together) a reference keeps when they fit in this; beyond, they are counted only. */
const REFERENCE_HEADERS_BYTES = 8 * 1_024;

export interface DeadLetterOptions {
  /** Headers added to the dead letter (e.g. the consumer group). */
  readonly extraHeaders?: Readonly<Record<string, string>>;
  /** A dead letter larger than this is sent as a reference. @defaultValue {@link DEFAULT_MAX_BATCH_BYTES} */
  readonly maxRecordBytes?: number;
  /** @defaultValue {@link DEFAULT_EXCERPT_BYTES} */
  readonly excerptBytes?: number;
}

/**
 * The dead letter of a Kafka record: its key, value and headers byte for byte
 * (Buffers, never re-encoded as text, so bytes that are not UTF-8 survive),
 * plus why (`x-error-code`, `x-error-reason`), where from
 * (`x-original-source` = topic/partition/offset) and when (`x-failed-at`).
 *
 * When that copy would exceed `maxRecordBytes` — more than one produce call may
 * carry — it is a reference instead: the coordinates and the reason, the first
 * `excerptBytes` of the value, the key and headers when small, and the original
 * sizes (`x-dead-letter-kind: reference`). The record itself stays in its topic
 * for as long as retention keeps it. A dead letter thus never blocks the batch
 * that produced it.
 */
export function deadLetterRecord(
  source: { readonly topic: string; readonly partition: number },
  record: KafkaMessage,
  error: unknown,
  options: DeadLetterOptions = {},
): Message {
  const reason: Record<string, string> = {
    [Headers.errorCode]: errorCode(error),
    [Headers.errorReason]: errorMessage(error).slice(0, 1_000),
    [Headers.originalSource]: `${source.topic}/${source.partition}/${record.offset}`,
    [Headers.failedAt]: new Date().toISOString(),
    ...options.extraHeaders,
  };
  const copy: Message = { key: record.key, value: record.value, headers: { ...record.headers, ...reason } };
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_BATCH_BYTES;
  if (messageBytes(copy) <= maxRecordBytes) return copy;

  const keyBytes = record.key?.length ?? 0;
  const headersBytes = headersSize(record.headers);
  const sizes = {
    [DeadLetterHeaders.kind]: 'reference',
    [DeadLetterHeaders.originalValueBytes]: String(record.value?.length ?? 0),
    [DeadLetterHeaders.originalKeyBytes]: String(keyBytes),
    [DeadLetterHeaders.originalHeadersBytes]: String(headersBytes),
  };
  return {
    key: keyBytes <= DEFAULT_EXCERPT_BYTES ? record.key : null,
    value: record.value?.subarray(0, options.excerptBytes ?? DEFAULT_EXCERPT_BYTES) ?? null,
    headers: { ...(headersBytes <= REFERENCE_HEADERS_BYTES ? record.headers : {}), ...reason, ...sizes },
  };
}

/**
 * Splits messages, in order, into runs of at most `maxBytes` (approximate
 * record size: key, value, headers and 64 bytes of framing each). A message
 * larger than `maxBytes` makes a run of its own.
 */
export function chunkByBytes<M extends Message>(messages: readonly M[], maxBytes: number): M[][] {
  const chunks: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Approximate bytes a message takes in a record batch. */
export function messageBytes(message: Message): number {
  return 64 + byteLength(message.key) + byteLength(message.value) + headersSize(message.headers);
}

function headersSize(headers: IHeaders | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) bytes += 8 + Buffer.byteLength(name) + byteLength(one);
  }
  return bytes;
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
