/**
 * Failures of a dependency that a retry can outlast, from drivers that do not
 * use our error taxonomy (pg, pg-pool, node:net): answered 503 with
 * `Retry-After`, never 500 (which says "a bug").
 *
 * - SQLSTATE classes 08 (connection exception) and 53 (insufficient
 *   resources: too many connections, out of memory, disk full); 57P01–57P05
 *   (the server is shutting down, restarting or not yet up); 40001
 *   (serialization failure) and 40P01 (deadlock): the transaction may be run
 *   again; 55P03 (lock not available) and 57014 (statement timeout);
 * - socket errors: refused, reset, timed out, host unreachable, broken pipe;
 * - pg-pool's and pg's own timeouts and lost connections, which carry no code.
 */
const TRANSIENT_SQLSTATE = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-5]|40001|40P01|55P03|57014)$/;
const TRANSIENT_SOCKET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
const TRANSIENT_DRIVER_MESSAGE =
  /^(timeout exceeded when trying to connect|Connection terminated (unexpectedly|due to connection timeout)|Client has encountered a connection error and is not queryable|Query read timeout)/;

export function isTransientDependencyError(error: unknown): boolean {
  // Duck-typed: errors of node's own modules fail `instanceof Error` across realms (vm contexts, jest).
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_SOCKET.has(code))) return true;
  if (typeof message === 'string' && TRANSIENT_DRIVER_MESSAGE.test(message)) return true;
  // node:net reports each address it tried (IPv4 and IPv6) in an AggregateError.
  return Array.isArray(errors) && errors.length > 0 && errors.every(isTransientDependencyError);
}
