import { describe, expect, it } from 'vitest';
import {
  activeSuppression,
  type Suppression,
  SuppressionInputError,
  type SuppressionRequest,
  suppressionFrom,
  suppressionId,
} from '#audit/suppressions.js';

const NOW = new Date('2026-12-07T12:00:00Z');
const request = (over: Partial<SuppressionRequest> = {}): SuppressionRequest => ({
  rule: 'CNI-RESTARTS',
  reason: 'aws-node restarts after the v1.19 upgrade; fix planned',
  owner: 'platform@example.com',
  expires: '2027-01-31',
  ...over,
});
const refusal = (over: Partial<SuppressionRequest>) => {
  try {
    suppressionFrom(request(over), NOW);
  } catch (error) {
    if (error instanceof SuppressionInputError) return error.message;
    throw error;
  }
  throw new Error('accepted');
};

describe('a suppression from what a person typed', () => {
  it('scopes an omitted account, region and cluster to every one, and a date to the end of that day, UTC', () => {
    // Act
    const s = suppressionFrom(request(), NOW);

    // Assert
    expect(s).toEqual({
      account: '*',
      region: '*',
      cluster: '*',
      ruleId: 'CNI-RESTARTS',
      reason: 'aws-node restarts after the v1.19 upgrade; fix planned',
      owner: 'platform@example.com',
      expiresAt: '2027-02-01T00:00:00.000Z',
      createdAt: '2026-12-07T12:00:00.000Z',
    });
    expect(suppressionId(s)).toBe('*/*/*/CNI-RESTARTS');
  });

  it('takes a rule id in any case, an ISO time with its offset, and a full scope', () => {
    // Act
    const s = suppressionFrom(
      request({
        rule: ' xt-lock-contention ',
        account: '111111111111',
        region: 'eu-west-1',
        cluster: 'checkout-prod',
        expires: '2027-03-01T18:00:00+02:00',
      }),
      NOW,
    );

    // Assert
    expect(suppressionId(s)).toBe('111111111111/eu-west-1/checkout-prod/XT-LOCK-CONTENTION');
    expect(s.expiresAt).toBe('2027-03-01T16:00:00.000Z');
  });

  it.each([
    [{ rule: 'CNI-RESTART' }, /^--rule CNI-RESTART: no such rule; one of KP-IPTABLES-SCALE, .* or \* for every rule$/],
    [{ account: '1111' }, /^--account "1111": expected a 12-digit account id/],
    [{ region: 'Europe' }, /^--region "Europe": expected a region name/],
    [{ cluster: 'bad name' }, /^--cluster "bad name": expected an EKS cluster name/],
    [{ reason: '  ' }, /^--reason is empty/],
    [{ owner: 'a\u001b[31mb' }, /^--owner holds a control character/],
    [{ reason: 'x'.repeat(501) }, /^--reason is 501 characters; at most 500$/],
    [{ expires: '31/01/2027' }, /^--expires "31\/01\/2027": expected a date like 2027-03-31/],
    [{ expires: '2027-02-30' }, /^--expires "2027-02-30": expected a date/],
    [{ expires: '2027-01-31T10:00:00' }, /^--expires "2027-01-31T10:00:00": expected a date/],
    [{ expires: '2026-12-07T11:59:59Z' }, /^--expires 2026-12-07T11:59:59Z is not in the future/],
    [{ expires: '2026-12-06' }, /^--expires 2026-12-06 is not in the future/],
    [{ expires: '2027-12-09' }, /^--expires 2027-12-09 is more than 366 days away/],
  ])('refuses %o in one line saying what is wrong', (over, message) => {
    expect(refusal(over)).toMatch(message);
  });

  it('accepts an expiry 366 days away, through the end of today (UTC), and a wildcard rule', () => {
    expect(suppressionFrom(request({ expires: '2027-12-07T12:00:00Z' }), NOW).expiresAt).toBe(
      '2027-12-07T12:00:00.000Z',
    );
    expect(suppressionFrom(request({ expires: '2026-12-07' }), NOW).expiresAt).toBe('2026-12-08T00:00:00.000Z');
    expect(suppressionFrom(request({ rule: '*' }), NOW).ruleId).toBe('*');
  });
});

describe('which suppression silences a finding', () => {
  const cluster = { account: '111111111111', region: 'eu-west-1', name: 'checkout-prod' };
  const base: Suppression = {
    account: '*',
    region: '*',
    cluster: '*',
    ruleId: 'CNI-RESTARTS',
    reason: 'r',
    owner: 'o',
    expiresAt: '2027-01-01T00:00:00Z',
  };
  const now = '2026-12-07T12:00:00Z';

  it.each([
    ['every account, region and cluster', {}, true],
    ['this account only', { account: '111111111111' }, true],
    ['another account', { account: '222222222222' }, false],
    ['this region of every account', { region: 'eu-west-1' }, true],
    ['another region', { region: 'us-east-1' }, false],
    ['this cluster', { account: '111111111111', region: 'eu-west-1', cluster: 'checkout-prod' }, true],
    ['a cluster of that name elsewhere', { account: '222222222222', cluster: 'checkout-prod' }, false],
    ['every rule', { ruleId: '*' as const }, true],
    ['another rule', { ruleId: 'IPT-SLOW-SYNC' as const }, false],
    ['one that has expired', { expiresAt: '2026-12-07T12:00:00Z' }, false],
  ])('%s', (_what, over, silences) => {
    expect(Boolean(activeSuppression(cluster, 'CNI-RESTARTS', [{ ...base, ...over }], now))).toBe(silences);
  });
});
