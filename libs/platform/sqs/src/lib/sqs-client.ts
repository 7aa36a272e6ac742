import { SQSClient } from '@aws-sdk/client-sqs';

export interface SqsSettings {
  /** Unset on AWS; the ElasticMQ URL locally and in docker-compose. */
  readonly endpoint?: string | undefined;
  readonly region: string;
}

/**
 * One SQS client per process. Credentials come from the SDK's default chain
 * (env vars locally, IRSA / pod identity on Kubernetes). Queue URLs returned by
 * SQS-compatible servers may name a host we cannot reach, so with an explicit
 * endpoint every call goes there.
 */
export function createSqsClient(settings: SqsSettings): SQSClient {
  return new SQSClient({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    maxAttempts: 5,
  });
}
