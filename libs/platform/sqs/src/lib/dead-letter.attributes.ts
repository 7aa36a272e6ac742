import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { Headers } from '@qls/messaging';

/**
 * The attribute that carries a dead letter's own attributes, as one JSON
 * object of strings, when they and the reason would not fit in SQS's 10
 * message attributes (see {@link deadLetterHeaders}).
 */
export const FOLDED_ATTRIBUTES = 'x-original-attributes';

/**
 * Attributes that describe the failure, not the message: dropped when a
 * message goes back to its source, so a later failure records its own.
 */
const DEAD_LETTER_ATTRIBUTES: ReadonlySet<string> = new Set([
  Headers.errorCode,
  Headers.errorReason,
  Headers.originalSource,
  Headers.failedAt,
  FOLDED_ATTRIBUTES,
]);

/** SQS's limit of message attributes per message. */
const SQS_ATTRIBUTE_LIMIT = 10;
/** Trace context stays a plain attribute (tracing reads it); the publisher adds it when absent. */
const TRACE_HEADERS: readonly string[] = [Headers.traceparent, Headers.tracestate];

/**
 * The headers of a dead-letter copy: its reason (`failure`: code, reason,
 * source) always, whatever the message carried. The message's own headers
 * (`headers`, minus the annotations of an earlier dead-lettering, unfolded)
 * go along as they are when everything fits in SQS's 10 attributes — trace
 * context counted at two, since the publisher adds it — and otherwise, but
 * for the trace context, as one JSON attribute {@link FOLDED_ATTRIBUTES},
 * which a redrive unfolds. So a message with SQS's maximum of 10 attributes
 * is dead-lettered with its reason, not refused for 13.
 */
export function deadLetterHeaders(
  headers: Readonly<Record<string, string>>,
  failure: Readonly<Record<string, string>>,
): Record<string, string> {
  const own = ownHeaders(headers);
  const traced = TRACE_HEADERS.filter((name) => own[name] !== undefined);
  const needed = Object.keys(own).length - traced.length + TRACE_HEADERS.length + Object.keys(failure).length;
  if (needed <= SQS_ATTRIBUTE_LIMIT) return { ...own, ...failure };
  const folded = Object.fromEntries(Object.entries(own).filter(([name]) => !TRACE_HEADERS.includes(name)));
  return {
    ...Object.fromEntries(traced.map((name) => [name, own[name] ?? ''])),
    [FOLDED_ATTRIBUTES]: JSON.stringify(folded),
    ...failure,
  };
}

/** Every attribute as a string, the folded ones unfolded beside the rest. */
export function attributeStrings(message: Message): Record<string, string> {
  const strings = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : ''),
    ]),
  );
  const folded = strings[FOLDED_ATTRIBUTES];
  return folded === undefined ? strings : { ...unfold(folded), ...strings };
}

/** Every attribute as the DLQ has it (types included), the folded ones unfolded, minus the dead-letter annotations. */
export function applicationAttributes(message: Message): Record<string, MessageAttributeValue> {
  const attributes = message.MessageAttributes ?? {};
  const folded = attributes[FOLDED_ATTRIBUTES]?.StringValue;
  return Object.fromEntries([
    ...Object.entries(folded === undefined ? {} : unfold(folded)).map(([name, value]) => [
      name,
      { DataType: 'String', StringValue: value },
    ]),
    ...Object.entries(attributes)
      .filter(([name]) => isOwn(name))
      .map(([name, value]) => [
        name,
        {
          DataType: value.DataType,
          ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
          ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
        },
      ]),
  ]);
}

/** A message's own headers: the folded ones unfolded, the dead-letter annotations dropped. */
function ownHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const folded = headers[FOLDED_ATTRIBUTES];
  return Object.fromEntries(
    Object.entries({ ...headers, ...(folded === undefined ? {} : unfold(folded)) }).filter(([name]) => isOwn(name)),
  );
}

/** False for the annotations a dead-lettering adds (the reason, the source, the folded attributes). */
function isOwn(name: string): boolean {
  return !DEAD_LETTER_ATTRIBUTES.has(name) && !name.startsWith('x-error-');
}

/** The folded attributes; none when the value is not the JSON object of strings {@link deadLetterHeaders} writes. */
function unfold(value: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}
