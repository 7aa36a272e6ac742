import { typedToken } from '@qls/observability';
import type { DeadLetterQueue } from '@qls/sqs';

export const DEAD_LETTER_QUEUE = typedToken<DeadLetterQueue>('DEAD_LETTER_QUEUE');
