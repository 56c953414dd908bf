import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Logger } from '@smithy/types';

/**
 * The single retry policy of every SDK client in the project: the SDK's adaptive retry (client-side rate limiting
 * on throttling, exponential back-off with jitter) with enough attempts to ride out a throttled SSM or EKS API
 * during a fleet-wide fan-out. Nothing else in the project retries AWS calls. One exception: Logs Insights
 * StartQuery is sent once (InsightsLogQueryRunner): its LimitExceededException is the account's concurrent-query
 * quota, not a rate, and the workflow puts a refused start off to the cluster's next poll instead of waiting inside
 * the Lambda.
 */
export const RETRY_POLICY = { retryMode: 'adaptive', maxAttempts: 6 } as const;

export interface SdkClientOptions {
  /** the region to call; unset: the SDK's default chain (AWS_REGION, profile) */
  region?: string;
  /** a loopback endpoint (the simulator); unset: the real AWS endpoint */
  endpoint?: string;
  /** unset: the SDK's default credential chain */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** where the SDK logs each call (the CLI's --verbose); unset: nowhere */
  logger?: Logger;
}

/** The configuration every SDK client is built with: the retry policy plus region, endpoint and credentials. */
export function sdkClientConfig(options: SdkClientOptions = {}) {
  return {
    ...RETRY_POLICY,
    ...(options.region !== undefined && { region: options.region }),
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
    ...(options.logger !== undefined && { logger: options.logger }),
  };
}
