import { Kafka, type LogEntry, logLevel } from 'kafkajs';
import type { KafkaSettings } from '@qls/config';

/** Structured logger shape (pino-compatible) the adapters log through. */
export interface AdapterLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * One kafkajs client per process. kafkajs logs go to `logger` (WARN and up by
 * default: the INFO level is a line per rebalance step).
 */
export function createKafka(settings: KafkaSettings, logger?: AdapterLogger, level: logLevel = logLevel.WARN): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: level,
    retry: { initialRetryTime: 100, retries: 8 },
    ...(logger ? { logCreator: () => (entry: LogEntry) => forward(logger, entry) } : {}),
  });
}

function forward(logger: AdapterLogger, { level, namespace, log }: LogEntry): void {
  const { message, ...fields } = log;
  const obj = { ...fields, component: `kafkajs.${namespace}` };
  if (level === logLevel.ERROR) logger.error(obj, message);
  else if (level === logLevel.WARN) logger.warn(obj, message);
  else if (level === logLevel.INFO) logger.info(obj, message);
  else logger.debug(obj, message);
}
