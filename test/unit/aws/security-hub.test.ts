import { BatchImportFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { AsffFinding } from '#audit/render/asff.js';
import { IMPORT_BATCH_MAX_FINDINGS, SecurityHubImporter } from '#aws/security-hub.js';

const hub = mockClient(SecurityHubClient);
afterEach(() => hub.reset());

const finding = (i: number, account = '111111111111', region = 'eu-west-1', description = 'd'): AsffFinding =>
  ({
    SchemaVersion: '2018-10-08',
    Id: `fleet-audit/${account}/${region}/c-${i}/XT-LOCK-CONTENTION`,
    ProductArn: `arn:aws:securityhub:${region}:${account}:product/${account}/default`,
    AwsAccountId: account,
    Description: description,
  }) as unknown as AsffFinding;

const importer = () =>
  new SecurityHubImporter({
    account: '111111111111',
    clientFor: (region) => new SecurityHubClient({ region }),
  });

describe('importing ASFF findings into Security Hub', () => {
  it('sends 250 findings of one region as batches of 100, 100 and 50', async () => {
    // Arrange
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({
      SuccessCount: input.Findings.length,
      FailedCount: 0,
      FailedFindings: [],
    }));

    // Act
    const result = await importer().import(Array.from({ length: 250 }, (_, i) => finding(i)));

    // Assert
    const sizes = hub.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings?.length);
    expect(sizes).toEqual([IMPORT_BATCH_MAX_FINDINGS, 100, 50]);
    expect(result).toMatchObject({ imported: 250, failed: [], skipped: [], calls: 3 });
  });

  it('sends each region its own findings, skips other accounts’ and reports failed findings one by one', async () => {
    // Arrange
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: Array<{ Id: string }> }) => ({
      SuccessCount: input.Findings.length - 1,
      FailedCount: 1,
      FailedFindings: [{ Id: input.Findings[0]?.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'Finding is invalid' }],
    }));

    // Act
    const result = await importer().import([
      finding(1, '111111111111', 'eu-west-1'),
      finding(2, '111111111111', 'eu-west-1'),
      finding(3, '111111111111', 'us-east-1'),
      finding(4, '222222222222', 'eu-west-1'),
    ]);

    // Assert
    expect(result.imported).toBe(1);
    expect(result.failed.map((f) => [f.id.split('/')[3], f.code])).toEqual([
      ['c-1', 'InvalidInput'],
      ['c-3', 'InvalidInput'],
    ]);
    expect(result.skipped).toEqual([{ id: expect.stringContaining('c-4'), account: '222222222222' }]);
    expect(result.calls).toBe(2);
  });

  it('cuts a batch before 6 MB and does not send a finding over 240 KB', async () => {
    // Arrange: 40 findings of 200 KB are 8 MB
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({
      SuccessCount: input.Findings.length,
    }));
    const findings = Array.from({ length: 40 }, (_, i) => finding(i, undefined, undefined, 'x'.repeat(200_000)));

    // Act
    const result = await importer().import([...findings, finding(99, undefined, undefined, 'x'.repeat(250_000))]);

    // Assert
    const sizes = hub.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings?.length);
    expect(sizes).toEqual([31, 9]);
    expect(result.failed).toEqual([
      { id: expect.stringContaining('c-99'), code: 'FindingTooLarge', message: expect.any(String) },
    ]);
  });
});
