export { backoffDelay } from './lib/backoff';
export type { BackoffOptions } from './lib/backoff';
export { AppError, PermanentError, RetriableError, errorCode, errorMessage, isRetriable } from './lib/errors';
export { Headers } from './lib/message.port';
export type { InboundMessage, MessageConsumer, MessageHandler, MessagePublisher, MessageSource, OutboundMessage } from './lib/message.port';
export { extractTraceContext, injectTraceContext, withConsumerSpan, withProducerSpan } from './lib/tracing';
