import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTargetClientsFactory, targetClientConfig } from '#aws/clients.js';
import { RETRY_POLICY, sdkClientConfig } from '#aws/sdk-config.js';

const HUB = '111111111111';
const MEMBER = '222222222222';

/** A loopback STS that records AssumeRole requests and hands out fixed credentials. */
async function startFakeSts(): Promise<{ endpoint: string; requests: URLSearchParams[]; server: Server }> {
  const requests: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      requests.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>' +
          '<AccessKeyId>ASIAMEMBER</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>' +
          '<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>' +
          '<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests, server };
}

describe('the SDK client configuration', () => {
  it('uses adaptive retry with six attempts everywhere', () => {
    expect(sdkClientConfig({ region: 'eu-west-1' })).toEqual({
      retryMode: 'adaptive',
      maxAttempts: 6,
      region: 'eu-west-1',
    });
    expect(RETRY_POLICY).toEqual({ retryMode: 'adaptive', maxAttempts: 6 });
  });
});

describe('targetClientConfig', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('gives the simulator the account id as access key id and the region as the signing region', () => {
    // Act
    const config = targetClientConfig(
      { account: MEMBER, region: 'us-east-1' },
      { endpoint: 'http://127.0.0.1:4566', roleName: 'FleetAuditRole' },
    );

    // Assert
    expect(config).toEqual({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4566',
      credentials: { accessKeyId: MEMBER, secretAccessKey: 'simulated-secret' },
    });
  });

  it('assumes the role through the simulator’s STS when the hub account is named too (test/integration/organization.test.ts)', () => {
    // Act
    const config = targetClientConfig(
      { account: MEMBER, region: 'us-east-1' },
      { endpoint: 'http://127.0.0.1:4566', roleName: 'FleetAuditRole', hubAccount: HUB },
    );

    // Assert: a provider that calls AssumeRole, not static credentials
    expect(config).toMatchObject({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4566' });
    expect(typeof config.credentials).toBe('function');
  });

  it('uses the hub account its own credentials, without assuming a role', () => {
    // Act
    const config = targetClientConfig(
      { account: HUB, region: 'eu-west-1' },
      { roleName: 'FleetAuditRole', hubAccount: HUB },
    );

    // Assert
    expect(config).toEqual({ region: 'eu-west-1' });
  });

  it('assumes the audit role in a member account', async () => {
    // Arrange
    const sts = await startFakeSts();
    vi.stubEnv('AWS_ENDPOINT_URL_STS', sts.endpoint);
    const config = targetClientConfig(
      { account: MEMBER, region: 'eu-west-1' },
      {
        roleName: 'FleetAuditRole',
        hubAccount: HUB,
        credentials: { accessKeyId: 'AKIAHUB', secretAccessKey: 'hub-secret' },
      },
    );

    try {
      // Act
      const credentials = await (config.credentials as AwsCredentialIdentityProvider)();

      // Assert
      expect(credentials).toMatchObject({
        accessKeyId: 'ASIAMEMBER',
        secretAccessKey: 'secret',
        sessionToken: 'token',
      });
      expect(sts.requests).toHaveLength(1);
      expect(sts.requests[0]?.get('Action')).toBe('AssumeRole');
      expect(sts.requests[0]?.get('RoleArn')).toBe(`arn:aws:iam::${MEMBER}:role/FleetAuditRole`);
      expect(sts.requests[0]?.get('RoleSessionName')).toBe('fleet-audit');
    } finally {
      sts.server.close();
    }
  });
});

describe('createTargetClientsFactory', () => {
  it('builds the clients of an account and region once and hands out the same ones afterwards', () => {
    // Arrange
    const clientsFor = createTargetClientsFactory({ endpoint: 'http://127.0.0.1:4566' });

    // Act
    const first = clientsFor({ account: HUB, region: 'eu-west-1' });
    const again = clientsFor({ account: HUB, region: 'eu-west-1' });
    const elsewhere = clientsFor({ account: HUB, region: 'us-east-1' });

    // Assert
    expect(again).toBe(first);
    expect(elsewhere).not.toBe(first);
  });
});
