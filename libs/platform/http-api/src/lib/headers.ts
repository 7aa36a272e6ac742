import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { PermanentError } from '@qls/messaging';

/**
 * A header that names one value was sent more than once. Node keeps the first
 * `Authorization` and joins other repeats with ", " (`"k1, k2"`), so either
 * would silently pick or invent a value: answered 400 naming the header.
 */
export class DuplicateHeaderError extends PermanentError {
  constructor(readonly field: string) {
    super('REQUEST.DUPLICATE_HEADER', `${field}: the header must be sent once`);
  }
}

/**
 * The one value of header `name` (`Idempotency-Key`), undefined when absent.
 *
 * @throws DuplicateHeaderError when the request carries it more than once
 */
export function singleHeader(request: IncomingMessage, name: string): string | undefined {
  const values = request.headersDistinct[name.toLowerCase()];
  if (values === undefined) return undefined;
  if (values.length > 1) throw new DuplicateHeaderError(name);
  return values[0];
}

/** A controller parameter: the one value of header `name` (see {@link singleHeader}). */
export const SingleHeader = createParamDecorator((name: string, context: ExecutionContext): string | undefined =>
  singleHeader(context.switchToHttp().getRequest<IncomingMessage>(), name),
);
