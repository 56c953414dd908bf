import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider, Logger } from '@smithy/types';
import { sdkClientConfig } from '#aws/sdk-config.js';
import { UsageError } from './errors.js';

/**
 * Getting to AWS from a laptop, one check at a time, so that each failure is one line that blames the right thing:
 * the profile (does it exist?), the region (is there one, is it a region name?), the credentials (can the SDK's
 * chain produce any?), the network (can AWS be reached?) and AWS's verdict on the credentials. All of it happens
 * before anything is stored.
 */

/** Everything the AWS clients of a CLI command need. */
export interface AwsAccess {
  /** "profile NAME", "profile NAME (from AWS_PROFILE)" or "the default credentials" — for messages */
  who: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  logger?: Logger;
}

/**
 * Time limits for the CLI's own calls (the preflight, the findings table): without them an unreachable endpoint
 * that drops packets keeps a TCP connect waiting for minutes. The SDK's defaults set neither.
 */
export const CLI_REQUEST_HANDLER = { connectionTimeout: 5000, requestTimeout: 20_000 };

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

/** The error names with which AWS rejects the credentials themselves (not their permissions). */
const REJECTED_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'AuthFailure',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
]);

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** A region name as AWS spells them: eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-2. */
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** Checks a region name given on the command line. */
export function checkRegion(flag: string, region: string): string {
  if (!REGION_NAME.test(region)) {
    throw new UsageError(`${flag} ${JSON.stringify(region)} is not an AWS region name (like eu-west-1)`);
  }
  return region;
}

/** The profile names a shared config or credentials file defines. */
function profilesIn(text: string, kind: 'config' | 'credentials'): Set<string> {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const section = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line)?.[1];
    if (!section) continue;
    if (kind === 'credentials') names.add(section);
    // In the config file a profile is [default] or [profile NAME]; [sso-session x] and [services x] are not.
    else if (section === 'default') names.add(section);
    else {
      const named = /^profile\s+(.+)$/.exec(section)?.[1];
      if (named) names.add(named);
    }
  }
  return names;
}

/**
 * Throws when `profile` (from --profile or AWS_PROFILE) is in neither shared file. The files' places and format:
 * https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE).
 */
async function checkProfile(profile: string, fromEnv: boolean, env: NodeJS.ProcessEnv): Promise<void> {
  const home = env.HOME || homedir();
  const files = [
    { kind: 'config' as const, path: env.AWS_CONFIG_FILE || join(home, '.aws', 'config') },
    { kind: 'credentials' as const, path: env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials') },
  ];
  for (const file of files) {
    const text = await readFile(file.path, 'utf8').catch(() => '');
    if (profilesIn(text, file.kind).has(profile)) return;
  }
  throw new UsageError(
    `profile ${profile}${fromEnv ? ' (from AWS_PROFILE)' : ''} not found in ${files.map((f) => f.path).join(' or ')}` +
      `; \`aws configure list-profiles\` lists the profiles there`,
  );
}

/**
 * The profile, region and credentials for AWS calls, each checked: a profile named but not defined, no region,
 * a malformed region, or no credentials at all is a {@link UsageError} saying which.
 */
export async function resolveAwsAccess(options: {
  profile?: string;
  /** an explicit region (a flag); unset: AWS_REGION or the profile's */
  region?: string;
  regionFlag?: string;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}): Promise<AwsAccess> {
  const env = options.env ?? process.env;
  const fromEnv = !options.profile && Boolean(env.AWS_PROFILE);
  const profile = options.profile || env.AWS_PROFILE || undefined;
  if (profile) await checkProfile(profile, fromEnv, env);
  const who = profile ? `profile ${profile}${fromEnv ? ' (from AWS_PROFILE)' : ''}` : 'the default credentials';
  const regionFlag = options.regionFlag ?? '--region';
  let region = options.region ? checkRegion(regionFlag, options.region) : undefined;
  const credentials = fromNodeProviderChain({ ...(profile && { profile }) });
  if (!region) {
    // The SDK's own chain: AWS_REGION, then the profile's region (instance metadata on EC2).
    const sts = new STSClient({ ...sdkClientConfig({}), ...(profile && { profile }) });
    try {
      region = await sts.config.region();
    } catch {
      const hint = env.AWS_DEFAULT_REGION
        ? ` (AWS_DEFAULT_REGION is set, but the AWS SDK for JavaScript reads AWS_REGION)`
        : '';
      throw new UsageError(
        `no AWS region: pass ${regionFlag}, set AWS_REGION, or set region in ${profile ? `profile ${profile}` : 'the default profile'}${hint}`,
      );
    } finally {
      sts.destroy();
    }
    checkRegion(`the region of ${who}`, region);
  }
  try {
    await credentials();
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    if (/Could not load credentials from any providers/.test(message)) {
      throw new UsageError(
        `no AWS credentials found for ${who}: run \`aws configure\` or \`aws sso login\`, set AWS_ACCESS_KEY_ID and ` +
          'AWS_SECRET_ACCESS_KEY, or use --local for the simulated fleet',
      );
    }
    throw new UsageError(`cannot get AWS credentials for ${who}: ${message}`);
  }
  return { who, region, credentials, ...(options.logger && { logger: options.logger }) };
}

/** The account the credentials belong to (STS GetCallerIdentity), or a one-line UsageError saying what failed. */
export async function callerAccount(access: AwsAccess): Promise<string> {
  const sts = new STSClient({
    ...sdkClientConfig({ region: access.region, credentials: access.credentials, logger: access.logger }),
    maxAttempts: 2,
    requestHandler: CLI_REQUEST_HANDLER,
  });
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    if (!identity.Account) throw new UsageError('AWS STS GetCallerIdentity returned no account');
    return identity.Account;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(awsFailure(error, { service: 'STS', region: access.region, who: access.who }));
  } finally {
    sts.destroy();
  }
}

/** The SDK error's name (`InvalidClientTokenId`) or, for a network failure, Node's code (`ECONNREFUSED`). */
export function codeOf(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.name === 'string' && e.name !== 'Error') return e.name;
  return 'Error';
}

/** Whether an error is a failure to reach AWS at all (refused, no DNS, timed out), not an answer from it. */
export function isNetworkFailure(error: unknown): boolean {
  return NETWORK_CODES.has(codeOf(error)) || /socket hang up/i.test(String((error as Error)?.message ?? ''));
}

/**
 * One line for a failed AWS call that blames the right thing: the network, the credentials, their permissions, or
 * else the service's own error.
 */
export function awsFailure(error: unknown, context: { service: string; region: string; who: string }): string {
  const code = codeOf(error);
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const { service, region, who } = context;
  if (isNetworkFailure(error)) {
    return (
      `cannot reach AWS ${service} in ${region} (${message || code}): check the network connection` +
      ' (and AWS_ENDPOINT_URL if you set one); the credentials were not checked'
    );
  }
  if (REJECTED_CREDENTIALS.has(code)) {
    const renew = /Expired/.test(code) ? '; renew them (`aws sso login`, or new keys)' : '';
    return `AWS ${service} in ${region} rejected the credentials of ${who} (${code}: ${message})${renew}`;
  }
  if (ACCESS_DENIED.has(code)) return `access denied by AWS ${service} in ${region} for ${who} (${code}: ${message})`;
  return `AWS ${service} in ${region} failed: ${code}: ${message}`;
}
